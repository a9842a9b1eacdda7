package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ingestRows is the generated workload: 100k jobs with details (~1.75 KB of
// JSON each), in created_at order with random UUID job ids, as the sync
// writes them.
const ingestRows = 100_000

var benchJobs []JobRow

func ingestJobs(b *testing.B) []JobRow {
	if benchJobs == nil {
		benchJobs = newGen(7).jobs(ingestRows, 37, true)
		var n int
		for _, r := range benchJobs {
			n += len(r.Raw)
		}
		b.Logf("generated %d jobs, %.0f B of raw JSON each", len(benchJobs), float64(n)/float64(len(benchJobs)))
	}
	return benchJobs
}

func writePages(b *testing.B, s *Store, rows []JobRow, page int) WriteStats {
	var total WriteStats
	for i := 0; i < len(rows); i += page {
		end := min(i+page, len(rows))
		st, err := s.WriteJobs(ctx, rows[i:end], &Cursor{Source: "veza/jobs", Value: fmt.Sprint(end)})
		if err != nil {
			b.Fatal(err)
		}
		total.add(st)
	}
	return total
}

// BenchmarkIngestJobs writes 100k jobs into a new cache per iteration.
//
//	go test ./store -run '^$' -bench IngestJobs -benchtime 3x
func BenchmarkIngestJobs(b *testing.B) {
	rows := ingestJobs(b)
	for _, page := range []int{100, 1000} {
		b.Run(fmt.Sprintf("page=%d", page), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := openBench(b)
				b.StartTimer()
				st := writePages(b, s, rows, page)
				b.StopTimer()
				if st.Inserted != len(rows) {
					b.Fatalf("stats %+v", st)
				}
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	// A re-sync of rows the cache already has: with details, and as a list
	// without details (which must not count as a change either).
	listOnly := make([]JobRow, len(rows))
	for i, r := range rows {
		r.Request, r.Result = nil, nil
		r.Raw = rawJob(r)
		listOnly[i] = r
	}
	for _, tc := range []struct {
		name string
		rows []JobRow
	}{{"resync_unchanged", rows}, {"resync_unchanged_list_only", listOnly}} {
		b.Run(tc.name, func(b *testing.B) {
			b.StopTimer()
			s := openBench(b)
			writePages(b, s, rows, 1000)
			b.StartTimer()
			for i := 0; i < b.N; i++ {
				st := writePages(b, s, tc.rows, 1000)
				if st.Unchanged != len(rows) {
					b.Fatalf("stats %+v", st)
				}
			}
			b.StopTimer()
			s.Close()
			b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// openBench opens a new cache on disk (not tmpfs: /tmp may be either, the
// numbers must be the disk's).
func openBench(b *testing.B) *Store {
	dir := b.TempDir()
	if d := os.Getenv("OPSDECK_BENCH_DIR"); d != "" {
		var err error
		if dir, err = os.MkdirTemp(d, "ingest"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	s, err := Open(filepath.Join(dir, "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range strings.Split(os.Getenv("OPSDECK_EXP"), ",") {
		var q []string
		switch e {
		case "notrig":
			q = []string{"DROP TRIGGER jobs_count_insert", "DROP TRIGGER jobs_count_update"}
		case "noaction":
			q = []string{"DROP INDEX jobs_action"}
		case "nostate":
			q = []string{"DROP INDEX jobs_state_created"}
		case "nocreated":
			q = []string{"DROP INDEX jobs_created"}
		}
		for _, x := range q {
			if _, err := s.w.Exec(x); err != nil {
				b.Fatal(err)
			}
		}
	}
	return s
}
