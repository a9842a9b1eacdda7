package store

import (
	"fmt"
	"testing"
	"time"
)

// countsMatch asserts the state counters of table equal a real GROUP BY.
func countsMatch(t *testing.T, s *Store, table, col string) {
	t.Helper()
	got, err := s.StateCounts(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.r.QueryContext(ctx, fmt.Sprintf("SELECT %s, count(*) FROM %s GROUP BY 1", col, table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			t.Fatal(err)
		}
		want[st] = n
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: state_counts %v, table %v", table, got, want)
	}
}

func tableCount(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPruneDeletesOldHistoryAndKeepsCountersExact(t *testing.T) {
	s := openTest(t)
	g := newGen(3)
	const n = 12000 // more than two delete batches
	base := g.t
	var jobs []JobRow
	for range n {
		jobs = append(jobs, g.job(60_000, false)) // one a minute
	}
	// A job with no created_at is kept whatever its age.
	unset := g.job(0, false)
	unset.CreatedAt = 0
	jobs = append(jobs, unset)
	for i := 0; i < len(jobs); i += 1000 {
		if _, err := s.WriteJobs(ctx, jobs[i:min(i+1000, len(jobs))], nil); err != nil {
			t.Fatal(err)
		}
	}
	var tasks []TaskRow
	var actions []ActionRow
	var events []EventRow
	var socEvents []SocotraEventRow
	for i := range 100 {
		ts := base + int64(i)*7_200_000 // one every 2 h
		st := []string{"COMPLETED", "ERRORED", "RUNNING"}[i%3]
		tasks = append(tasks, TaskRow{ID: fmt.Sprintf("task-%d", i), State: st, TCreatedAt: ts})
		actions = append(actions, ActionRow{PolicyTask: fmt.Sprintf("task-%d", i), ActionName: "Sync", State: st, StartedAt: ts})
		events = append(events, EventRow{ID: fmt.Sprintf("ev-%d", i), Timestamp: ts, Severity: []string{"INFO", "ERROR"}[i%2]})
		socEvents = append(socEvents, SocotraEventRow{Locator: fmt.Sprintf("soc-%d", i), Timestamp: ts, Type: "policy.quote.issue"})
	}
	for _, err := range []error{
		func() error { _, err := s.WriteTasks(ctx, tasks, nil); return err }(),
		func() error { _, err := s.WriteActions(ctx, actions, nil); return err }(),
		func() error { _, err := s.WriteEvents(ctx, events, nil); return err }(),
		func() error { _, err := s.WriteSocotraEvents(ctx, socEvents, nil); return err }(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Cut just after job 7,000 (one a minute).
	cutoff := time.UnixMilli(base + 7000*60_000 + 30_000)
	wantJobs := 7000
	wantOld := 59 // the cutoff is at 116.7 h: rows 0..58 (every 2 h) are older

	dry, err := s.Prune(ctx, cutoff, true)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(map[string]int{"jobs": wantJobs, "tasks": wantOld, "actions": wantOld, "events": wantOld, "socotra_events": wantOld})
	if fmt.Sprint(dry) != want {
		t.Fatalf("dry run: %v, want %s", dry, want)
	}
	if tableCount(t, s, "jobs") != n+1 {
		t.Fatal("a dry run deleted rows")
	}

	got, err := s.Prune(ctx, cutoff, false)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != want {
		t.Fatalf("prune: %v, want %s", got, want)
	}
	if c := tableCount(t, s, "jobs"); c != n+1-wantJobs {
		t.Fatalf("jobs left %d, want %d", c, n+1-wantJobs)
	}
	for table, col := range map[string]string{"jobs": "state", "tasks": "state", "actions": "state", "events": "severity", "socotra_events": "type_prefix"} {
		if c := tableCount(t, s, table); table != "jobs" && c != 100-wantOld {
			t.Errorf("%s left %d, want %d", table, c, 100-wantOld)
		}
		countsMatch(t, s, table, col)
		var old int
		timeCol := map[string]string{"jobs": "created_at", "tasks": "t_created_at", "actions": "started_at", "events": "timestamp", "socotra_events": "timestamp"}[table]
		s.r.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s > 0 AND %s < ?", table, timeCol, timeCol), cutoff.UnixMilli()).Scan(&old)
		if old != 0 {
			t.Errorf("%s: %d old rows survived", table, old)
		}
	}
	// The trigram index still matches its table exactly (rank 1: compare
	// with the external content too), and free-text search finds only
	// what is left.
	if _, err := s.w.ExecContext(ctx, `INSERT INTO jobs_fts (jobs_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Fatalf("text index out of step after prune: %v", err)
	}
	if _, err := s.Job(ctx, unset.JobID); err != nil {
		t.Fatalf("a job with no created_at was pruned: %v", err)
	}
	// Pruning again finds nothing; the freed pages are reported.
	again, err := s.Prune(ctx, cutoff, false)
	if err != nil || fmt.Sprint(again) != fmt.Sprint(map[string]int{"actions": 0, "events": 0, "jobs": 0, "socotra_events": 0, "tasks": 0}) {
		t.Fatalf("second prune: %v %v", again, err)
	}
	free, err := s.FreeBytes(ctx)
	if err != nil || free <= 0 {
		t.Fatalf("free bytes after deleting 7,000 jobs: %d %v", free, err)
	}
	if err := s.Vacuum(ctx); err != nil {
		t.Fatal(err)
	}
	if free, _ := s.FreeBytes(ctx); free != 0 {
		t.Fatalf("free bytes after VACUUM: %d", free)
	}
	countsMatch(t, s, "jobs", "state")
}

func TestPruneReadOnly(t *testing.T) {
	s := openTest(t)
	path := s.Path()
	if _, err := s.WriteJobs(ctx, []JobRow{newGen(1).job(1, false)}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Prune(ctx, time.Now(), false); err != ErrReadOnly {
		t.Fatalf("read-only prune: %v", err)
	}
	got, err := ro.Prune(ctx, time.Now(), true)
	if err != nil || got["jobs"] != 1 {
		t.Fatalf("read-only dry run: %v %v", got, err)
	}
}
