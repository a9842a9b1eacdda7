package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/veza"
)

var bg = context.Background()

type env struct {
	f   *fakeVeza
	srv *httptest.Server
	st  *store.Store
	c   *veza.Client
}

func newEnv(t *testing.T, f *fakeVeza) *env {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	st := openStore(t)
	c, err := veza.New(srv.URL, "fake-token", veza.Options{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		HTTPClient: &http.Client{Transport: f.run.transport()}})
	if err != nil {
		t.Fatal(err)
	}
	return &env{f: f, srv: srv, st: st, c: c}
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "opsdeck.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func (e *env) engine(opts Options) *Engine {
	if opts.PageSize == 0 {
		opts.PageSize = 50
	}
	if opts.Sources == nil {
		opts.Sources = []string{"jobs", "actions", "tasks"} // the fake serves the LCM lists only
	}
	return New(e.st, e.c, opts)
}

// recorder collects progress reports.
type recorder struct{ ps []Progress }

func (r *recorder) fn(p Progress) { r.ps = append(r.ps, p) }

// head is the last progress of the first sync's head pass of src.
func (r *recorder) head(src string) Progress {
	for i := len(r.ps) - 1; i >= 0; i-- {
		if r.ps[i].Source == src && r.ps[i].Head {
			return r.ps[i]
		}
	}
	return Progress{}
}

func (r *recorder) final(src string) Progress {
	for i := len(r.ps) - 1; i >= 0; i-- {
		if r.ps[i].Source == src && r.ps[i].Done {
			return r.ps[i]
		}
	}
	return Progress{}
}

// checkMirror asserts the store holds exactly the fake's rows: same counts
// per entity and per state.
func (e *env) checkMirror(t *testing.T) {
	t.Helper()
	e.f.mu.Lock()
	defer e.f.mu.Unlock()
	for _, ent := range []string{"jobs", "actions", "tasks"} {
		want := map[string]int{}
		for _, r := range e.f.rows[ent] {
			want[r.obj["state"].(string)]++
		}
		got, err := e.st.StateCounts(bg, ent)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s state counts: got %v, want %v", ent, got, want)
		}
		n, err := e.st.Count(bg, ent, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(e.f.rows[ent]) {
			t.Errorf("%s: %d rows stored, want %d", ent, n, len(e.f.rows[ent]))
		}
	}
}

func (e *env) cursor(t *testing.T, src string) cursor {
	t.Helper()
	v, ok, err := e.st.GetCursor(bg, "veza/"+src)
	if err != nil || !ok {
		t.Fatalf("cursor %s: %v %v", src, ok, err)
	}
	var c cursor
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRunMirrorsServerAndIsIdempotent(t *testing.T) {
	e := newEnv(t, newFake(1000))
	eng := e.engine(Options{NoHead: true})
	var rec recorder
	if err := eng.Run(bg, rec.fn); err != nil {
		t.Fatal(err)
	}
	e.checkMirror(t)
	for src, want := range map[string]int{"jobs": 1000, "actions": 333, "tasks": 100} {
		p := rec.final(src)
		if !p.Done || p.Err != nil || p.Rows != want || p.Stats.Inserted != want || p.Total != -1 {
			t.Errorf("%s final progress %+v", src, p)
		}
		if c := e.cursor(t, src); c.PageToken != "" || c.Watermark == "" {
			t.Errorf("%s cursor after a complete pass: %+v", src, c)
		}
	}
	if n := len(e.f.requests("jobs")); n != 20 {
		t.Errorf("jobs: %d requests for 1000 rows at 50 a page", n)
	}
	// Jobs are listed with details and in ascending creation order.
	q := e.f.requests("jobs")[0].URL.Query()
	if q.Get("details") != "true" || q.Get("order_by") != "created_at asc" || q.Get("page_size") != "50" || q.Get("filter") != "" {
		t.Errorf("first jobs request: %v", q)
	}
	if q := e.f.requests("actions")[0].URL.Query(); q.Get("details") != "" || q.Get("order_by") != "started_at asc" {
		t.Errorf("first actions request: %v", q)
	}

	// Second run: nothing new, nothing inserted.
	e.f.resetRequests()
	rec = recorder{}
	if err := eng.Run(bg, rec.fn); err != nil {
		t.Fatal(err)
	}
	e.checkMirror(t)
	for _, src := range []string{"jobs", "actions", "tasks"} {
		p := rec.final(src)
		if p.Stats.Inserted != 0 || p.Stats.Updated != 0 || p.Stats.Unchanged == 0 {
			t.Errorf("%s second run: %+v", src, p.Stats)
		}
		if f := e.f.requests(src)[0].URL.Query().Get("filter"); !strings.Contains(f, " ge ") {
			t.Errorf("%s second run did not start from a watermark: filter %q", src, f)
		}
	}
	// Meta is recorded, without the token.
	for k, want := range map[string]string{store.MetaSourceURL: e.srv.URL} {
		if v, _, _ := e.st.GetMeta(bg, k); v != want {
			t.Errorf("meta %s = %q, want %q", k, v, want)
		}
	}
	if v, ok, _ := e.st.GetMeta(bg, store.MetaLastSync); !ok {
		t.Error("no last_sync")
	} else if _, err := time.Parse(time.RFC3339, v); err != nil {
		t.Errorf("last_sync %q: %v", v, err)
	}
}

func TestIncrementalRunFetchesOnlyNewRows(t *testing.T) {
	e := newEnv(t, newFake(1000))
	// No refresh of open rows, no overlap: the pure watermark.
	eng := e.engine(Options{NoHead: true, ReopenWindow: -1, Overlap: -1})
	if err := eng.Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	e.f.mu.Lock()
	for i := 1000; i < 1030; i++ {
		e.f.addJob(i, fakeBase.Add(time.Duration(i/3)*time.Second), "COMPLETED")
	}
	e.f.mu.Unlock()
	e.f.resetRequests()
	var rec recorder
	if err := eng.Run(bg, rec.fn); err != nil {
		t.Fatal(err)
	}
	e.checkMirror(t)
	p := rec.final("jobs")
	// The last job (alone at the watermark) is fetched again, plus 30 new.
	if p.Stats.Inserted != 30 || p.Stats.Unchanged != 1 || p.Rows != 31 {
		t.Errorf("jobs incremental: %+v rows %d", p.Stats, p.Rows)
	}
	if n := len(e.f.requests("jobs")); n != 1 {
		t.Errorf("jobs incremental: %d requests", n)
	}
}

func TestOpenRowsAreRefreshed(t *testing.T) {
	e := newEnv(t, newFake(1000))
	eng := e.engine(Options{NoHead: true})
	if err := eng.Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	// job-00006 was RUNNING (state index 6), early in the log; it finishes.
	e.f.setState("jobs", "job-00006", "COMPLETED")
	var rec recorder
	if err := eng.Run(bg, rec.fn); err != nil {
		t.Fatal(err)
	}
	e.checkMirror(t)
	j, err := e.st.Job(bg, "job-00006")
	if err != nil || j.State != "COMPLETED" {
		t.Fatalf("job-00006: %q %v", j.State, err)
	}
	if p := rec.final("jobs"); p.Stats.Updated != 1 || p.Stats.Inserted != 0 {
		t.Errorf("refresh stats %+v", p.Stats)
	}
}

func TestRowsVisibleAfterFirstPage(t *testing.T) {
	e := newEnv(t, newFake(300))
	release := make(chan struct{})
	e.f.hook = func(route string, n int, _ *http.Request) {
		if route == "jobs" && n == 2 {
			select {
			case <-release:
			case <-time.After(10 * time.Second):
				t.Error("page 1 was never committed while page 2 was held")
			}
		}
	}
	var seen int
	err := e.engine(Options{NoHead: true}).Run(bg, func(p Progress) {
		if p.Source == "jobs" && p.Pages == 1 && !p.Done {
			n, err := e.st.Count(bg, "jobs", nil)
			if err != nil {
				t.Error(err)
			}
			seen = n
			close(release)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != 50 {
		t.Fatalf("after the first page the store had %d jobs, want 50", seen)
	}
}

// TestFetchRunsAheadOfWrites holds the writer (inside the progress callback
// of page 1) until the fetcher has asked for page 3: decode and write do not
// wait for each other.
func TestFetchRunsAheadOfWrites(t *testing.T) {
	e := newEnv(t, newFake(500))
	asked3 := make(chan struct{})
	e.f.hook = func(route string, n int, _ *http.Request) {
		if route == "jobs" && n == 3 {
			close(asked3)
		}
	}
	err := e.engine(Options{NoHead: true}).Run(bg, func(p Progress) {
		if p.Source == "jobs" && p.Pages == 1 && !p.Done {
			select {
			case <-asked3:
			case <-time.After(10 * time.Second):
				t.Error("fetcher did not run ahead while the writer was busy")
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	e.checkMirror(t)
}

func TestCancelMidRunThenResume(t *testing.T) {
	e := newEnv(t, newFake(1000))
	eng := e.engine(Options{NoHead: true})
	ctx, cancel := context.WithCancel(bg)
	const K = 7
	err := eng.Run(ctx, func(p Progress) {
		if p.Source == "jobs" && p.Pages == K {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	n, _ := e.st.Count(bg, "jobs", nil)
	if n != K*50 {
		t.Fatalf("%d jobs committed, want %d", n, K*50)
	}
	c := e.cursor(t, "jobs")
	if c.PageToken == "" {
		t.Fatalf("cursor after cancel has no page token: %+v", c)
	}
	if _, ok, _ := e.st.GetMeta(bg, store.MetaLastSync); ok {
		t.Error("last_sync recorded for a cancelled run")
	}

	e.f.resetRequests()
	var rec recorder
	if err := eng.Run(bg, rec.fn); err != nil {
		t.Fatal(err)
	}
	e.checkMirror(t)
	reqs := e.f.requests("jobs")
	if got := reqs[0].URL.Query().Get("page_token"); got != c.PageToken {
		t.Errorf("resumed run started with token %q, want %q", got, c.PageToken)
	}
	if len(reqs) != 20-K {
		t.Errorf("resumed run made %d jobs requests, want %d", len(reqs), 20-K)
	}
	if p := rec.final("jobs"); p.Stats.Inserted != 1000-K*50 || p.Stats.Updated+p.Stats.Unchanged != 0 {
		t.Errorf("resumed run stats %+v", p.Stats)
	}
}

func TestExpiredTokenRestartsFromWatermark(t *testing.T) {
	e := newEnv(t, newFake(1000))
	// Without the open-row refresh, which would reach back to job-00006.
	eng := e.engine(Options{NoHead: true, ReopenWindow: -1, Overlap: -1})
	ctx, cancel := context.WithCancel(bg)
	_ = eng.Run(ctx, func(p Progress) {
		if p.Source == "jobs" && p.Pages == 10 {
			cancel()
		}
	})
	e.f.mu.Lock()
	e.f.epoch++ // every token handed out so far is now invalid
	e.f.mu.Unlock()
	e.f.resetRequests()
	if err := eng.Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	e.checkMirror(t)
	reqs := e.f.requests("jobs")
	if len(reqs) < 2 || reqs[0].URL.Query().Get("page_token") == "" {
		t.Fatalf("expected a resume attempt first: %d requests", len(reqs))
	}
	restart := reqs[1].URL.Query()
	if restart.Get("page_token") != "" || !strings.HasPrefix(restart.Get("filter"), "created_at ge ") {
		t.Fatalf("restart request: %v", restart)
	}
	// From the watermark: the 10 remaining pages (plus the boundary row),
	// not the 20 of a full pass.
	if len(reqs) != 1+11 {
		t.Errorf("restart fetched %d pages: restarted from scratch", len(reqs)-1)
	}
}

func TestGarbagePageKeepsCommittedPages(t *testing.T) {
	e := newEnv(t, newFake(1000))
	e.f.garbage["jobs"] = 4
	eng := e.engine(Options{NoHead: true})
	err := eng.Run(bg, nil)
	if err == nil || !strings.Contains(err.Error(), "decode list_jobs") {
		t.Fatalf("err %v, want a decode list_jobs error", err)
	}
	if !strings.HasPrefix(err.Error(), "sync jobs: ") {
		t.Errorf("error does not name the source: %v", err)
	}
	if n, _ := e.st.Count(bg, "jobs", nil); n != 150 {
		t.Fatalf("%d jobs stored, want the 150 of the three good pages", n)
	}
	// The other sources still synced.
	if n, _ := e.st.Count(bg, "actions", nil); n != 333 {
		t.Fatalf("%d actions synced after jobs failed, want all 333", n)
	}
	if _, ok, _ := e.st.GetMeta(bg, store.MetaLastSync); ok {
		t.Error("last_sync recorded for a failed run")
	}
	c := e.cursor(t, "jobs")
	e.f.garbage = map[string]int{}
	e.f.resetRequests()
	if err := eng.Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	e.checkMirror(t)
	if got := e.f.requests("jobs")[0].URL.Query().Get("page_token"); got != c.PageToken || got == "" {
		t.Errorf("rerun did not resume after the last good page: %q vs %q", got, c.PageToken)
	}
}

func TestAuthErrorFailsEverySource(t *testing.T) {
	e := newEnv(t, newFake(10))
	bad, _ := veza.New(e.srv.URL, "wrong-token", veza.Options{})
	var rec recorder
	err := New(e.st, bad, Options{NoHead: true}).Run(bg, rec.fn)
	if !veza.IsStatus(err, 401) {
		t.Fatalf("err %v", err)
	}
	for _, src := range []string{"jobs", "actions", "tasks"} {
		if p := rec.final(src); !p.Done || p.Err == nil {
			t.Fatalf("%s final progress %+v", src, p)
		}
	}
	if strings.Contains(err.Error(), "\n") || strings.Count(err.Error(), "HTTP 401") != 3 {
		t.Errorf("want the three failures on one line: %q", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Fatal("token in error")
	}
}

func TestStoredRowsMatchWire(t *testing.T) {
	e := newEnv(t, newFake(20))
	if err := e.engine(Options{NoHead: true}).Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	e.f.mu.Lock()
	src := e.f.rows["jobs"][3] // ERRORED
	e.f.mu.Unlock()
	j, err := e.st.Job(bg, src.id)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != "ERRORED" || j.ErrorMessage != "boom 3" || j.EventsCreated != 3 {
		t.Errorf("job %+v", j)
	}
	if j.CreatedAt != src.key.UnixMilli() || j.StartedAt != src.key.Add(time.Second).UnixMilli() || j.CompletedAt != 0 {
		t.Errorf("times %d %d %d", j.CreatedAt, j.StartedAt, j.CompletedAt)
	}
	// The stored raw object, with request/result put back, is the wire object.
	var got, want map[string]any
	json.Unmarshal(j.Raw, &got)
	json.Unmarshal(j.Request, &map[string]any{})
	got["request"], got["result"] = json.RawMessage(j.Request), json.RawMessage(j.Result)
	b, _ := json.Marshal(got)
	json.Unmarshal(b, &got)
	json.Unmarshal(src.json, &want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("raw round trip:\n got %v\nwant %v", got, want)
	}
	if !bytes.Contains(j.Raw, []byte(`"vendor_extra"`)) {
		t.Errorf("unknown field lost: %s", j.Raw)
	}
	tk, err := e.st.Task(bg, "task-1")
	if err != nil || tk.ErrorMessage != "message 1" || tk.PolicyVersionNumber != 4 {
		t.Errorf("task %+v %v", tk, err)
	}
	a, err := e.st.Action(bg, "task-0", "Step 0 / provision")
	if err != nil || a.ErrorMessage != "action 0 failed" || a.JobsStarted != 3 {
		t.Errorf("action %+v %v", a, err)
	}
}

func TestNoDetails(t *testing.T) {
	e := newEnv(t, newFake(20))
	if err := e.engine(Options{NoHead: true, NoDetails: true}).Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	if q := e.f.requests("jobs")[0].URL.Query(); q.Has("details") {
		t.Fatalf("details sent: %v", q)
	}
	j, _ := e.st.Job(bg, "job-00003")
	if j.Request != nil || j.Result != nil {
		t.Fatalf("payloads without details: %s %s", j.Request, j.Result)
	}
}

func TestConvertJob(t *testing.T) {
	raw := `{"job_id":"j","state":"ERRORED","created_at":"2025-01-02T03:04:05.678Z","started_at":null,` +
		`"request":null,"result":{"error_messages":["first","second"]},"extra":[1,2]}`
	var rec veza.Record[veza.Job]
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		t.Fatal(err)
	}
	r := jobRow(rec)
	// Prepared for the store: the payloads moved out of Raw (the rest kept
	// byte for byte), the message's signature computed.
	rest := `{"job_id":"j","state":"ERRORED","created_at":"2025-01-02T03:04:05.678Z","started_at":null,"extra":[1,2]}`
	if r.CreatedAt != 1735787045678 || r.StartedAt != 0 || r.Request != nil ||
		string(r.Result) != `{"error_messages":["first","second"]}` || r.ErrorMessage != "first" || r.ErrorSignature != "first" || string(r.Raw) != rest {
		t.Fatalf("%+v\nraw %s", r, r.Raw)
	}
	var nothing veza.Record[veza.Job]
	json.Unmarshal([]byte(`{"job_id":"k","result":{"error_messages":[]}}`), &nothing)
	if r := jobRow(nothing); r.ErrorMessage != "" || r.CreatedAt != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestCursorNextSince(t *testing.T) {
	e := &Engine{overlap: time.Minute, reopen: 24 * time.Hour}
	s := &source[veza.Job, store.JobRow]{e: e}
	wm := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		c    cursor
		want time.Time
	}{
		{cursor{}, time.Time{}},
		{cursor{Watermark: fmtTime(wm)}, wm.Add(-time.Minute)},
		{cursor{Watermark: fmtTime(wm), OpenSince: fmtTime(wm.Add(-time.Hour))}, wm.Add(-time.Hour)},
		{cursor{Watermark: fmtTime(wm), OpenSince: fmtTime(wm.Add(-48 * time.Hour))}, wm.Add(-24 * time.Hour)},
		{cursor{Watermark: fmtTime(wm), OpenSince: fmtTime(wm.Add(-time.Second))}, wm.Add(-time.Minute)},
	} {
		if got := s.nextSince(tc.c); !got.Equal(tc.want) {
			t.Errorf("%+v: got %v want %v", tc.c, got, tc.want)
		}
	}
}

func TestUnreadableCursorMeansFullPass(t *testing.T) {
	e := newEnv(t, newFake(100))
	if _, err := e.st.WriteJobs(bg, nil, &store.Cursor{Source: "veza/jobs", Value: "not json"}); err != nil {
		t.Fatal(err)
	}
	if err := e.engine(Options{NoHead: true}).Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	e.checkMirror(t)
	if q := e.f.requests("jobs")[0].URL.Query(); q.Get("filter") != "" || q.Get("page_token") != "" {
		t.Fatalf("first request %v", q)
	}
}

func TestSecondRunWhileRunning(t *testing.T) {
	e := newEnv(t, newFake(200))
	eng := e.engine(Options{NoHead: true})
	var inner error
	err := eng.Run(bg, func(p Progress) {
		if p.Pages == 1 && p.Source == "jobs" && !p.Done {
			inner = eng.Run(bg, nil)
		}
	})
	if err != nil || !errors.Is(inner, ErrRunning) {
		t.Fatalf("outer %v, inner %v", err, inner)
	}
	if err := eng.Run(bg, nil); err != nil {
		t.Fatalf("run after run: %v", err)
	}
}

func TestFirstError(t *testing.T) {
	for in, want := range map[string]string{
		``:                                "",
		`{"error_messages":[]}`:           "",
		`{"error_messages" : [ ] ,"x":1}`: "",
		`{"error_messages":["a","b"]}`:    "a",
		`{"x":"\"error_messages\"","error_messages":["c"]}`:                  "c",
		`{"error_messages":null}`:                                            "",
		`{"output_entities":[{"error_messages":[]}],"error_messages":["d"]}`: "d",
		`{"error_messages":[""]}`:                                            "",
	} {
		if got := firstError([]byte(in)); got != want {
			t.Errorf("firstError(%s) = %q, want %q", in, got, want)
		}
	}
}
