// Package filter is opsdeck's SCIM filter room: the one place that knows the
// filter language of the Veza Lifecycle Management API (RFC 7644 §3.4.2.2,
// API-CONTRACT.md §1.1) and which fields of tasks, actions and jobs may be
// filtered with which operators (§1.2-1.4).
//
// A filter typed by the user (views) or received by the API emulator
// (sync/emulator) goes through the same three steps:
//
//	Parse     text -> AST (syntax only; errors carry a byte offset for the TUI)
//	Validate  AST + Schema -> fields, operators and literal types checked
//	ToSQL     AST + Schema -> parameterised WHERE fragment for the SQLite cache
//	Predicate AST + Schema -> Go evaluator with the same semantics as ToSQL
//
// The package depends only on the standard library; in particular it must not
// import sync/veza (store never depends on sync), so the enum value lists are
// copied here.
//
// Semantics shared by ToSQL and Predicate:
//
//   - Every comparison is two-valued: an unset attribute (SQL NULL, a missing
//     key, a nil pointer) never matches eq/co/sw/ew/gt/ge/lt/le and always
//     matches ne, so "not (x)" is exactly the complement of "x".
//   - "pr" (present) means set to a non-zero value: not NULL and not "" for
//     strings and enums, not NULL and not 0 for integers, booleans (true) and
//     times (0 = unset). "eq null" is "not pr" and "ne null" is "pr".
//   - Times are compared at millisecond precision; an unset time (0) never
//     matches gt/ge/lt/le/eq.
//   - Fold fields and enums compare case-insensitively for ASCII letters only,
//     in both SQL (COLLATE NOCASE, LIKE) and Go, so the local cache and the
//     emulator always select the same rows.
//   - co/sw/ew on fields without Fold are case-sensitive (SQL GLOB).
package filter
