package store

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ingestRows is the generated workload: 100k jobs with details (~1.75 KB of
// JSON each), in created_at order with random UUID job ids, as the sync
// writes them.
const ingestRows = 100_000

var benchJobs []JobRow

func ingestJobs(b *testing.B) []JobRow {
	if benchJobs == nil {
		benchJobs = newGen(7).jobs(ingestRows, 37, true)
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

// usage samples what the process has spent so far. This machine is shared,
// so next to rows/s (wall clock) the benchmarks report CPU time and bytes
// handed to write(2) per row, which other processes cannot inflate.
type usage struct {
	cpu   time.Duration
	wchar int64
}

func sample() usage {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	u := usage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	if b, err := os.ReadFile("/proc/self/io"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "wchar: "); ok {
				fmt.Sscan(v, &u.wchar)
			}
		}
	}
	return u
}

func report(b *testing.B, rows int, u0 usage) {
	u := sample()
	n := float64(rows * b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64((u.cpu-u0.cpu).Microseconds())/n, "cpu-µs/row")
	if u.wchar > 0 {
		b.ReportMetric(float64(u.wchar-u0.wchar)/n, "written-B/row")
	}
}

// BenchmarkIngestJobs writes 100k jobs into a new cache per iteration, in
// pages of 100 (one API page per transaction) and 1,000 (ten), Close
// included so the last checkpoint is paid for. The resync cases write the
// same 100k jobs again, with details and as a plain list.
//
//	go test ./store -run '^$' -bench IngestJobs -benchtime 3x
func BenchmarkIngestJobs(b *testing.B) {
	rows := ingestJobs(b)
	for _, page := range []int{100, 1000} {
		b.Run(fmt.Sprintf("page=%d", page), func(b *testing.B) {
			ingest(b, rows, page)
		})
	}
	// A first sync: bulk mode, 100-row pages, the end (indexes, text
	// index) included.
	b.Run("bulk_page=100", func(b *testing.B) { ingest(b, rows, 100, bulkLoad) })
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
			s := openBench(b)
			defer s.Close()
			writePages(b, s, rows, 1000)
			u0 := sample()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if st := writePages(b, s, tc.rows, 1000); st.Unchanged != len(rows) {
					b.Fatalf("stats %+v", st)
				}
			}
			b.StopTimer()
			report(b, len(rows), u0)
		})
	}
}

// BenchmarkIngestIndexCost is the measurement behind the jobs index set:
// the page=1000 ingest with every index, without each secondary one, and
// with the unique job_id index alone.
//
//	go test ./store -run '^$' -bench IngestIndexCost -benchtime 2x
func BenchmarkIngestIndexCost(b *testing.B) {
	rows := ingestJobs(b)
	for _, drop := range [][]string{nil, {"jobs_created"}, {"jobs_state_created"}, {"jobs_task"}, {"jobs_created", "jobs_state_created", "jobs_task"}} {
		name := "all"
		if drop != nil {
			name = "without=" + strings.Join(drop, "+")
		}
		b.Run(name, func(b *testing.B) { ingest(b, rows, 1000, drop...) })
	}
}

// bulkLoad as ingest's dropIndexes: a first sync's bulk load instead
// (BeginBulkJobs before the pages, EndBulkJobs after, inside the clock).
const bulkLoad = "bulk load"

func ingest(b *testing.B, rows []JobRow, page int, dropIndexes ...string) {
	var u0 usage
	bulk := len(dropIndexes) == 1 && dropIndexes[0] == bulkLoad
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := openBench(b)
		for _, idx := range dropIndexes {
			if bulk {
				break
			}
			if _, err := s.w.Exec("DROP INDEX " + idx); err != nil {
				b.Fatal(err)
			}
		}
		if i == 0 {
			u0 = sample()
		}
		b.StartTimer()
		if bulk {
			if on, err := s.BeginBulkJobs(ctx); err != nil || !on {
				b.Fatal(on, err)
			}
		}
		st := writePages(b, s, rows, page)
		if bulk {
			if _, err := s.EndBulkJobs(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if st.Inserted != len(rows) {
			b.Fatalf("stats %+v", st)
		}
	}
	b.StopTimer()
	report(b, len(rows), u0)
}

// openBench opens a new cache under the test's temp dir, or under
// $OPSDECK_BENCH_DIR (to compare disks, e.g. /dev/shm).
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
	return s
}

// benchCacheVersion names the 1M-job benchmark cache kept in os.TempDir()
// between runs; change it when the generator changes (a hash of the
// migrations is part of the name already).
const benchCacheVersion = "gen1"

func benchCachePath() string {
	h := fnv.New32a()
	for _, m := range migrations {
		h.Write([]byte(m.sql))
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("opsdeck-bench-1m-%s-%08x.db", benchCacheVersion, h.Sum32()))
}

const benchCacheRows = 1_000_000

var benchCacheStore *Store

// benchCache opens the 1M-job cache, building it on first use. Ingest
// speed is BenchmarkIngestJobs' business; this builder generates the rows
// inside SQLite in one INSERT ... SELECT (no journal, indexes built after the
// load), which takes well under a minute instead of several. The rows have
// the generator's shape: created_at ascending with rowid, ~1/15 ERRORED,
// random UUID job ids, ~9 jobs per task, ~1.75 KB of payload and raw JSON.
func benchCache(b *testing.B) *Store {
	if benchCacheStore != nil {
		return benchCacheStore
	}
	path := benchCachePath()
	if _, err := os.Stat(path); err != nil {
		buildBenchCache(b, path)
	}
	s, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	// Warm the page cache the way a first screen would, so the numbers are
	// steady-state ones.
	for _, q := range []Query{{Desc: true}, {Desc: true, Where: mustParse(b, `state eq "ERRORED"`)}} {
		if _, err := s.Jobs(ctx, q, nil, false, 50); err != nil {
			b.Fatal(err)
		}
	}
	benchCacheStore = s
	return s
}

const benchCacheSQL = `
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1),
r AS MATERIALIZED (
	SELECT i, hex(randomblob(16)) AS h, abs(random()) % 15 AS s, abs(random()) % 1000 AS x,
	       1750000000000 + i * 37 AS t
	FROM n
),
v AS MATERIALIZED (
	SELECT i, t, x,
	       lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-a' || substr(h, 18, 3) || '-' || substr(h, 21, 12)) AS job_id,
	       CASE WHEN s < 11 THEN 'COMPLETED' WHEN s = 11 THEN 'ERRORED' WHEN s = 12 THEN 'RUNNING' WHEN s = 13 THEN 'SKIPPED' ELSE 'PENDING' END AS state,
	       printf('%08x-%04x-4%03x-8%03x-%012x', (i / 9 * 2654435761) % 4294967296, i / 9 % 65536, x, x, i / 9) AS policy_task,
	       'Action ' || (i / 3 % 40) AS action_name,
	       CASE x % 8 WHEN 0 THEN 'Ada Lovelace' WHEN 1 THEN 'Grace Hopper' WHEN 2 THEN 'Alan Smith' WHEN 3 THEN 'Barbara Liskov'
	                  WHEN 4 THEN 'Ken Thompson' WHEN 5 THEN 'Donald Knuth' WHEN 6 THEN 'Edsger Dijkstra' ELSE 'Frances Allen' END AS identity_name
	FROM r
),
w AS (
	SELECT *,
	       printf('{"action_config":{"create_if_missing":true},"action_type":"SYNC_IDENTITIES","data_source":{"config":{"domain":"example.okta.com"},"id":"ds-okta-1","name":"Okta prod","type":"okta"},"input_entities":[%s,%s,%s]}',
	              printf(?2, x, x + 1, x + 2, x + 3, x + 4, x + 5, x + 6, x + 7, job_id),
	              printf(?2, x + 8, x + 9, x + 10, x + 11, x + 12, x + 13, x + 14, x + 15, policy_task),
	              printf(?2, x + 16, x + 17, x + 18, x + 19, x + 20, x + 21, x + 22, x + 23, job_id)) AS request,
	       CASE WHEN state = 'ERRORED'
	            THEN printf('{"any_changes":false,"any_created":false,"error_messages":["okta: 429 rate limited (request %d)","retry budget exhausted"],"output_entities":[]}', i)
	            ELSE '{"any_changes":false,"any_created":false,"error_messages":null,"output_entities":[]}' END AS result
	FROM v
)
INSERT INTO jobs (job_id, state, policy_task, action_name, action_type, policy_id, workflow_name, identity_id, identity_name,
                  event_source, event_source_id, extraction_event, extraction_event_type, started_at, completed_at, created_at,
                  any_changes, events_created, error_message, synced_at, request, result, raw)
SELECT job_id, state, policy_task, action_name, 'SYNC_IDENTITIES', 'policy-0001', 'Joiner workflow', policy_task, identity_name,
       'POLICY', 'policy-0001', 'extraction-42', 'FULL', t + 10, t + 900, t,
       x % 2, x % 3, CASE WHEN state = 'ERRORED' THEN printf('okta: 429 rate limited (request %d)', i) ELSE '' END, t, request, result,
       json_object('action_name', action_name, 'action_type', 'SYNC_IDENTITIES', 'any_changes', json(iif(x % 2, 'true', 'false')),
                   'completed_at', t + 900, 'created_at', t, 'event_source', 'POLICY', 'event_source_id', 'policy-0001',
                   'events_created', x % 3, 'extraction_event', 'extraction-42', 'extraction_event_type', 'FULL',
                   'identity_id', policy_task, 'identity_name', identity_name, 'job_id', job_id, 'policy_id', 'policy-0001',
                   'policy_task', policy_task, 'started_at', t + 10, 'state', state, 'workflow_name', 'Joiner workflow')
FROM w ORDER BY i`

const benchEntitySQL = `{"attributes":{"display_name":"Name%03d","email":"Name%03d","department":"Name%03d","title":"Name%03d","manager":"Name%03d","location":"Name%03d","employee_id":"Name%03d","cost_center":"Name%03d"},"entity_id":"%s","entity_type":"OktaUser"}`

func buildBenchCache(b *testing.B, path string) {
	start := time.Now()
	tmp := path + ".building"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	s, err := Open(tmp)
	if err != nil {
		b.Fatal(err)
	}
	var names, indexes []string
	rows, err := s.w.Query(`SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'jobs' AND sql IS NOT NULL`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var name, q string
		rows.Scan(&name, &q)
		names, indexes = append(names, name), append(indexes, q)
	}
	rows.Close()
	exec := func(q string, args ...any) {
		if _, err := s.w.Exec(q, args...); err != nil {
			b.Fatalf("%.60s: %v", q, err)
		}
	}
	for _, n := range names {
		exec("DROP INDEX " + n)
	}
	// A throwaway file: no journal, no syncs.
	exec("PRAGMA journal_mode = OFF")
	exec("PRAGMA synchronous = OFF")
	exec(benchCacheSQL, benchCacheRows, benchEntitySQL)
	loaded := time.Since(start)
	for _, q := range indexes {
		exec(q)
	}
	exec("INSERT INTO state_counts (entity, state, n) SELECT 'jobs', state, count(*) FROM jobs GROUP BY state")
	exec("INSERT INTO sync_cursors (source, value, updated_at) VALUES ('veza/jobs', 'end', 0)")
	exec("PRAGMA journal_mode = WAL")
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	b.Logf("built %s: %d jobs, %.0f MiB, load %v, total %v", path, benchCacheRows, float64(fi.Size())/(1<<20), loaded.Round(time.Second), time.Since(start).Round(time.Second))
}

var (
	benchAll     = Query{Desc: true}
	benchErrored = func(b *testing.B) Query { return Query{Desc: true, Where: mustParse(b, `state eq "ERRORED"`)} }
)

// BenchmarkFirstPage: the first screen of the jobs view, 50 rows newest
// first, on a 1M-job cache.
//
//	go test ./store -run '^$' -bench 'FirstPage|NextPage|StateCounts|CountFiltered|JobDetail'
func BenchmarkFirstPage(b *testing.B) {
	s := benchCache(b)
	for name, q := range map[string]Query{"all": benchAll, "errored": benchErrored(b)} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				page, err := s.Jobs(ctx, q, nil, false, 50)
				if err != nil || len(page) != 50 {
					b.Fatal(len(page), err)
				}
			}
		})
	}
}

// BenchmarkNextPage pages forward and backward from keys spread over the
// whole table (deep pages cost the same as the first with keyset paging).
func BenchmarkNextPage(b *testing.B) {
	s := benchCache(b)
	for name, q := range map[string]Query{"all": benchAll, "errored": benchErrored(b)} {
		// OFFSET is fine once, in setup: it picks keys spread over the
		// whole order without walking to them page by page.
		query, args, err := jobsEntity.pageSQL(q, nil, false, 1)
		if err != nil {
			b.Fatal(err)
		}
		query = strings.Replace(query, "LIMIT ?", "LIMIT 1 OFFSET ?", 1)
		args = args[: len(args)-1 : len(args)-1]
		n, err := s.Count(ctx, EntityJobs, q.Where)
		if err != nil {
			b.Fatal(err)
		}
		var keys []Key
		for i := 0; i < 20; i++ {
			var r JobRow
			p := r.ptrs()
			if err := s.r.QueryRow(query, append(args, 60+(n-200)*i/20)...).Scan(p[:len(p)-jobPayloadCols]...); err != nil {
				b.Fatal(err)
			}
			keys = append(keys, JobKey(q, r))
		}
		for _, backward := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/backward=%v", name, backward), func(b *testing.B) {
				i := 0
				for b.Loop() {
					k := keys[i%len(keys)]
					i++
					page, err := s.Jobs(ctx, q, &k, backward, 50)
					if err != nil || len(page) != 50 {
						b.Fatal(len(page), err)
					}
				}
			})
		}
	}
}

// BenchmarkStateCounts: the header's per-state totals.
func BenchmarkStateCounts(b *testing.B) {
	s := benchCache(b)
	for b.Loop() {
		m, err := s.StateCounts(ctx, EntityJobs)
		if err != nil || len(m) == 0 {
			b.Fatal(m, err)
		}
	}
}

// BenchmarkCountFiltered: the "n matching" figure next to a filter.
func BenchmarkCountFiltered(b *testing.B) {
	s := benchCache(b)
	// The generated jobs are 37 ms apart: the last hour holds ~97k of them.
	var newest int64
	s.r.QueryRow("SELECT max(created_at) FROM jobs").Scan(&newest)
	hourAgo := time.UnixMilli(newest).Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, src := range []string{
		`state eq "ERRORED"`,                                     // counters
		`state eq "errored" or state eq "RUNNING"`,               // index, ~130k entries
		`state eq "ERRORED" and created_at gt "` + hourAgo + `"`, // index range, ~6.5k
		`created_at gt "` + hourAgo + `"`,                        // index range, ~97k
		`state eq "ERRORED" and identity_name co "smith"`,        // index + every ERRORED row
	} {
		where := mustParse(b, src)
		b.Run(src, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Count(ctx, EntityJobs, where); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJobDetail: opening one job with its payloads.
func BenchmarkJobDetail(b *testing.B) {
	s := benchCache(b)
	page, err := s.Jobs(ctx, benchErrored(b), nil, false, 50)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := s.Job(ctx, page[i%len(page)].JobID); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
