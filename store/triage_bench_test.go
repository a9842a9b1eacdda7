package store

import (
	"fmt"
	"testing"
	"time"
)

// triageBenchCache is the 1M-job benchmark cache (benchCache) made ready
// for triage. Its builder writes rows with SQL, bypassing the write path,
// after the migrations ran on an empty table: here every ERRORED job gets
// one of 31 signatures (the builder gives them all one message, which
// would be a single group), and the free-text index is rebuilt with its
// mark moved to the last row (as a flush would leave it). Each step runs
// once per cache file; meta keys remember them.
func triageBenchCache(b *testing.B) *Store {
	s := benchCache(b)
	for _, step := range []struct {
		key  string
		sqls []string
	}{
		{"bench_triage", []string{
			`UPDATE jobs SET error_signature = printf('cause %d: user <name> not found in group ''<name>''', (rowid * 7919) % 31)
			 WHERE state = 'ERRORED'`,
			`INSERT INTO jobs_fts (jobs_fts) VALUES ('rebuild')`,
		}},
		{"bench_triage_mark", []string{`UPDATE jobs_fts_state SET indexed_upto = (SELECT max(rowid) FROM jobs)`}},
	} {
		if v, _, _ := s.GetMeta(ctx, step.key); v == "1" {
			continue
		}
		start := time.Now()
		for _, q := range step.sqls {
			if _, err := s.w.Exec(q); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.SetMeta(ctx, step.key, "1"); err != nil {
			b.Fatal(err)
		}
		b.Logf("1M cache, %s: %v", step.key, time.Since(start).Round(time.Millisecond))
	}
	return s
}

// BenchmarkErrorGroups: the :errors screen on a 1M-job cache (~67k
// ERRORED in 31 groups), default options (24 buckets, 3 names per list).
//
//	go test ./store -run '^$' -bench ErrorGroups -benchtime 1x
func BenchmarkErrorGroups(b *testing.B) {
	s := triageBenchCache(b)
	for _, c := range []struct {
		name string
		opts GroupOptions
	}{
		{"all", GroupOptions{}},
		{"last_hour", GroupOptions{Since: 1750000000000 + 1_000_000*37 - 3_600_000}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				gs, err := s.ErrorGroups(ctx, c.opts)
				if err != nil || len(gs) == 0 {
					b.Fatal(len(gs), err)
				}
				n = 0
				for _, g := range gs {
					n += g.Count
				}
			}
			b.ReportMetric(float64(n), "jobs")
		})
	}
}

// BenchmarkFreeTextFirstPage: the first 50 rows, newest first, of a
// free-text search on the 1M-job cache, and its count. "smith" is in 1/8
// of the identity names, "Okta prod" in none of the indexed columns,
// "request 4242" in one error message.
//
//	go test ./store -run '^$' -bench FreeText -benchtime 1x
func BenchmarkFreeTextFirstPage(b *testing.B) {
	s := triageBenchCache(b)
	var errored int
	s.r.QueryRow("SELECT rowid FROM jobs WHERE state = 'ERRORED' ORDER BY rowid LIMIT 1 OFFSET 500").Scan(&errored)
	rare := fmt.Sprintf("request %d)", errored-1)
	for _, text := range []string{"smith", "Action 17", rare, "no such text", "ab"} {
		q := Query{Desc: true, Text: text}
		b.Run("page/"+text, func(b *testing.B) {
			var n int
			for b.Loop() {
				page, err := s.Jobs(ctx, q, nil, false, 50)
				if err != nil {
					b.Fatal(err)
				}
				n = len(page)
			}
			b.ReportMetric(float64(n), "rows")
		})
		b.Run("count/"+text, func(b *testing.B) {
			var n int
			for b.Loop() {
				var err error
				if n, err = s.CountQuery(ctx, EntityJobs, q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "matches")
		})
	}
}

// BenchmarkIngestTextIndex is the free-text index's share of the ingest:
// BenchmarkIngestJobs' page=1000 case as is, and with jobs_fts replaced by
// a plain table of the same columns (the write path runs unchanged, the
// trigram tokenising and its b-tree writes are gone).
//
//	go test ./store -run '^$' -bench IngestTextIndex -benchtime 1x
func BenchmarkIngestTextIndex(b *testing.B) {
	rows := ingestJobs(b)
	for _, plain := range []bool{false, true} {
		b.Run(fmt.Sprintf("plain_table=%v", plain), func(b *testing.B) {
			var u0 usage
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := openBench(b)
				if plain {
					for _, q := range []string{"DROP TABLE jobs_fts",
						"CREATE TABLE jobs_fts (rowid INTEGER PRIMARY KEY, jobs_fts, identity_name, action_name, workflow_name, error_message, rank)"} {
						if _, err := s.w.Exec(q); err != nil {
							b.Fatal(err)
						}
					}
					// Statements prepared against the virtual table: again.
					s.ws.close()
					for _, q := range []string{jobsWrite.upsert, jobsWrite.lookup} {
						if _, err := s.ws.get(ctx, q); err != nil {
							b.Fatal(err)
						}
					}
				}
				if i == 0 {
					u0 = sample()
				}
				b.StartTimer()
				writePages(b, s, rows, 1000)
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			report(b, len(rows), u0)
		})
	}
}
