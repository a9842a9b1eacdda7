package sync

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// BenchmarkSyncIncremental is the sync a running opsdeck does every
// interval: about 1,000 new jobs since the last one, on a large cache. The
// emulator runs in live mode (5 new jobs a second) on a clock the benchmark
// moves: each iteration advances it 200 s and syncs the jobs source, which
// fetches the new jobs, the overlap minute and every job still open when
// last seen (reopen window), and reports the wall time.
//
// The cache must have been synced from the same emulator: the one
// `scripts/bench.sh` starts (seed 1, default now, live) and keeps with
// KEEP=1, named by OPSDECK_BENCH_CACHE (its -scale by OPSDECK_BENCH_SCALE,
// default 1000000). Without OPSDECK_BENCH_CACHE a cache of
// OPSDECK_BENCH_SCALE jobs (default 100000 here) is synced once into
// $TMPDIR and reused.
//
//	go test ./sync -run '^$' -bench SyncIncremental -benchtime 3x
//	OPSDECK_BENCH_CACHE=/tmp/run/bench.db go test ./sync -run '^$' -bench SyncIncremental -benchtime 3x
func BenchmarkSyncIncremental(b *testing.B) {
	path := os.Getenv("OPSDECK_BENCH_CACHE")
	scale := 100_000
	if path != "" {
		scale = 1_000_000
	}
	if v := os.Getenv("OPSDECK_BENCH_SCALE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("OPSDECK_BENCH_SCALE=%q", v)
		}
		scale = n
	}
	ctx := context.Background()
	// The clock: start where the cache ends (its newest job), or, for a
	// new cache, at the emulator's Now.
	var clock atomic.Int64 // unix ns
	clock.Store(emulator.DefaultNow.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	emu, err := emulator.Start(ctx, "127.0.0.1:0", emulator.Options{Seed: 1, Scale: scale, Live: true, Clock: now})
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	c, err := veza.New(emu.URL, emu.Token, veza.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if path == "" {
		path = filepath.Join(os.TempDir(), fmt.Sprintf("opsdeck-bench-incr-s1-%d.db", scale))
		if _, err := os.Stat(path); err != nil {
			tmp := path + ".building"
			st, err := store.Open(tmp)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := New(st, c, Options{}).SyncSource(ctx, "jobs", nil); err != nil {
				b.Fatal(err)
			}
			if err := st.FlushTextIndex(ctx); err != nil {
				b.Fatal(err)
			}
			st.Close()
			if err := os.Rename(tmp, path); err != nil {
				b.Fatal(err)
			}
			b.Logf("synced %d jobs into %s in %v", scale, path, time.Since(start).Round(time.Second))
		}
	}
	st, err := store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var newest int64
	if rows, err := st.Jobs(ctx, store.Query{Sort: "created_at", Desc: true}, nil, false, 1); err != nil || len(rows) == 0 {
		b.Fatal("empty cache", err)
	} else {
		newest = rows[0].CreatedAt
	}
	if t := time.UnixMilli(newest).Add(time.Second); t.After(emulator.DefaultNow) {
		clock.Store(t.UnixNano())
	}
	before, _ := st.Count(ctx, store.EntityJobs, nil)
	eng := New(st, c, Options{})
	var total time.Duration
	var fetched, added int
	for b.Loop() {
		b.StopTimer()
		emu.Server.Advance(200 * time.Second) // ~1,000 new jobs
		n0, _ := st.Count(ctx, store.EntityJobs, nil)
		b.StartTimer()
		start := time.Now()
		var p Progress
		if err := eng.SyncSource(ctx, "jobs", func(q Progress) { p = q }); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		n1, _ := st.Count(ctx, store.EntityJobs, nil)
		fetched += p.Rows
		added += n1 - n0
		b.StartTimer()
	}
	if added == 0 {
		b.Fatal("no new jobs arrived")
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/sync")
	b.ReportMetric(float64(added)/float64(b.N), "new-jobs/sync")
	b.ReportMetric(float64(fetched)/float64(b.N), "fetched/sync")
	b.ReportMetric(float64(before), "jobs-before")
}
