// Package emulator is opsdeck's stand-in for its sources: a real HTTP
// server (usually on loopback) that speaks, over deterministic generated
// data, the Veza Lifecycle Management activity log (API-CONTRACT.md
// §1.1-1.4: workflow tasks, workflow actions, integration jobs), Veza system
// events (§1.6), Veza access-review Automations (§1.7) and the Socotra
// events API (§2, under /event/{tenant}/events). The demo, the tests and the
// benchmarks all talk to it exactly as they would to the real services.
//
//	run, err := emulator.Start(ctx, "127.0.0.1:0", emulator.Options{Seed: 1, Scale: 100_000})
//	// run.URL, run.Token -> veza.New(run.URL, run.Token, ...)
//	// run.URL, run.Token, run.SocotraTenant -> the Socotra client
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
// # System events, Automations, Socotra
//
// About Scale/10 system events cover the same 30 days, drawn from every
// event type of seed 002 with its messages, severities and error objects;
// seed 002's two example events are among them. The export's token is a
// tail cursor, and start times older than the one-month retention are
// refused as seed 002 shows. Automations are the one mutable store: seed
// 003's two examples and a score of others, attached to six review
// workflows (ReviewWorkflows), with seed 003's validation on every write.
// About Scale/4 Socotra events come in stream order, grouped into API
// requests, a few carrying timestamps earlier than the events before them;
// failed scheduled jobs can be resumed or deleted.
//
// # Live mode
//
// With Options.Live the data set grows after Now: LiveRate jobs a second
// (with their tasks and actions), a system event every 10/LiveRate s and a
// Socotra event every 2/LiveRate s. New jobs start RUNNING and settle
// seconds to minutes later; their task's t_updated_at follows. Time is
// Server.Now: Options.Clock, moved on by Server.Advance, so tests need not
// sleep. Records are still rebuilt from their index, now also as of a time.
//
// # Faults
//
// Options.Faults (ParseFaults, Server.SetFaults) makes GET requests fail
// now and then, reproducibly: 429/500/503 envelopes, an HTML 502 from a
// proxy, dropped connections, slow or truncated answers, empty pages with
// has_more, pages that repeat the end of the previous page, envelopes with
// wrong types, and the export's "ResourceExhaused". Server.FaultCounts
// says what was injected.
//
// Every path of the emulated APIs is in the one routing table in server.go;
// the wire types the clients do not have yet are in wire_*.go.
package emulator
