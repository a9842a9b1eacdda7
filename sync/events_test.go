package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

const exportPath = "/api/preview/events/export"

// evProxy sits in front of an events API: it records the query of every
// export request and can answer one in its place.
type evProxy struct {
	h      http.Handler
	mu     gosync.Mutex
	export []url.Values
	lists  int
	// inject, when set, may answer export request n (0-based) itself.
	inject func(n int) (status int, body string, ok bool)
}

func (p *evProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	n := -1
	switch r.URL.Path {
	case exportPath:
		n = len(p.export)
		p.export = append(p.export, r.URL.Query())
	case "/api/preview/events":
		p.lists++
	}
	inject := p.inject
	p.mu.Unlock()
	if n >= 0 && inject != nil {
		if status, body, ok := inject(n); ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(body))
			return
		}
	}
	p.h.ServeHTTP(w, r)
}

func (p *evProxy) exports() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.export...)
}

func (p *evProxy) reset() {
	p.mu.Lock()
	p.export, p.lists = nil, 0
	p.mu.Unlock()
}

type evEnv struct {
	emu   *emulator.Server
	px    *evProxy
	st    *store.Store
	c     *veza.Client
	eng   *Engine
	slept []time.Duration
}

// newEvEnv syncs the events of an emulated tenant in pages of pageSize,
// with the one-minute wait recorded instead of slept.
func newEvEnv(t testing.TB, opts emulator.Options, pageSize int) *evEnv {
	t.Helper()
	if opts.Token == "" {
		opts.Token = "emu-token-test"
	}
	emu := emulator.New(opts)
	px := &evProxy{h: emu}
	srv := httptest.NewServer(px)
	t.Cleanup(srv.Close)
	c, err := veza.New(srv.URL, opts.Token, veza.Options{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e := &evEnv{emu: emu, px: px, st: openStore(t), c: c}
	e.eng = New(e.st, c, Options{NoHead: true, Sources: []string{"events"}})
	e.eng.ev = eventsTuning{pageSize: pageSize, noHead: true, sleep: func(ctx context.Context, d time.Duration) error {
		e.slept = append(e.slept, d)
		return ctx.Err()
	}}
	return e
}

func (e *evEnv) sync(t testing.TB) Progress {
	t.Helper()
	var rec recorder
	if err := e.eng.SyncSource(bg, "events", rec.fn); err != nil {
		t.Fatal(err)
	}
	return rec.final("events")
}

// want lists the emulator's events now (the list endpoint, retention
// applied), bypassing the proxy's records.
func (e *evEnv) want(t testing.TB) []veza.Record[veza.SystemEvent] {
	t.Helper()
	var out []veza.Record[veza.SystemEvent]
	p := veza.EventParams{PageSize: veza.MaxEventPageSize}
	for {
		page, err := e.c.ListEvents(bg, p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Values...)
		if !page.HasMore {
			return out
		}
		p.PageToken = page.NextPageToken
	}
}

// checkExact asserts the cache holds exactly the emulator's events: same
// ids, each stored object byte-identical to the API's, severity counters
// right.
func (e *evEnv) checkExact(t testing.TB) int {
	t.Helper()
	want := e.want(t)
	n, err := e.st.Count(bg, store.EntityEvents, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("cache has %d events, emulator %d", n, len(want))
	}
	sev := map[string]int{}
	for _, rec := range want {
		sev[rec.Value.Severity]++
		row, err := e.st.Event(bg, rec.Value.ID)
		if err != nil {
			t.Fatalf("event %s: %v", rec.Value.ID, err)
		}
		if string(row.Raw) != string(rec.Raw) || row.Timestamp != rec.Value.Timestamp.UnixMilli() || row.Severity != rec.Value.Severity ||
			row.EventType != rec.Value.EventType || row.EntityName != rec.Value.EntityName {
			t.Fatalf("event %s differs:\n cache %s\n   api %s", rec.Value.ID, row.Raw, rec.Raw)
		}
		if (rec.Value.Error == nil) != (len(row.Error) == 0) || (rec.Value.Error != nil && row.ErrorReason != rec.Value.Error.Reason) {
			t.Fatalf("event %s error %s / %+v", rec.Value.ID, row.Error, rec.Value.Error)
		}
	}
	got, err := e.st.StateCounts(bg, store.EntityEvents)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(sev) {
		t.Fatalf("severity counters %v, want %v", got, sev)
	}
	return len(want)
}

func (e *evEnv) cursor(t testing.TB) eventsCursor {
	t.Helper()
	v, ok, err := e.st.GetCursor(bg, eventsCursorKey)
	if err != nil || !ok {
		t.Fatalf("events cursor: %v %v", ok, err)
	}
	var c eventsCursor
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// oldestValid is the emulator's retention boundary (one month, seed 002).
func oldestValid(now time.Time) time.Time { return now.AddDate(0, -1, 0).Truncate(time.Second) }

// TestEventsFirstSyncExact: a first sync asks for everything, is told the
// retention's oldest valid time, restarts there, follows the export to the
// end and holds exactly the emulator's events; a second sync sends only the
// saved tail token and changes nothing.
func TestEventsFirstSyncExact(t *testing.T) {
	e := newEvEnv(t, emulator.Options{Seed: 7, Scale: 5000}, 50)
	p := e.sync(t)
	n := e.checkExact(t)
	if p.Stats.Inserted != n || p.Err != nil || !p.Done || p.Source != "events" || p.Rows != n {
		t.Fatalf("progress %+v, want %d inserted", p, n)
	}
	reqs := e.px.exports()
	if got := reqs[0].Get("filter"); got != `persisted_at ge "2000-01-01T00:00:00Z"` {
		t.Fatalf("first request filter %q", got)
	}
	want := fmt.Sprintf("persisted_at ge %q", oldestValid(emulator.DefaultNow).Format(time.RFC3339))
	if got := reqs[1].Get("filter"); got != want {
		t.Fatalf("after the retention 400 the filter is %q, want %q", got, want)
	}
	for i, q := range reqs[2:] {
		if q.Has("filter") || q.Get("page_token") == "" {
			t.Fatalf("request %d after the first page: %v (want the token only)", i+2, q)
		}
	}
	if pages, asked := (n+49)/50, len(distinctQueries(reqs)); asked != 1+pages && asked != 2+pages {
		t.Fatalf("%d distinct export requests for %d events in pages of 50", asked, n)
	}
	cur := e.cursor(t)
	if cur.PageToken == "" || cur.Watermark == "" {
		t.Fatalf("cursor %+v", cur)
	}

	e.px.reset()
	p = e.sync(t)
	reqs = e.px.exports()
	if len(distinctQueries(reqs)) != 1 || reqs[0].Get("page_token") != cur.PageToken || reqs[0].Has("filter") {
		t.Fatalf("second sync requests %v, want only the saved token", reqs)
	}
	if p.Stats != (store.WriteStats{}) || p.Pages != 1 {
		t.Fatalf("second sync %+v", p)
	}
	e.checkExact(t)
}

// TestEventsHeadFirst: a first sync stores the newest events (list,
// newest first) before the export starts from the oldest.
func TestEventsHeadFirst(t *testing.T) {
	e := newEvEnv(t, emulator.Options{Seed: 7, Scale: 5000}, 100)
	e.eng.ev.noHead = false
	newest, err := e.c.ListEvents(bg, veza.EventParams{OrderBy: "timestamp desc", PageSize: 1})
	if err != nil || len(newest.Values) != 1 {
		t.Fatal(err)
	}
	var first *Progress
	err = e.eng.SyncSource(bg, "events", func(p Progress) {
		if first == nil {
			first = &p
			if _, err := e.st.Event(bg, newest.Values[0].Value.ID); err != nil {
				t.Errorf("newest event not stored by the first committed page: %v", err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if first == nil || !first.Head || first.Rows != 100 {
		t.Fatalf("first progress %+v", first)
	}
	e.checkExact(t)
	e.px.reset()
	e.sync(t)
	if e.px.lists != 0 {
		t.Fatal("head ran again on a synced cache")
	}
}

// TestEventsIncrementalLive: new events persisted after a sync arrive with
// the next one, from the saved token, nothing fetched twice.
func TestEventsIncrementalLive(t *testing.T) {
	e := newEvEnv(t, emulator.Options{Seed: 3, Scale: 2000, Live: true, LiveRate: 2, Clock: func() time.Time { return emulator.DefaultNow }}, 40)
	e.sync(t)
	before := e.checkExact(t)
	for step := range 3 {
		e.emu.Advance(10 * time.Minute) // one event every 5 s
		e.px.reset()
		tok := e.cursor(t).PageToken
		p := e.sync(t)
		n := e.checkExact(t)
		if n-before < 100 || p.Stats.Inserted != n-before || p.Stats.Unchanged != 0 || p.Stats.Updated != 0 {
			t.Fatalf("step %d: %d new events, sync %+v", step, n-before, p.Stats)
		}
		if reqs := e.px.exports(); reqs[0].Get("page_token") != tok || reqs[0].Has("filter") {
			t.Fatalf("step %d: first request %v, want the saved token %q", step, reqs[0], tok)
		}
		before = n
	}
}

// TestEventsResumeAfterCancel: a sync cancelled after K committed pages
// resumes from the K-th page's token: no event lost, none fetched twice.
func TestEventsResumeAfterCancel(t *testing.T) {
	const size, K = 25, 7
	full := newEvEnv(t, emulator.Options{Seed: 11, Scale: 5000}, size)
	full.sync(t)
	fullReqs := len(distinctQueries(full.px.exports()))

	e := newEvEnv(t, emulator.Options{Seed: 11, Scale: 5000}, size)
	ctx, cancel := context.WithCancel(bg)
	var inserted int
	err := e.eng.SyncSource(ctx, "events", func(p Progress) {
		if p.Pages == K && !p.Done {
			cancel()
		}
		if p.Done {
			inserted = p.Stats.Inserted
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if n, _ := e.st.Count(bg, store.EntityEvents, nil); n != K*size || inserted != K*size {
		t.Fatalf("%d events (%d inserted) committed before the cancel, want %d", n, inserted, K*size)
	}
	tok := e.cursor(t).PageToken
	e.px.reset()
	p := e.sync(t)
	n := e.checkExact(t)
	if p.Stats.Inserted+inserted != n || p.Stats.Unchanged != 0 {
		t.Fatalf("resumed sync %+v after %d: duplicates or gaps (%d events)", p.Stats, inserted, n)
	}
	// The cancelled run's last request may reach the server after the
	// reset above (the client gives up at once, the server still reads
	// it): such a straggler asks for a page after the committed one. The
	// resumed run starts at its first request with the committed token.
	reqs := e.px.exports()
	first := slices.IndexFunc(reqs, func(q url.Values) bool { return q.Get("page_token") == tok })
	if first < 0 || first > 1 {
		t.Fatalf("resume did not start with the committed token %q: %v", tok, reqs)
	}
	reqs = reqs[first:]
	if reqs[0].Has("filter") {
		t.Fatalf("resume started with %v, want the committed token alone", reqs[0])
	}
	// Distinct requests: a transport retry (a pooled connection the
	// cancelled run left dead) asks for the same page again.
	distinct := distinctQueries(reqs)
	if len(distinct) != fullReqs-1-K {
		t.Errorf("resumed sync asked for %d pages; the full sync made %d requests (1 for the retention probe), %d pages were done", len(distinct), fullReqs, K)
	}
}

func distinctQueries(qs []url.Values) map[string]bool {
	m := map[string]bool{}
	for _, q := range qs {
		m[q.Encode()] = true
	}
	return m
}

func exhaustedBody(code string) string {
	return `{"code":"` + code + `","message":"export rate limit exceeded; wait one minute before retrying","request_id":"00112233445566778899aabbccddeeff"}`
}

// TestEventsResourceExhausted: either spelling makes the sync wait one
// minute (injected clock) and ask again with the same token; an export that
// stays exhausted ends the run after three waits, keeping what it stored,
// and the next run resumes.
func TestEventsResourceExhausted(t *testing.T) {
	for _, code := range []string{"ResourceExhaused", "ResourceExhausted"} {
		e := newEvEnv(t, emulator.Options{Seed: 5, Scale: 3000}, 30)
		e.px.inject = func(n int) (int, string, bool) { return 429, exhaustedBody(code), n == 4 }
		e.sync(t)
		e.checkExact(t)
		if len(e.slept) != 1 || e.slept[0] != time.Minute {
			t.Fatalf("%s: slept %v, want one minute", code, e.slept)
		}
		reqs := e.px.exports()
		if reqs[5].Encode() != reqs[4].Encode() {
			t.Fatalf("%s: the retry asked %v, the exhausted request was %v", code, reqs[5], reqs[4])
		}
	}

	e := newEvEnv(t, emulator.Options{Seed: 5, Scale: 3000}, 30)
	e.px.inject = func(n int) (int, string, bool) { return 429, exhaustedBody("ResourceExhaused"), n >= 5 }
	err := e.eng.SyncSource(bg, "events", nil)
	if !veza.IsResourceExhausted(err) || !strings.Contains(err.Error(), "ResourceExhaused") {
		t.Fatalf("err %v", err)
	}
	if len(e.slept) != maxExhaustedWaits {
		t.Fatalf("slept %v", e.slept)
	}
	if n, _ := e.st.Count(bg, store.EntityEvents, nil); n != 4*30 {
		t.Fatalf("%d events kept, want the 4 pages before the exhaustion", n)
	}
	e.px.inject = nil
	e.sync(t)
	e.checkExact(t)
}

// TestEventsRetentionRestart: a start time older than the retention, from a
// window, from an old watermark or from a boundary that moved while we
// asked, restarts from the oldest time the server names.
func TestEventsRetentionRestart(t *testing.T) {
	now := emulator.DefaultNow
	oldest := oldestValid(now)
	t.Run("window", func(t *testing.T) {
		e := newEvEnv(t, emulator.Options{Seed: 9, Scale: 2000}, 100)
		e.eng.now = func() time.Time { return now }
		e.eng.ev.window = 60 * 24 * time.Hour
		e.sync(t)
		e.checkExact(t)
		reqs := e.px.exports()
		if reqs[0].Get("filter") != fmt.Sprintf("persisted_at ge %q", now.Add(-60*24*time.Hour).Format(time.RFC3339)) ||
			reqs[1].Get("filter") != fmt.Sprintf("persisted_at ge %q", oldest.Format(time.RFC3339)) {
			t.Fatalf("requests %v", reqs[:2])
		}
	})
	t.Run("window inside retention", func(t *testing.T) {
		e := newEvEnv(t, emulator.Options{Seed: 9, Scale: 2000}, 100)
		e.eng.now = func() time.Time { return now }
		e.eng.ev.window = 7 * 24 * time.Hour
		p := e.sync(t)
		want := 0
		for _, r := range e.want(t) {
			if !r.Value.Timestamp.Before(now.Add(-7*24*time.Hour - time.Minute)) {
				want++
			}
		}
		if p.Stats.Inserted < want || p.Stats.Inserted > want+2 || want < 10 {
			t.Fatalf("a one-week window stored %d events, about %d are that recent", p.Stats.Inserted, want)
		}
	})
	t.Run("old watermark", func(t *testing.T) {
		e := newEvEnv(t, emulator.Options{Seed: 9, Scale: 2000}, 100)
		c, _ := json.Marshal(eventsCursor{Watermark: now.AddDate(0, -3, 0).Format(time.RFC3339Nano)})
		if _, err := e.st.WriteEvents(bg, nil, &store.Cursor{Source: eventsCursorKey, Value: string(c)}); err != nil {
			t.Fatal(err)
		}
		e.sync(t)
		e.checkExact(t)
		if got := e.px.exports()[1].Get("filter"); got != fmt.Sprintf("persisted_at ge %q", oldest.Format(time.RFC3339)) {
			t.Fatalf("restart filter %q", got)
		}
	})
	t.Run("moving boundary", func(t *testing.T) {
		e := newEvEnv(t, emulator.Options{Seed: 9, Scale: 2000}, 100)
		// Two answers in a row name a newer oldest time than was asked.
		e.px.inject = func(n int) (int, string, bool) {
			ts := oldest.Add(time.Duration(n) * time.Second).Format(time.RFC3339)
			return 400, `{"code":"InvalidArgument","message":"invalid filter.start_time","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"filter.start_time","description":"Must be after or equal to ` + ts + `"}]}]}`, n < 3
		}
		e.sync(t)
		e.checkExact(t)
		if got := e.px.exports()[3].Get("filter"); got != fmt.Sprintf("persisted_at ge %q", oldest.Add(2*time.Second).Format(time.RFC3339)) {
			t.Fatalf("after three refusals the filter is %q", got)
		}
		// A server that never accepts: the run fails, it does not loop.
		e2 := newEvEnv(t, emulator.Options{Seed: 9, Scale: 2000}, 100)
		e2.px.inject = func(n int) (int, string, bool) {
			return 400, `{"code":"InvalidArgument","message":"filter.start_time must be after 2025-12-05T09:30:00Z"}`, true
		}
		err := e2.eng.SyncSource(bg, "events", nil)
		if _, ok := veza.AsRetention(err); !ok || len(e2.px.exports()) != maxRetentionRestarts+1 {
			t.Fatalf("err %v after %d requests", err, len(e2.px.exports()))
		}
	})
}

// TestEventsStaleToken: a saved token the server refuses restarts the pass
// a little before the newest stored event; the overlap is absorbed by the
// upsert and the new events arrive.
func TestEventsStaleToken(t *testing.T) {
	e := newEvEnv(t, emulator.Options{Seed: 3, Scale: 2000, Live: true, LiveRate: 2, Clock: func() time.Time { return emulator.DefaultNow }}, 50)
	e.sync(t)
	before := e.checkExact(t)
	cur := e.cursor(t)
	cur.PageToken = "bm90LWEtdG9rZW4="
	c, _ := json.Marshal(cur)
	if _, err := e.st.WriteEvents(bg, nil, &store.Cursor{Source: eventsCursorKey, Value: string(c)}); err != nil {
		t.Fatal(err)
	}
	e.emu.Advance(5 * time.Minute)
	e.px.reset()
	p := e.sync(t)
	n := e.checkExact(t)
	wm, _ := parseTime(cur.Watermark)
	reqs := e.px.exports()
	if want := fmt.Sprintf("persisted_at ge %q", fmtTime(wm.Add(-eventsRestartOverlap))); reqs[1].Get("filter") != want {
		t.Fatalf("restart request %v, want filter %s", reqs[1], want)
	}
	if p.Stats.Inserted != n-before || p.Stats.Unchanged == 0 {
		t.Fatalf("restart %+v, %d new events", p.Stats, n-before)
	}
}

// TestEventsFaults syncs through the emulator's fault injection, its
// ResourceExhaused included: the store still mirrors the emulator exactly.
func TestEventsFaults(t *testing.T) {
	e := newEvEnv(t, emulator.Options{Seed: 13, Scale: 10000}, 10)
	if err := e.emu.SetFaults("500=0.04,503=0.04,html=0.04,reset=0.04,truncated=0.04,emptypage=0.08,dup=0.08,exhausted=0.06"); err != nil {
		t.Fatal(err)
	}
	p := e.sync(t)
	injected := e.emu.FaultCounts()
	if err := e.emu.SetFaults(""); err != nil {
		t.Fatal(err)
	}
	n := e.checkExact(t)
	t.Logf("faults injected: %v; %d events, %+v", injected, n, p.Stats)
	for _, k := range []string{"500", "503", "html", "reset", "truncated", "emptypage", "dup", "exhausted"} {
		if injected[k] == 0 {
			t.Errorf("no %s fault was injected: the test proves less than it claims", k)
		}
	}
	if len(e.slept) != injected["exhausted"] {
		t.Errorf("waited %d times for %d exhausted answers", len(e.slept), injected["exhausted"])
	}
	if p.Stats.Inserted != n || p.Stats.Unchanged == 0 {
		t.Errorf("stats %+v: every event inserted once, the dup fault's repeats unchanged", p.Stats)
	}
}

// TestEventsBadJSON: a page that does not decode is not committed; the run
// fails and the next one completes from the last good token.
func TestEventsBadJSON(t *testing.T) {
	e := newEvEnv(t, emulator.Options{Seed: 13, Scale: 3000}, 20)
	if err := e.emu.SetFaults("badjson=0.2"); err != nil {
		t.Fatal(err)
	}
	err := e.eng.SyncSource(bg, "events", nil)
	if err == nil || !strings.Contains(err.Error(), "decode export_events") {
		t.Fatalf("err %v", err)
	}
	if err := e.emu.SetFaults(""); err != nil {
		t.Fatal(err)
	}
	e.sync(t)
	e.checkExact(t)
}

// TestEventsSeed002Verbatim feeds seed 002's example export response, byte
// for byte, through client and sync into the cache and checks every field.
func TestEventsSeed002Verbatim(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("veza", "testdata", "seed002_export.json"))
	if err != nil {
		t.Fatal(err)
	}
	var seed struct {
		Events        []json.RawMessage `json:"events"`
		NextPageToken string            `json:"next_page_token"`
	}
	if err := json.Unmarshal(body, &seed); err != nil {
		t.Fatal(err)
	}
	var mu gosync.Mutex
	var queries []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.Query())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != exportPath {
			w.WriteHeader(404)
			return
		}
		if r.URL.Query().Get("page_token") == "" {
			w.Write(body)
			return
		}
		fmt.Fprintf(w, `{"events":[],"next_page_token":%q}`, seed.NextPageToken)
	}))
	defer srv.Close()
	c, err := veza.New(srv.URL, "seed-token", veza.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	eng := New(st, c, Options{Sources: []string{"events"}})
	eng.ev.noHead = true
	if err := eng.Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	a, err := st.Event(bg, "e1560da1-bb88-4ef0-8d7f-e220fa2b33ca")
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Event(bg, "ee79c82d-4574-42d9-840a-7fa5c32e8c37")
	if err != nil {
		t.Fatal(err)
	}
	ts := func(s string) int64 { t, _ := time.Parse(time.RFC3339Nano, s); return t.UnixMilli() }
	for _, c := range []struct {
		got  store.EventRow
		want store.EventRow
		raw  json.RawMessage
	}{
		{a, store.EventRow{ID: "e1560da1-bb88-4ef0-8d7f-e220fa2b33ca", Timestamp: ts("2023-09-21T12:41:27.111852371Z"),
			Category: "INTEGRATIONS", Severity: "WARNING", Name: "OAA push", Message: `OAA data source pushed "VEZAFILESERVER"`,
			Entity: "DATASOURCE", EntityID: "b408b41f-a73b-4a73-90dc-013111d3b2d2", EntityName: "VEZAFILESERVER",
			EventType: "OAA push", ProviderID: "cbb69418-e9de-422a-945c-7e62ba3ae1ac",
			ErrorReason: "OAA_PUSH_WARNINGS", ErrorMessage: "OAA push had warnings."}, seed.Events[0]},
		{b, store.EventRow{ID: "ee79c82d-4574-42d9-840a-7fa5c32e8c37", Timestamp: ts("2023-09-21T12:42:16.300711343Z"),
			Category: "INTEGRATIONS", Severity: "INFO", Name: "Data Source extracted", Message: `"VEZAFILESERVER" Data Source extracted (0s)`,
			Entity: "DATASOURCE", EntityID: "b408b41f-a73b-4a73-90dc-013111d3b2d2", EntityName: "VEZAFILESERVER",
			EventType: "Data Source extracted", ProviderID: "cbb69418-e9de-422a-945c-7e62ba3ae1ac"}, seed.Events[1]},
	} {
		g := c.got
		if string(g.Raw) != string(c.raw) {
			t.Errorf("raw differs from the seed:\n%s\n%s", g.Raw, c.raw)
		}
		g.RowID, g.SyncedAt, g.Raw, g.Error, g.Metadata = 0, 0, nil, nil, nil
		if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", c.want) {
			t.Errorf("event\n got %+v\nwant %+v", g, c.want)
		}
	}
	var errObj veza.EventError
	if err := json.Unmarshal(a.Error, &errObj); err != nil {
		t.Fatal(err)
	}
	if errObj.Reason != "OAA_PUSH_WARNINGS" || errObj.Resolution != "Address the warnings and push the datasource again." ||
		errObj.Message != "OAA push had warnings." || errObj.RequestID != "be920721634911577b8223f36f06ff1e" || len(errObj.Metadata) != 4 {
		t.Errorf("error object %s", a.Error)
	}
	var meta map[string]string
	if err := json.Unmarshal(a.Metadata, &meta); err != nil || meta["2"] != "Empty permissions field" ||
		meta["0"] != "Cannot find identity by names (values: CN=Domain Admins,CN=Users,DC=evergreentrucks,DC=local)" || len(meta) != 4 {
		t.Errorf("metadata %s %v", a.Metadata, err)
	}
	if len(b.Error) != 0 || len(b.Metadata) != 0 {
		t.Errorf("null error stored as %q %q", b.Error, b.Metadata)
	}
	v, _, _ := st.GetCursor(bg, eventsCursorKey)
	var cur eventsCursor
	json.Unmarshal([]byte(v), &cur)
	if cur.PageToken != seed.NextPageToken || cur.Watermark != "2023-09-21T12:42:16.300711343Z" {
		t.Errorf("cursor %+v", cur)
	}
	// The next sync tails from the seed's token alone.
	if err := eng.Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	last := queries[len(queries)-1]
	if len(last) != 1 || last.Get("page_token") != seed.NextPageToken {
		t.Errorf("tail request %v", last)
	}
}

// BenchmarkEventsExportTail measures a first sync of system events from the
// emulator (real loopback HTTP, pages of 10,000: the export's maximum) into
// a fresh cache, in rows/s. The emulator runs in-process and shares the CPU.
//
//	go test -run '^$' -bench BenchmarkEventsExportTail -benchtime 3x ./sync/
func BenchmarkEventsExportTail(b *testing.B) {
	emu, err := emulator.Start(context.Background(), "127.0.0.1:0", emulator.Options{Seed: 1, Scale: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	c, err := veza.New(emu.URL, emu.Token, veza.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	var rows int
	cpu0 := cpuTime()
	for b.Loop() {
		b.StopTimer()
		st, err := store.Open(filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		eng := New(st, c, Options{Sources: []string{"events"}})
		eng.ev = eventsTuning{pageSize: veza.MaxEventPageSize, noHead: true}
		b.StartTimer()
		start := time.Now()
		var n int
		err = eng.SyncSource(context.Background(), "events", func(p Progress) { n = p.Rows })
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		rows += n
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)/total.Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
}
