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
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.n[r.URL.Path]++
	n := c.n[r.URL.Path]
	c.tokens[r.URL.Path] = append(c.tokens[r.URL.Path], r.URL.Query().Get("page_token"))
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
	c, err := veza.New(srv.URL, "emu-token-test", veza.Options{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
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
		if p := rec.final(src); p.Stats.Inserted != n || p.Err != nil {
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
	if err := New(full.st, full.c, Options{}).SyncSource(bg, "jobs", nil); err != nil {
		t.Fatal(err)
	}
	fullJobReqs := full.h.count(jobsPath)

	e := newEmuEnv(t, 3000)
	eng := New(e.st, e.c, Options{})
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
	eng := New(e.st, e.c, Options{})
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
// process, so it competes with the sync for the CPU.
//
//	go test -run '^$' -bench BenchmarkSyncJobs -benchtime 3x ./sync/
//	OPSDECK_BENCH_DIR=/dev/shm go test -run '^$' -bench BenchmarkSyncJobs -benchtime 3x ./sync/
func BenchmarkSyncJobs(b *testing.B) {
	emu, err := emulator.Start(context.Background(), "127.0.0.1:0", emulator.Options{Seed: 1, Scale: 20000})
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	c, err := veza.New(emu.URL, emu.Token, veza.Options{})
	if err != nil {
		b.Fatal(err)
	}
	_, _, jobs := emu.Server.Counts()
	var total time.Duration
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
		err = New(st, c, Options{}).SyncSource(context.Background(), "jobs", func(p Progress) { rows = p.Rows })
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
}
