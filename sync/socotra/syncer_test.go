package socotra_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/socotra"
	"github.com/opsdeck/opsdeck/sync/socotra/wire"
)

var bg = context.Background()

// checkEvents asserts the cache holds exactly the upstream events, field
// for field, data map included.
func checkEvents(t *testing.T, tn *tenant, st *store.Store) {
	t.Helper()
	want := tn.upstream()
	got := cached(t, st)
	if len(got) != len(want) {
		t.Fatalf("cache holds %d events, upstream %d", len(got), len(want))
	}
	byLoc := map[string]wire.Event{}
	for _, e := range want {
		byLoc[e.Locator] = e
	}
	for _, r := range got {
		e, ok := byLoc[r.Locator]
		if !ok {
			t.Fatalf("cached event %s is not upstream", r.Locator)
		}
		delete(byLoc, r.Locator)
		if r.Timestamp != e.Timestamp.UnixMilli() || r.Type != e.Type || r.User != e.UserLocator || r.RequestID != e.RequestID ||
			r.TypePrefix != store.SocotraTypePrefix(e.Type) {
			t.Fatalf("event %s: cached %+v, upstream %+v", r.Locator, r, e)
		}
	}
	// Spot-check the payload columns of a sample.
	for i := 0; i < len(want); i += max(len(want)/17, 1) {
		e := want[i]
		r, err := st.SocotraEvent(bg, e.Locator)
		if err != nil {
			t.Fatal(err)
		}
		var data map[string]any
		if err := json.Unmarshal(r.Data, &data); err != nil {
			t.Fatalf("event %s data: %v", e.Locator, err)
		}
		a, _ := json.Marshal(data)
		b, _ := json.Marshal(e.Data)
		if !bytes.Equal(a, b) {
			t.Fatalf("event %s data %s, upstream %s", e.Locator, a, b)
		}
		var raw wire.Event
		if json.Unmarshal(r.Raw, &raw) != nil || raw.Locator != e.Locator {
			t.Fatalf("event %s raw %s", e.Locator, r.Raw)
		}
	}
}

// checkFailed asserts the cached failed list is exactly the emulator's.
func checkFailed(t *testing.T, tn *tenant, st *store.Store) {
	t.Helper()
	all, err := tn.goodClient().AllFailedJobs(bg, socotra.FailedList{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.SocotraFailed(bg, store.Query{}, nil, false, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(all) {
		t.Fatalf("cache holds %d failed jobs, upstream %d", len(rows), len(all))
	}
	counts := map[string]int{}
	for _, r := range all {
		d := r.Value
		got, err := st.SocotraFailedJob(bg, d.TriggerGroup, d.TriggerName)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != d.FailedJobState || got.FailureCount != int64(d.FailureCount) || got.CreatedAt != d.CreatedAt.UnixMilli() ||
			got.UpdatedAt != d.UpdatedAt.UnixMilli() || got.PolicyLocator != strings.TrimPrefix(d.TriggerGroup, "policy:") && got.PolicyLocator != "" {
			t.Fatalf("failed job %s/%s: cached %+v, upstream %+v", d.TriggerGroup, d.TriggerName, got, d)
		}
		counts[d.FailedJobState]++
	}
	sc, _ := st.StateCounts(bg, store.EntitySocotraFailed)
	if sc["queued"] != counts["queued"] || sc["quit"] != counts["quit"] || counts["queued"] == 0 || counts["quit"] == 0 {
		t.Fatalf("state counts %v, upstream %v", sc, counts)
	}
}

func TestSyncExactContents(t *testing.T) {
	tn := newTenant(t, emulator.Options{Seed: 3, Scale: 2400})
	st, _ := openStore(t)
	var seen []opsync.Progress
	s := socotra.NewSyncer(st, tn.goodClient(), socotra.Options{PageSize: 70})
	if err := s.Run(bg, func(p opsync.Progress) { seen = append(seen, p) }); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, tn, st)
	checkFailed(t, tn, st)
	var done []string
	for _, p := range seen {
		if p.Done {
			done = append(done, p.Source)
			if p.Err != nil {
				t.Fatalf("%s: %v", p.Source, p.Err)
			}
		}
	}
	if !slices.Equal(done, []string{socotra.SourceEvents, socotra.SourceFailed}) {
		t.Fatalf("done reports %v", done)
	}
	if v, ok, _ := st.GetMeta(bg, store.MetaLastSync); !ok || v == "" {
		t.Fatal("last_sync not recorded")
	}
	// A second run finds nothing new and writes nothing.
	before := tn.requests()
	var last opsync.Progress
	if err := s.Run(bg, func(p opsync.Progress) {
		if p.Source == socotra.SourceEvents && p.Done {
			last = p
		}
	}); err != nil {
		t.Fatal(err)
	}
	if last.Rows != 0 || last.Stats.Inserted != 0 || last.Pages != 2 {
		t.Fatalf("re-sync of a caught-up tail: %+v", last)
	}
	if n := tn.requests() - before; n > 6 {
		t.Fatalf("a caught-up sync took %d requests", n)
	}
}

func TestSyncIncrementalTail(t *testing.T) {
	tn := newTenant(t, emulator.Options{Seed: 4, Scale: 1200, Live: true, LiveRate: 4, LiveHorizon: time.Hour,
		Clock: func() time.Time { return emulator.DefaultNow }})
	st, _ := openStore(t)
	s := socotra.NewSyncer(st, tn.goodClient(), socotra.Options{Sources: []string{socotra.SourceEvents}})
	if err := s.Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	first, _ := st.Count(bg, store.EntitySocotraEvents, nil)
	tok1, _, _ := st.GetCursor(bg, socotra.CursorEvents)
	if first == 0 || tok1 == "" {
		t.Fatalf("%d events, token %q", first, tok1)
	}
	tn.emu.Advance(45 * time.Second) // 2 events a second
	var p opsync.Progress
	if err := s.Run(bg, func(x opsync.Progress) { p = x }); err != nil {
		t.Fatal(err)
	}
	second, _ := st.Count(bg, store.EntitySocotraEvents, nil)
	if second-first < 80 || second-first > 95 || p.Stats.Inserted != second-first || p.Stats.Unchanged != 0 {
		t.Fatalf("tail: %d -> %d events, progress %+v", first, second, p)
	}
	checkEvents(t, tn, st)
	// Only the failed source was not run: its cursor is absent.
	if _, ok, _ := st.GetCursor(bg, socotra.CursorFailed); ok {
		t.Fatal("Options.Sources did not limit the run")
	}
}

func TestTokenOnlyPagingRule(t *testing.T) {
	tn := newTenant(t, emulator.Options{Seed: 5, Scale: 800})
	c := tn.goodClient()
	page, err := c.ListEvents(bg, socotra.EventsQuery{Start: time.Unix(0, 0), PageSize: 10})
	if err != nil || len(page.Events) != 10 || page.PagingToken == "" {
		t.Fatalf("%d events, %v", len(page.Events), err)
	}
	n := tn.requests()
	for _, q := range []socotra.EventsQuery{
		{PagingToken: page.PagingToken, PageSize: 10},
		{PagingToken: page.PagingToken, Type: "policy.quote.issue"},
		{PagingToken: page.PagingToken, Start: time.Unix(0, 0)},
		{PagingToken: page.PagingToken, End: time.Now()},
	} {
		if _, err := c.ListEvents(bg, q); !errors.Is(err, socotra.ErrTokenWithParams) {
			t.Fatalf("%+v: %v", q, err)
		}
	}
	if tn.requests() != n {
		t.Fatal("a forbidden combination reached the server")
	}
	// The emulator enforces the rule too, with a 400 the client reports.
	if code := tn.raw("/event/" + tn.emu.SocotraTenant() + "/events/list?pageSize=5&pagingToken=" + page.PagingToken); code != 400 {
		t.Fatalf("emulator answered %d to token+pageSize", code)
	}
	// Continuing with the token alone carries on where the page ended.
	next, err := c.ListEvents(bg, socotra.EventsQuery{PagingToken: page.PagingToken})
	if err != nil || len(next.Events) == 0 || next.Events[0].Locator == page.Events[9].Locator {
		t.Fatalf("next page: %v", err)
	}
}

func TestResumeAfterCancel(t *testing.T) {
	tn := newTenant(t, emulator.Options{Seed: 6, Scale: 2400})
	st, _ := openStore(t)
	c := tn.goodClient()
	total := 0
	for round := 0; round < 10; round++ {
		ctx, cancel := context.WithCancel(bg)
		pages := 0
		var stats store.WriteStats
		err := socotra.NewSyncer(st, c, socotra.Options{PageSize: 40, Sources: []string{socotra.SourceEvents}}).Run(ctx, func(p opsync.Progress) {
			if p.Done {
				return
			}
			stats = p.Stats
			if pages++; pages == 3 {
				cancel() // mid-stream, right after a commit
			}
		})
		cancel()
		total += stats.Inserted
		if stats.Unchanged != 0 || stats.Updated != 0 {
			t.Fatalf("round %d re-fetched committed events: %+v", round, stats)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	checkEvents(t, tn, st)
	if n, _ := st.Count(bg, store.EntitySocotraEvents, nil); total != n {
		t.Fatalf("inserted %d over the rounds, cache holds %d", total, n)
	}
}

func TestWrongTenantIsClear(t *testing.T) {
	tn := newTenant(t, emulator.Options{Seed: 7, Scale: 800})
	st, _ := openStore(t)
	err := socotra.NewSyncer(st, tn.client("00000000-0000-4000-8000-000000000000", emulator.DefaultToken), socotra.Options{}).Run(bg, nil)
	if !errors.Is(err, socotra.ErrTenantNotFound) || !strings.Contains(err.Error(), `tenant "00000000-0000-4000-8000-000000000000" not found; check the profile's tenant locator`) {
		t.Fatalf("%v", err)
	}
	if !strings.Contains(err.Error(), socotra.SourceEvents) || !strings.Contains(err.Error(), socotra.SourceFailed) {
		t.Fatalf("one source's failure stopped the other: %v", err)
	}
	if tn.requests() != 2 {
		t.Fatalf("%d requests for a wrong tenant; a 404 is not retried", tn.requests())
	}
}

func TestUnauthorizedFailsAtOnce(t *testing.T) {
	const bad = "wrong-token-ABCDEFGH"
	tn := newTenant(t, emulator.Options{Seed: 8, Scale: 800})
	st, path := openStore(t)
	var logs bytes.Buffer
	c, err := socotra.New(tn.url, tn.emu.SocotraTenant(), bad, socotra.ClientOptions{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sleep: func(context.Context, time.Duration) error {
			t.Error("a 401 was retried")
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	err = socotra.NewSyncer(st, c, socotra.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}).Run(bg, nil)
	if !errors.Is(err, socotra.ErrAuth) || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "check the profile's token") {
		t.Fatalf("%v", err)
	}
	if tn.requests() != 2 {
		t.Fatalf("%d requests: one per source, no retries", tn.requests())
	}
	st.Close()
	db, _ := os.ReadFile(path)
	if strings.Contains(err.Error(), bad) || strings.Contains(logs.String(), bad) || bytes.Contains(db, []byte(bad)) {
		t.Fatal("the token leaked into an error, a log line or the cache")
	}
}

func TestSyncThroughFaults(t *testing.T) {
	faults, err := emulator.ParseFaults("429=0.04,500=0.04,503=0.04,reset=0.03,truncated=0.04,emptypage=0.04,dup=0.1,badjson=0.03,html=0.03")
	if err != nil {
		t.Fatal(err)
	}
	tn := newTenant(t, emulator.Options{Seed: 9, Scale: 6000, Faults: faults})
	st, path := openStore(t)
	// Syncs run periodically; under faults one may fail, or stop early at a
	// run of empty pages, and the next carries on from its cursor. Stop
	// once a run succeeds and finds nothing new.
	for round := 0; ; round++ {
		inserted := -1
		err := socotra.NewSyncer(st, tn.goodClient(), socotra.Options{PageSize: 40}).Run(bg, func(p opsync.Progress) {
			if p.Source == socotra.SourceEvents && p.Done {
				inserted = p.Stats.Inserted
			}
		})
		if err == nil && inserted == 0 {
			break
		}
		if round == 8 {
			t.Fatalf("still failing or finding events after %d runs: %v", round+1, err)
		}
	}
	fc := tn.emu.FaultCounts()
	if fc["dup"] == 0 || fc["truncated"]+fc["reset"]+fc["500"] == 0 {
		t.Fatalf("faults injected: %v", fc)
	}
	checkEvents(t, tn, st)
	checkFailed(t, tn, st)
	st.Close()
	db, _ := os.ReadFile(path)
	if bytes.Contains(db, []byte(emulator.DefaultToken)) {
		t.Fatal("the token is in the cache file")
	}
}

func TestFailedSnapshotFollowsUpstream(t *testing.T) {
	tn := newTenant(t, emulator.Options{Seed: 10, Scale: 2000})
	st, _ := openStore(t)
	c := tn.goodClient()
	s := socotra.NewSyncer(st, c, socotra.Options{Sources: []string{socotra.SourceFailed}})
	if err := s.Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	rows, _ := st.SocotraFailed(bg, store.Query{}, nil, false, 3)
	// Resumed through opsdeck: gone upstream and from the cache at once.
	out, err := socotra.ResumeFailed(bg, st, c, rows[0].TriggerGroup, rows[0].TriggerName)
	if err != nil || out != socotra.Done {
		t.Fatalf("resume: %q %v", out, err)
	}
	if _, err := st.SocotraFailedJob(bg, rows[0].TriggerGroup, rows[0].TriggerName); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("resumed job still cached: %v", err)
	}
	// Deleted by someone else: the next snapshot drops it.
	if err := c.DeleteFailed(bg, wire.FailedJobRequest{TriggerName: rows[1].TriggerName, TriggerGroup: rows[1].TriggerGroup}); err != nil {
		t.Fatal(err)
	}
	// Deleting it again through opsdeck: already gone, and the cache follows.
	out, err = socotra.DeleteFailed(bg, st, c, rows[1].TriggerGroup, rows[1].TriggerName)
	if err != nil || out != socotra.Already {
		t.Fatalf("delete of a gone job: %q %v", out, err)
	}
	if err := c.DeleteFailed(bg, wire.FailedJobRequest{TriggerName: rows[2].TriggerName, TriggerGroup: rows[2].TriggerGroup}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	checkFailed(t, tn, st)
	if _, err := st.SocotraFailedJob(bg, rows[2].TriggerGroup, rows[2].TriggerName); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a job deleted upstream survived the snapshot: %v", err)
	}
}

func TestRequestEventsAndSchedules(t *testing.T) {
	tn := newTenant(t, emulator.Options{Seed: 11, Scale: 800})
	st, _ := openStore(t)
	c := tn.goodClient()
	page, err := c.ListEvents(bg, socotra.EventsQuery{Start: time.Unix(0, 0), PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	// The request with the most events on the page.
	byReq := map[string][]string{}
	for _, e := range page.Events[:40] {
		byReq[e.RequestID] = append(byReq[e.RequestID], e.Locator)
	}
	var req string
	for r, locs := range byReq {
		if len(locs) > len(byReq[req]) {
			req = r
		}
	}
	n, err := socotra.CacheRequestEvents(bg, st, c, req)
	if err != nil || n != len(byReq[req]) {
		t.Fatalf("request %s: %d events, %v; the page shows %v", req, n, err, byReq[req])
	}
	cnt, _ := st.Count(bg, store.EntitySocotraEvents, nil)
	if cnt != n {
		t.Fatalf("cached %d", cnt)
	}
	ev, err := c.GetEvent(bg, byReq[req][0])
	if err != nil || ev.RequestID != req || len(ev.DataJSON) == 0 {
		t.Fatalf("get event: %+v %v", ev, err)
	}
	if _, err := c.GetEvent(bg, "NOPE"); !errors.Is(err, socotra.ErrNotFound) || errors.Is(err, socotra.ErrTenantNotFound) {
		t.Fatalf("missing event: %v", err)
	}

	// Scheduled events of the policies on the page, until one has some.
	for _, e := range page.Events {
		var d map[string]any
		json.Unmarshal(e.DataJSON, &d)
		pol, _ := d["policyLocator"].(string)
		n, err := socotra.CachePolicySchedules(bg, st, c, pol)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			continue
		}
		recs, _ := c.PolicySchedules(bg, pol)
		rows, _ := st.SocotraScheduled(bg, store.Query{}, nil, false, 100)
		if len(rows) != len(recs) {
			t.Fatalf("%d cached, %d upstream", len(rows), len(recs))
		}
		for _, r := range rows {
			if r.PolicyLocator != pol || !slices.Contains(wire.TriggerStates, r.TriggerState) {
				t.Fatalf("scheduled row %+v", r)
			}
		}
		return
	}
	t.Fatal("no policy on the page has scheduled events")
}
