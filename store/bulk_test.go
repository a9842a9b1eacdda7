package store

import (
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func hasIndex(t *testing.T, s *Store, name string) bool {
	t.Helper()
	var n int
	if err := s.r.QueryRow("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func stateCountsOK(t *testing.T, s *Store) {
	t.Helper()
	got, err := s.StateCounts(ctx, EntityJobs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.countsByState(ctx, "SELECT state, count(*) FROM jobs GROUP BY state")
	if err != nil {
		t.Fatal(err)
	}
	for st, n := range want {
		if got[st] != n {
			t.Fatalf("state %s: counter %d, table %d (counters %v)", st, got[st], n, got)
		}
	}
	for st, n := range got {
		if n != want[st] {
			t.Fatalf("state %s: counter %d, table %d", st, n, want[st])
		}
	}
}

// TestBulkLoad: a first sync of an empty table loads without the random
// indexes, the head's copies and a page sent twice end up stored once (the
// last copy), reads work throughout, and the end leaves the same cache an
// ordinary sync would: indexes, counters, free-text index.
func TestBulkLoad(t *testing.T) {
	s := openTest(t)
	g := newGen(7)
	var all []JobRow
	for range 1000 {
		all = append(all, g.job(1000, true))
	}
	on, err := s.BeginBulkJobs(ctx)
	if err != nil || !on {
		t.Fatalf("begin on an empty table: %v %v", on, err)
	}
	if hasIndex(t, s, "jobs_job_id") || hasIndex(t, s, "jobs_task") {
		t.Fatal("random-key indexes still there during the load")
	}
	// The head: the newest 50, without a cursor, one of them in a state
	// that the pass will see changed.
	head := append([]JobRow(nil), all[950:]...)
	head[10].State = "RUNNING"
	if _, err := s.WriteJobs(ctx, head, nil); err != nil {
		t.Fatal(err)
	}
	// The pass, oldest first, in pages of 100; page 3 is sent twice with
	// a change the second time (a retried request after a state change).
	for p := 0; p < 10; p++ {
		page := all[p*100 : (p+1)*100]
		cur := &Cursor{Source: "veza/jobs", Value: strconv.Itoa(p)}
		if p == 3 {
			first := append([]JobRow(nil), page...)
			first[5].State = "PENDING"
			if _, err := s.WriteJobs(ctx, first, cur); err != nil {
				t.Fatal(err)
			}
		}
		st, err := s.WriteJobs(ctx, page, cur)
		if err != nil {
			t.Fatal(err)
		}
		if p == 9 && (st.Inserted != 50 || st.Updated != 50) {
			t.Fatalf("last page (the head's 50 again): %+v, want 50 inserted, 50 updated", st)
		}
		// Reads by id work mid-load (a scan, not a seek).
		if got, err := s.Job(ctx, page[0].JobID); err != nil || got.JobID != page[0].JobID {
			t.Fatalf("job by id during the load: %v", err)
		}
		// A list's row opens by rowid (a seek); a wrong rowid falls back.
		listed, err := s.Jobs(ctx, Query{Desc: true}, nil, false, 1)
		if err != nil || len(listed) != 1 {
			t.Fatal(err)
		}
		if got, err := s.JobAt(ctx, listed[0].RowID, listed[0].JobID); err != nil || got.JobID != listed[0].JobID || got.Request == nil {
			t.Fatalf("job at its rowid during the load: %+v %v", got.JobID, err)
		}
		if got, err := s.JobAt(ctx, listed[0].RowID+100000, listed[0].JobID); err != nil || got.JobID != listed[0].JobID {
			t.Fatalf("job at a stale rowid: %v", err)
		}
	}
	if on, _ := s.JobsBulk(ctx); !on {
		t.Fatal("bulk mode ended early")
	}
	var plan string
	var id, parent, notused int
	if err := s.r.QueryRow("EXPLAIN QUERY PLAN "+jobAtSQL, 1, "x").Scan(&id, &parent, &notused, &plan); err != nil || !strings.Contains(plan, "INTEGER PRIMARY KEY") {
		t.Fatalf("JobAt during the load: plan %q %v", plan, err)
	}
	removed, err := s.EndBulkJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if removed != 100 {
		t.Fatalf("removed %d duplicates, want the 100 of the page sent twice", removed)
	}
	if !hasIndex(t, s, "jobs_job_id") || !hasIndex(t, s, "jobs_task") {
		t.Fatal("indexes not rebuilt")
	}
	if on, _ := s.JobsBulk(ctx); on {
		t.Fatal("still in bulk mode")
	}
	var n, distinct int
	if err := s.r.QueryRow("SELECT count(*), count(DISTINCT job_id) FROM jobs").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != 1000 || distinct != 1000 {
		t.Fatalf("%d rows, %d distinct, want 1000", n, distinct)
	}
	// The last copy won: the pass's states, not the head's or the first
	// send's.
	for _, i := range []int{960, 305} {
		got, err := s.Job(ctx, all[i].JobID)
		if err != nil || got.State != all[i].State {
			t.Fatalf("job %d: state %q, want %q (%v)", i, got.State, all[i].State, err)
		}
	}
	stateCountsOK(t, s)
	// Free text: indexed at the end, and exact.
	if s.text.backlog.Load() != 0 {
		t.Fatalf("backlog %d after the load", s.text.backlog.Load())
	}
	for _, text := range []string{"Smith", "ace Hop", "zzz-none"} {
		idx, err := s.CountQuery(ctx, EntityJobs, Query{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		var like int
		if err := s.r.QueryRow("SELECT count(*) FROM jobs WHERE identity_name LIKE ?1 OR action_name LIKE ?1 OR workflow_name LIKE ?1 OR error_message LIKE ?1",
			"%"+text+"%").Scan(&like); err != nil {
			t.Fatal(err)
		}
		if idx != like {
			t.Fatalf("free text %q: %d through the index, %d by LIKE", text, idx, like)
		}
	}
	// Back to upserts: a re-write of the same rows changes nothing.
	st, err := s.WriteJobs(ctx, all[:100], nil)
	if err != nil || st.Unchanged != 100 {
		t.Fatalf("re-write after the load: %+v %v", st, err)
	}
}

// TestBulkOnlyWhenEmpty: a table with rows is never put in bulk mode.
func TestBulkOnlyWhenEmpty(t *testing.T) {
	s := openTest(t)
	g := newGen(1)
	if _, err := s.WriteJobs(ctx, []JobRow{g.job(1, false)}, nil); err != nil {
		t.Fatal(err)
	}
	on, err := s.BeginBulkJobs(ctx)
	if err != nil || on {
		t.Fatalf("begin on a table with rows: %v %v", on, err)
	}
	if !hasIndex(t, s, "jobs_job_id") {
		t.Fatal("index dropped")
	}
	if _, err := s.EndBulkJobs(ctx); err != nil { // a no-op
		t.Fatal(err)
	}
}

// TestBulkStaleEndedAtOpen: a load whose sync was killed and never run
// again is ended by the next writer that opens the cache; a recent one is
// left to its sync.
func TestBulkStaleEndedAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	g := newGen(3)
	rows := []JobRow{g.job(1, true), g.job(1, true)}
	if on, err := s.BeginBulkJobs(ctx); err != nil || !on {
		t.Fatal(on, err)
	}
	if _, err := s.WriteJobs(ctx, rows, &Cursor{Source: "veza/jobs", Value: "x"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path) // the heartbeat is fresh: still loading
	if err != nil {
		t.Fatal(err)
	}
	if on, _ := s.JobsBulk(ctx); !on {
		t.Fatal("a fresh load was ended")
	}
	old := strconv.FormatInt(time.Now().Add(-bulkStale-time.Minute).UnixMilli(), 10)
	if _, err := s.w.Exec("UPDATE meta SET value = ? WHERE key = ?", old, metaBulkJobs); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if on, _ := s.JobsBulk(ctx); on {
		t.Fatal("a stale load was not ended at Open")
	}
	if !hasIndex(t, s, "jobs_job_id") {
		t.Fatal("no index")
	}
	var v string
	if err := s.r.QueryRow("SELECT value FROM meta WHERE key = ?", metaBulkJobs).Scan(&v); err != sql.ErrNoRows {
		t.Fatalf("heartbeat left behind: %q %v", v, err)
	}
	stateCountsOK(t, s)
}

// TestPreparedRowsStoreTheSame: a row prepared ahead (JobRow.Prepare, as
// the sync does on its fetch goroutine) is stored exactly as the same row
// written unprepared, with the payloads inside Raw or beside it.
func TestPreparedRowsStoreTheSame(t *testing.T) {
	g := newGen(11)
	var rows []JobRow
	for range 60 {
		r := g.job(5, true)
		if len(rows)%2 == 0 { // the list's shape: payloads inside raw
			r.Raw = []byte(`{"job_id":"` + r.JobID + `","request":` + string(r.Request) + `,"extra":1,"result":` + string(r.Result) + `}`)
			r.Request, r.Result = nil, nil
		}
		rows = append(rows, r)
	}
	dump := func(prepare bool) []string {
		s := openTest(t)
		in := append([]JobRow(nil), rows...)
		if prepare {
			for i := range in {
				in[i].Prepare()
			}
		}
		if _, err := s.WriteJobs(ctx, in, nil); err != nil {
			t.Fatal(err)
		}
		q, err := s.r.Query("SELECT job_id || '|' || error_message || '|' || error_signature || '|' || coalesce(request, '-') || '|' || coalesce(result, '-') || '|' || raw FROM jobs ORDER BY job_id")
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		var out []string
		for q.Next() {
			var v string
			q.Scan(&v)
			out = append(out, v)
		}
		return out
	}
	plain, prepared := dump(false), dump(true)
	if len(plain) != len(rows) {
		t.Fatalf("%d rows stored", len(plain))
	}
	for i := range plain {
		if plain[i] != prepared[i] {
			t.Fatalf("row %d differs:\n plain    %.300s\n prepared %.300s", i, plain[i], prepared[i])
		}
		if strings.Contains(plain[i], "|-|") {
			t.Fatalf("payload lost: %.200s", plain[i])
		}
	}
}

// TestBulkTasksAndActions: the first sync of tasks and actions loads the
// same way: no unique index while loading, a page sent twice stored once
// (its last copy), counters recounted, upserts again afterwards.
func TestBulkTasksAndActions(t *testing.T) {
	s := openTest(t)
	g := newGen(5)
	var tasks []TaskRow
	var acts []ActionRow
	for range 300 {
		tasks = append(tasks, g.task(10))
		acts = append(acts, g.action(10))
	}
	for _, table := range []string{"tasks", "actions"} {
		if on, err := s.BeginBulk(ctx, table); err != nil || !on {
			t.Fatalf("%s: begin %v %v", table, on, err)
		}
	}
	if hasIndex(t, s, "tasks_id") || hasIndex(t, s, "actions_key") {
		t.Fatal("unique indexes kept during the load")
	}
	for p := 0; p < 3; p++ {
		cur := &Cursor{Source: "x", Value: strconv.Itoa(p)}
		tp, ap := tasks[p*100:(p+1)*100], acts[p*100:(p+1)*100]
		if p == 1 { // sent twice, first with other states
			t1, a1 := append([]TaskRow(nil), tp...), append([]ActionRow(nil), ap...)
			t1[0].State, a1[0].State = "RUNNING", "RUNNING"
			if _, err := s.WriteTasks(ctx, t1, cur); err != nil {
				t.Fatal(err)
			}
			if _, err := s.WriteActions(ctx, a1, cur); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.WriteTasks(ctx, tp, cur); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WriteActions(ctx, ap, cur); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range []string{"tasks", "actions"} {
		removed, err := s.EndBulk(ctx, table)
		if err != nil || removed != 100 {
			t.Fatalf("%s: end removed %d, %v; want the 100 of the page sent twice", table, removed, err)
		}
		n, err := s.Count(ctx, table, nil)
		if err != nil || n != 300 {
			t.Fatalf("%s: %d rows, %v", table, n, err)
		}
		got, _ := s.StateCounts(ctx, table)
		want, _ := s.countsByState(ctx, "SELECT state, count(*) FROM "+table+" GROUP BY state")
		for st, n := range want {
			if got[st] != n {
				t.Fatalf("%s %s: counter %d, table %d", table, st, got[st], n)
			}
		}
	}
	if !hasIndex(t, s, "tasks_id") || !hasIndex(t, s, "actions_key") {
		t.Fatal("unique indexes not rebuilt")
	}
	if got, err := s.Task(ctx, tasks[100].ID); err != nil || got.State != tasks[100].State {
		t.Fatalf("task sent twice: %q, want the last copy's %q (%v)", got.State, tasks[100].State, err)
	}
	if got, err := s.Action(ctx, acts[100].PolicyTask, acts[100].ActionName); err != nil || got.State != acts[100].State {
		t.Fatalf("action sent twice: %q, want the last copy's %q (%v)", got.State, acts[100].State, err)
	}
	st, err := s.WriteTasks(ctx, tasks[:50], nil)
	if err != nil || st.Unchanged != 50 {
		t.Fatalf("tasks re-written after the load: %+v %v", st, err)
	}
	st, err = s.WriteActions(ctx, acts[:50], nil)
	if err != nil || st.Unchanged != 50 {
		t.Fatalf("actions re-written after the load: %+v %v", st, err)
	}
}

// TestBulkAfterPruneToEmpty: a jobs table emptied by prune (its text index
// mark left high) loads in bulk mode and every new job is searchable.
func TestBulkAfterPruneToEmpty(t *testing.T) {
	s := openTest(t)
	g := newGen(9)
	var old []JobRow
	for range 300 {
		old = append(old, g.job(1000, false))
	}
	if _, err := s.WriteJobs(ctx, old, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.FlushTextIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec("UPDATE jobs SET created_at = 1"); err != nil { // all old
		t.Fatal(err)
	}
	if _, err := s.Prune(ctx, time.UnixMilli(1000), false); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, EntityJobs, nil); n != 0 {
		t.Fatalf("%d jobs left after prune", n)
	}
	if on, err := s.BeginBulkJobs(ctx); err != nil || !on {
		t.Fatal(on, err)
	}
	fresh := []JobRow{g.job(1, false), g.job(1, false)}
	fresh[0].IdentityName, fresh[1].IdentityName = "Zebulon Quartz", "Zebulon Quartz"
	if _, err := s.WriteJobs(ctx, fresh, &Cursor{Source: "veza/jobs", Value: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndBulkJobs(ctx); err != nil {
		t.Fatal(err)
	}
	var indexed int
	s.r.QueryRow("SELECT count(*) FROM jobs_fts WHERE jobs_fts MATCH ?", ftsTrigrams("zebulon")).Scan(&indexed)
	if n, err := s.CountQuery(ctx, EntityJobs, Query{Text: "Zebulon"}); err != nil || n != 2 || indexed != 2 {
		t.Fatalf("after a load into a pruned table: %d matches, %d in the index (%v); want 2", n, indexed, err)
	}
}
