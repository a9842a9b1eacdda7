// Package emulator is opsdeck's stand-in Veza tenant: a real HTTP server
// (usually on loopback) that speaks the Lifecycle Management activity-log
// API of API-CONTRACT.md §1.1-1.4 (workflow tasks, workflow actions,
// integration jobs) over a deterministic, generated data set. The demo, the
// tests and the benchmarks all talk to it exactly as they would to a tenant.
//
//	run, err := emulator.Start(ctx, "127.0.0.1:0", emulator.Options{Seed: 1, Scale: 100_000})
//	// run.URL, run.Token -> veza.New(run.URL, run.Token, ...)
//	defer run.Close()
//
// # Data
//
// Options.Scale is the number of integration jobs. Tasks run 1-4 actions of
// one of a dozen policies' workflows (Joiner, Mover, Leaver, Rehire,
// Contractor Onboarding, Emergency Termination, ...) for one of a few
// thousand generated people; each action dispatches 0-5 jobs to one of
// thirteen data sources (Active Directory, Okta, Workday, ServiceNow, ...).
// About 85% of tasks complete and about 11% fail at an action, which
// then holds one or more ERRORED jobs whose error texts come from ~25 causes
// of very unequal frequency, each varying with the identity, group, ids or
// numbers involved. The newest tasks are still in flight (RUNNING, PENDING,
// SCHEDULED, INITIAL); a few are BLOCKED by the change limit, ABANDONED or
// SKIPPED. Action and task states always follow from their jobs. Payloads
// are mostly 1-3 KB, about 1% are 20-60 KB, and a few carry emoji, CJK,
// right-to-left text and terminal escape sequences that a client must not
// pass to the terminal.
//
// # Determinism and memory
//
// Nothing per record is stored. New lays out two offset tables (first action
// of each task, first job of each action: about 4 MB for a million jobs) and
// every record is rebuilt on demand from its index and a PRNG seeded with
// (Seed, stream, index). The same Seed, Scale and Now give byte-identical
// responses. Ids are version-4 UUIDs that encrypt (kind, index), so GET by id
// needs no lookup table and foreign or mangled ids are a clean 404. Times
// lie on one event line over the 30 days before Now, so creation order is
// index order; other orders (started_at, completed_at) use a sorted
// permutation built on first use (4 bytes per record).
//
// # Lists
//
// List requests are filtered with store/filter, the same SCIM evaluator the
// local cache uses, minus the cache's local-only fields. Page tokens are
// opaque, URL-safe, carry the position, order and canonical filter, and are
// MAC-checked, so a pass resumes where it stopped (O(N) for a whole pass)
// and a garbage token is a 400. A request examines at most a bounded number
// of records, so a filter that matches little can return a short or empty
// page with has_more=true, as the real API may.
//
// Every path of the emulated API is in the one routing table in server.go.
package emulator
