package cli

import (
	"context"
	"io"
	"os"
	"testing"
	"time"
)

// BenchmarkQueryJSONLErrored is the issue-8 budget line: `opsdeck query
// jobs --filter 'state eq "ERRORED"' -o jsonl`, streamed from a cache,
// in rows/s, with the peak Go heap and RSS of the run. The cache is
// OPSDECK_BENCH_CACHE when set (say the 1M-job cache `scripts/bench.sh`
// syncs and keeps with KEEP=1: real payloads, ERRORED rows spread over the
// table), else the synthetic one of BenchmarkQueryJSONL.
//
//	OPSDECK_BENCH_CACHE=/tmp/run/bench.db go test ./internal/cli -run '^$' -bench QueryJSONLErrored -benchtime 1x
func BenchmarkQueryJSONLErrored(b *testing.B) {
	path := os.Getenv("OPSDECK_BENCH_CACHE")
	if path == "" {
		path = benchCache(b, 100_000)
	}
	env := newHarness(b, path).env
	var out countWriter
	env.Stdout, env.Stderr = &out, io.Discard
	args := []string{"query", "jobs", "--filter", `state eq "ERRORED"`, "-o", "jsonl"}
	// One run outside the clock: the numbers are for a warm page cache, as
	// after the sync that filled it.
	if code := Run(context.Background(), args, env); code != 0 {
		b.Fatalf("exit %d", code)
	}
	rows := out.lines.Load()
	out.lines.Store(0)
	out.n.Store(0)
	resetPeakRSS()
	stop := sampleHeap()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if code := Run(context.Background(), args, env); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	peakHeap := stop()
	if got := out.lines.Load(); got != rows*int64(b.N) || rows == 0 {
		b.Fatalf("%d lines, want %d", got, rows*int64(b.N))
	}
	b.ReportMetric(float64(rows*int64(b.N))/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
	}
}
