package sync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// counting wraps the emulator: it counts requests per path and can replace
// the body of one response with garbage.
type counting struct {
	h       http.Handler
	mu      gosync.Mutex
	n       map[string]int
	tokens  map[string][]string // path -> page_token of each request
	garbage func(path string, n int) bool
	run     runTag
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if r.Header.Get(runHeader) == c.run.current() {
		c.n[r.URL.Path]++
		c.tokens[r.URL.Path] = append(c.tokens[r.URL.Path], r.URL.Query().Get("page_token"))
	}
	n := c.n[r.URL.Path]
	bad := c.garbage != nil && c.garbage(r.URL.Path, n)
	c.mu.Unlock()
	if bad {
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		w.WriteHeader(http.StatusOK)
		w.Write(body[:len(body)/2]) // cut mid-page
		return
	}
	c.h.ServeHTTP(w, r)
}

func (c *counting) reset() {
	c.mu.Lock()
	c.run.n.Add(1)
	c.n, c.tokens = map[string]int{}, map[string][]string{}
	c.mu.Unlock()
}

func (c *counting) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

const jobsPath = "/api/private/lifecycle_management/action_job_events"

type emuEnv struct {
	emu *emulator.Server
	h   *counting
	srv *httptest.Server
	st  *store.Store
	c   *veza.Client
}

func newEmuEnv(t testing.TB, scale int) *emuEnv {
	t.Helper()
	emu := emulator.New(emulator.Options{Seed: 7, Scale: scale, Token: "emu-token-test"})
	h := &counting{h: emu}
	h.reset()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := veza.New(srv.URL, "emu-token-test", veza.Options{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		HTTPClient: &http.Client{Transport: h.run.transport()}})
	if err != nil {
		t.Fatal(err)
	}
	return &emuEnv{emu: emu, h: h, srv: srv, st: openStore(t), c: c}
}

// checkExact asserts the store holds exactly the emulator's data set.
func (e *emuEnv) checkExact(t *testing.T) {
	t.Helper()
	tasks, actions, jobs := e.emu.Counts()
	for ent, want := range map[string]int{"tasks": tasks, "actions": actions, "jobs": jobs} {
		n, err := e.st.Count(bg, ent, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s: store has %d, emulator %d", ent, n, want)
		}
	}
	got, err := e.st.StateCounts(bg, store.EntityJobs)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.emu.StateCounts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("job states: store %v, emulator %v", got, want)
	}
}

func TestEmulatorSyncExactAndRepeatable(t *testing.T) {
	e := newEmuEnv(t, 3000)
	eng := New(e.st, e.c, Options{})
	var rec recorder
	if err := eng.Run(bg, rec.fn); err != nil {
		t.Fatal(err)
	}
	e.checkExact(t)
	tasks, actions, jobs := e.emu.Counts()
	t.Logf("emulator: %d tasks, %d actions, %d jobs; first run %d job requests", tasks, actions, jobs, e.h.count(jobsPath))
	for src, n := range map[string]int{"jobs": jobs, "actions": actions, "tasks": tasks} {
		if p := rec.final(src); p.Stats.Inserted+rec.head(src).Stats.Inserted != n || p.Err != nil {
			t.Errorf("%s first run %+v, want %d inserted", src, p, n)
		}
	}
	// A detailed job from the store carries its payloads.
	var anyJob store.JobRow
	rows, err := e.st.Jobs(bg, store.Query{}, nil, false, 1)
	if err != nil || len(rows) != 1 {
		t.Fatalf("jobs page: %v", err)
	}
	anyJob, err = e.st.Job(bg, rows[0].JobID)
	if err != nil || anyJob.Request == nil || anyJob.Result == nil || anyJob.CreatedAt == 0 {
		t.Fatalf("stored job lacks payloads or times: %+v %v", anyJob, err)
	}

	e.h.reset()
	rec = recorder{}
	if err := eng.Run(bg, rec.fn); err != nil {
		t.Fatal(err)
	}
	e.checkExact(t)
	for _, src := range []string{"jobs", "actions", "tasks"} {
		p := rec.final(src)
		if p.Stats.Inserted != 0 || p.Stats.Updated != 0 {
			t.Errorf("%s second run wrote rows: %+v", src, p.Stats)
		}
		t.Logf("%s second run: %d pages, %+v", src, p.Pages, p.Stats)
	}
}

func TestEmulatorCancelAndResume(t *testing.T) {
	full := newEmuEnv(t, 3000)
	if err := New(full.st, full.c, Options{NoHead: true}).SyncSource(bg, "jobs", nil); err != nil {
		t.Fatal(err)
	}
	fullJobReqs := full.h.count(jobsPath)

	e := newEmuEnv(t, 3000)
	eng := New(e.st, e.c, Options{NoHead: true})
	const K = 9
	ctx, cancel := context.WithCancel(bg)
	err := eng.Run(ctx, func(p Progress) {
		if p.Source == "jobs" && p.Pages == K {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if n, _ := e.st.Count(bg, "jobs", nil); n != K*100 {
		t.Fatalf("%d jobs committed before cancel, want %d", n, K*100)
	}
	e.h.reset()
	if err := eng.Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	e.checkExact(t)
	resumed := e.h.count(jobsPath)
	if first := e.h.tokens[jobsPath][0]; first == "" {
		t.Error("resumed run did not start from the saved page token")
	}
	if resumed != fullJobReqs-K {
		t.Errorf("resumed run made %d job requests; a full pass takes %d, %d were done", resumed, fullJobReqs, K)
	}
}

func TestEmulatorGarbagePage(t *testing.T) {
	e := newEmuEnv(t, 3000)
	e.h.garbage = func(path string, n int) bool { return path == jobsPath && n == 5 }
	eng := New(e.st, e.c, Options{NoHead: true})
	var rec recorder
	err := eng.Run(bg, rec.fn)
	if err == nil || !strings.Contains(err.Error(), "decode list_jobs") {
		t.Fatalf("err %v", err)
	}
	if n, _ := e.st.Count(bg, "jobs", nil); n != 400 {
		t.Fatalf("%d jobs stored, want the 400 of the 4 good pages", n)
	}
	if p := rec.final("jobs"); p.Pages != 4 || p.Err == nil {
		t.Fatalf("progress %+v", p)
	}
	e.h.garbage = nil
	if err := eng.Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	e.checkExact(t)
}

// BenchmarkSyncJobs syncs the emulator's 20,000 jobs (with details) into a
// fresh store per iteration and reports rows/s. The emulator runs in the same
// process, so it competes with the sync for the CPU; BenchmarkSyncJobsCanned
// replays its pages from memory to measure the client, engine and store alone.
//
//	go test -run '^$' -bench BenchmarkSyncJobs -benchtime 3x ./sync/
//	OPSDECK_BENCH_DIR=/dev/shm go test -run '^$' -bench BenchmarkSyncJobs -benchtime 3x ./sync/
func BenchmarkSyncJobs(b *testing.B) {
	emu, err := emulator.Start(context.Background(), "127.0.0.1:0", emulator.Options{Seed: 1, Scale: 20000})
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	_, _, jobs := emu.Server.Counts()
	benchSync(b, emu.URL, emu.Token, jobs)
}

func BenchmarkSyncJobsCanned(b *testing.B) {
	emu := emulator.New(emulator.Options{Seed: 1, Scale: 20000, Token: "t"})
	_, _, jobs := emu.Counts()
	// Record every page the sync asks for once, then serve them from memory.
	pages := map[string][]byte{}
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rr := httptest.NewRecorder()
		emu.ServeHTTP(rr, r)
		pages[r.URL.RawQuery] = rr.Body.Bytes()
		w.WriteHeader(rr.Code)
		w.Write(rr.Body.Bytes())
	}))
	c, _ := veza.New(rec.URL, "t", veza.Options{})
	if err := New(openStore(b), c, Options{NoHead: true}).SyncSource(context.Background(), "jobs", nil); err != nil {
		b.Fatal(err)
	}
	rec.Close()
	canned := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.RawQuery]
		if !ok {
			http.Error(w, "not recorded", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body)
	}))
	defer canned.Close()
	benchSync(b, canned.URL, "t", jobs)
}

func benchSync(b *testing.B, url, token string, jobs int) {
	c, err := veza.New(url, token, veza.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	cpu0 := cpuTime()
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		if d := os.Getenv("OPSDECK_BENCH_DIR"); d != "" { // e.g. /dev/shm, to take the disk out
			if dir, err = os.MkdirTemp(d, "opsdeck-bench"); err != nil {
				b.Fatal(err)
			}
			defer os.RemoveAll(dir)
		}
		st, err := store.Open(filepath.Join(dir, "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		var rows int
		err = New(st, c, Options{NoHead: true}).SyncSource(context.Background(), "jobs", func(p Progress) { rows = p.Rows })
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if rows != jobs {
			b.Fatalf("synced %d jobs, want %d", rows, jobs)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(jobs)*float64(b.N)/total.Seconds(), "rows/s")
	// Rows per CPU-second of the whole process (including an in-process
	// emulator): the figure that holds when other processes share the machine.
	b.ReportMetric(float64(jobs)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestEmulatorFaults syncs through the emulator's fault injection: rate
// limits, 5xx, HTML from a proxy, connection resets, truncated bodies, empty
// pages with has_more and pages that repeat the previous page's tail. The
// client retries what is transient, the pager walks through empty pages, the
// upsert absorbs duplicates: the store still mirrors the emulator exactly.
func TestEmulatorFaults(t *testing.T) {
	e := newEmuEnv(t, 3000)
	if err := e.emu.SetFaults("429=0.01,500=0.04,503=0.04,html=0.04,reset=0.04,truncated=0.04,emptypage=0.06,dup=0.06"); err != nil {
		t.Fatal(err)
	}
	if err := New(e.st, e.c, Options{NoHead: true}).Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	e.checkExact(t)
	injected := e.emu.FaultCounts()
	t.Logf("faults injected: %v", injected)
	for _, k := range []string{"500", "503", "html", "reset", "truncated", "emptypage", "dup"} {
		if injected[k] == 0 {
			t.Errorf("no %s fault was injected: the test proves less than it claims", k)
		}
	}
}

// TestEmulatorBadJSONFails: a 200 whose envelope has the wrong types is not
// retried and not committed; the next run resumes and completes.
func TestEmulatorBadJSONFails(t *testing.T) {
	e := newEmuEnv(t, 3000)
	if err := e.emu.SetFaults("badjson=0.2"); err != nil {
		t.Fatal(err)
	}
	eng := New(e.st, e.c, Options{NoHead: true})
	err := eng.Run(bg, nil)
	if err == nil || !strings.Contains(err.Error(), "decode list_") {
		t.Fatalf("err %v, want a decode error", err)
	}
	if err := e.emu.SetFaults(""); err != nil {
		t.Fatal(err)
	}
	if err := eng.Run(bg, nil); err != nil {
		t.Fatal(err)
	}
	e.checkExact(t)
}

// TestEmulatorLive runs against a growing tenant whose new jobs start
// RUNNING and settle minutes later. Each sync must leave the store equal to
// the emulator at that moment, states included: new rows come from the
// watermark, settled ones from the refresh of rows last seen open.
func TestEmulatorLive(t *testing.T) {
	clock := func() time.Time { return emulator.DefaultNow }
	mk := func(opts Options) (*emuEnv, *Engine) {
		emu := emulator.New(emulator.Options{Seed: 3, Scale: 1000, Token: "emu-token-test", Live: true, LiveRate: 2, Clock: clock})
		h := &counting{h: emu}
		h.reset()
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		c, err := veza.New(srv.URL, "emu-token-test", veza.Options{HTTPClient: &http.Client{Transport: h.run.transport()}})
		if err != nil {
			t.Fatal(err)
		}
		e := &emuEnv{emu: emu, h: h, srv: srv, st: openStore(t), c: c}
		return e, New(e.st, c, opts)
	}
	e, eng := mk(Options{NoHead: true})
	// The same tenant synced with the refresh of open rows turned off: the
	// control group that shows the scenario needs it.
	ctl, ctlEng := mk(Options{NoHead: true, ReopenWindow: -1})

	for step := range 3 {
		if step > 0 {
			e.emu.Advance(3 * time.Minute)
			ctl.emu.Advance(3 * time.Minute)
		}
		if err := eng.Run(bg, nil); err != nil {
			t.Fatal(err)
		}
		if err := ctlEng.Run(bg, nil); err != nil {
			t.Fatal(err)
		}
		e.checkExact(t)
		_, _, jobs := e.emu.Counts()
		t.Logf("step %d: %d jobs, states %v", step, jobs, e.emu.StateCounts())
	}
	got, _ := ctl.st.StateCounts(bg, store.EntityJobs)
	if fmt.Sprint(got) == fmt.Sprint(ctl.emu.StateCounts()) {
		t.Error("without the open-row refresh the store still matched: the scenario does not exercise it")
	}
}

// The first sync shows what is failing now: before the oldest-first pass,
// the newest jobs are already in the cache.
func TestFirstSyncStoresNewestJobsFirst(t *testing.T) {
	e := newEmuEnv(t, 3000)
	newest, err := e.c.ListJobs(bg, veza.ListParams{OrderBy: "created_at desc", PageSize: 1})
	if err != nil || len(newest.Values) != 1 {
		t.Fatalf("newest job: %v", err)
	}
	var checked bool
	e2 := e
	err = New(e2.st, e2.c, Options{}).Run(bg, func(p Progress) {
		if checked {
			return
		}
		checked = true
		if !p.Head || p.Source != "jobs" {
			t.Errorf("first progress is not the jobs head: %+v", p)
		}
		if _, err := e2.st.Job(bg, newest.Values[0].JobID); err != nil {
			t.Errorf("newest job not stored by the first committed page: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	e2.checkExact(t)
	// A second run has a cursor: no head requests.
	e2.h.reset()
	var rec recorder
	if err := New(e2.st, e2.c, Options{}).Run(bg, rec.fn); err != nil {
		t.Fatal(err)
	}
	if p := rec.head("jobs"); p.Pages != 0 {
		t.Fatalf("head ran again on a synced cache: %+v", p)
	}
}
