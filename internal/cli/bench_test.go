package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
)

// BenchmarkQueryJSONL streams every job of a large cache as JSON lines
// ("opsdeck query jobs -o jsonl") and reports rows/s, the peak Go heap
// (sampled while it runs) and the peak RSS of the process during the run.
//
// The cache is built once in os.TempDir and reused. The default is 100k
// jobs; the 1M variant (about 1.2 GB of disk, a minute or two to build):
//
//	OPSDECK_CLI_BENCH_ROWS=1000000 go test -run '^$' -bench QueryJSONL -benchtime=1x ./internal/cli
func BenchmarkQueryJSONL(b *testing.B) {
	rows := 100_000
	if v := os.Getenv("OPSDECK_CLI_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("OPSDECK_CLI_BENCH_ROWS=%q", v)
		}
		rows = n
	}
	path := benchCache(b, rows)
	h := newHarness(b, path)
	env := h.env
	var out countWriter
	env.Stdout, env.Stderr = &out, io.Discard

	resetPeakRSS()
	stop := sampleHeap()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if code := Run(context.Background(), []string{"query", "jobs", "-o", "jsonl"}, env); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	peakHeap := stop()
	if got := out.lines.Load(); got != int64(rows*b.N) {
		b.Fatalf("%d lines, want %d", got, rows*b.N)
	}
	b.ReportMetric(float64(rows*b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
	}
	b.ReportMetric(float64(out.n.Load())/float64(rows*b.N), "B/row-out")
}

type countWriter struct {
	n, lines atomic.Int64
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	w.lines.Add(int64(strings.Count(string(p), "\n")))
	return len(p), nil
}

// sampleHeap samples the live heap every 50 ms until the returned func is
// called, which reports the largest sample.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// resetPeakRSS makes VmHWM start from the current RSS (Linux), so the peak
// read afterwards belongs to the measured run, not to building the cache.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// benchCache returns a cache of n synthetic jobs, building it on first use
// (the file is renamed into place only when complete).
func benchCache(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "opsdeck-cli-bench")
	path := filepath.Join(dir, fmt.Sprintf("jobs-v1-%d.db", n))
	if _, err := os.Stat(path); err == nil {
		// Built by an older opsdeck: opening it read-write upgrades the
		// schema, which a read-only query would otherwise refuse.
		st, err := store.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		return path
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	tmp := path + ".building"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	start := time.Now()
	st, err := store.Open(tmp)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	states := []string{"COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "ERRORED", "RUNNING", "SKIPPED"}
	types := []string{"SYNC_IDENTITIES", "MANAGE_RELATIONSHIPS", "CREATE_EMAIL", "DEPROVISION_IDENTITY", "SEND_REST_PAYLOAD"}
	batch := make([]store.JobRow, 0, 1000)
	t0 := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := 0; i < n; i++ {
		h := uint64(i)*0x9e3779b97f4a7c15 ^ 0x5851f42d4c957f2d
		h ^= h >> 29
		state := states[h%uint64(len(states))]
		r := store.JobRow{
			JobID:        fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(h), uint16(h>>32), (h>>40)&0xfff, i&0xfff, h>>8&0xffffffffffff),
			State:        state,
			PolicyTask:   fmt.Sprintf("task-%07d", i/4),
			ActionName:   "Action " + strconv.Itoa(int(h%17)),
			ActionType:   types[h%uint64(len(types))],
			PolicyID:     "policy-" + strconv.Itoa(int(h%9)),
			WorkflowName: "Workflow " + strconv.Itoa(int(h%23)),
			IdentityID:   fmt.Sprintf("identity-%06d", h%50000),
			IdentityName: fmt.Sprintf("Person %d Surname%d", h%5000, h%977),
			EventSource:  "POLICY", EventSourceID: "policy-" + strconv.Itoa(int(h%9)),
			ExtractionEvent: fmt.Sprintf("extraction-%06d", i/37), ExtractionEventType: "SCHEDULED",
			CreatedAt: t0 + int64(i)*2000, StartedAt: t0 + int64(i)*2000 + 300, AnyChanges: h%3 == 0, EventsCreated: int64(h % 3),
			Raw: []byte(`{"job_id":"x"}`),
		}
		if state != "RUNNING" {
			r.CompletedAt = r.StartedAt + int64(h%60000)
		}
		if state == "ERRORED" {
			r.ErrorMessage = fmt.Sprintf("user person%d not found in group 'Group-%d' (HTTP 404 from the connector)", h%5000, h%300)
		}
		batch = append(batch, r)
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := st.WriteJobs(ctx, batch, nil); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s (%d jobs) in %s", path, n, time.Since(start).Round(time.Millisecond))
	return path
}
