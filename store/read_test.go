package store

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opsdeck/opsdeck/store/filter"
)

func mustParse(t testing.TB, src string) filter.Node {
	t.Helper()
	n, err := filter.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// tiedJobs writes n jobs where created_at only advances every 7 rows, so
// every page boundary falls inside a run of ties.
func tiedJobs(t *testing.T, s *Store, n int) []JobRow {
	t.Helper()
	g := newGen(11)
	rows := make([]JobRow, n)
	for i := range rows {
		step := int64(0)
		if i%7 == 0 {
			step = 1000
		}
		rows[i] = g.job(step, i%3 == 0)
	}
	// Write out of created_at order so rowid order differs from time order.
	slices.Reverse(rows[n/2:])
	for i := 0; i < n; i += 64 {
		if _, err := s.WriteJobs(ctx, rows[i:min(i+64, n)], nil); err != nil {
			t.Fatal(err)
		}
	}
	// Fetch them back for their rowids.
	out := make([]JobRow, n)
	for i, r := range rows {
		var err error
		if out[i], err = s.Job(ctx, r.JobID); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// bruteForce is what a page walk must return: the matching rows sorted by
// (sort field, rowid) in the query's direction.
func bruteForce(t *testing.T, rows []JobRow, q Query) []string {
	t.Helper()
	pred := func(func(string) (any, bool)) bool { return true }
	if q.Where != nil {
		var err error
		if pred, err = filter.Predicate(q.Where, filter.Jobs); err != nil {
			t.Fatal(err)
		}
	}
	var keep []JobRow
	for _, r := range rows {
		if pred(r.Field) {
			keep = append(keep, r)
		}
	}
	sortName := cmp.Or(q.Sort, "created_at")
	slices.SortFunc(keep, func(a, b JobRow) int {
		va, _ := a.Field(sortName)
		vb, _ := b.Field(sortName)
		c := compareAny(va, vb)
		if c == 0 {
			c = cmp.Compare(a.RowID, b.RowID)
		}
		if q.Desc {
			c = -c
		}
		return c
	})
	ids := make([]string, len(keep))
	for i, r := range keep {
		ids[i] = r.JobID
	}
	return ids
}

func compareAny(a, b any) int {
	switch a := a.(type) {
	case string:
		return strings.Compare(a, b.(string))
	case int64:
		return cmp.Compare(a, b.(int64))
	case bool:
		return cmp.Compare(b2i(a), b2i(b.(bool)))
	}
	panic(fmt.Sprintf("compareAny(%T)", a))
}

func ids(rows []JobRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.JobID
	}
	return out
}

// TestKeysetPaging walks every query forward and backward in several page
// sizes and compares with a brute-force sort: each row exactly once, in
// order, across runs of identical sort values.
func TestKeysetPaging(t *testing.T) {
	s := openTest(t)
	rows := tiedJobs(t, s, 200)
	queries := []Query{
		{Desc: true},
		{},
		{Where: mustParse(t, `state eq "ERRORED"`), Desc: true},
		{Where: mustParse(t, `state eq "completed" and identity_name co "smith"`)},
		{Sort: "identity_name"},
		{Sort: "any_changes", Desc: true, Where: mustParse(t, `not (state eq "COMPLETED")`)},
		{Sort: "job_id", Where: mustParse(t, `state eq "BLOCKED"`)},
	}
	for _, q := range queries {
		want := bruteForce(t, rows, q)
		for _, size := range []int{3, 7, 50, 1000} {
			name := fmt.Sprintf("%v/sort=%s/desc=%v/size=%d", q.Where, q.Sort, q.Desc, size)
			t.Run(name, func(t *testing.T) {
				// Forward from the start.
				var got []string
				var after *Key
				for pages := 0; ; pages++ {
					page, err := s.Jobs(ctx, q, after, false, size)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, ids(page)...)
					if len(page) < size {
						break
					}
					k := JobKey(q, page[len(page)-1])
					after = &k
					if pages > len(rows)+1 {
						t.Fatal("paging does not end")
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("forward walk: %d rows, want %d\n got %v\nwant %v", len(got), len(want), head(got), head(want))
				}
				// Backward from the end: pages come in q's order, we
				// prepend them.
				got = nil
				var before *Key
				for {
					page, err := s.Jobs(ctx, q, before, true, size)
					if err != nil {
						t.Fatal(err)
					}
					got = append(ids(page), got...)
					if len(page) < size {
						break
					}
					k := JobKey(q, page[0])
					before = &k
				}
				if !slices.Equal(got, want) {
					t.Fatalf("backward walk: %d rows, want %d\n got %v\nwant %v", len(got), len(want), head(got), head(want))
				}
			})
		}
		// From the middle, one page each way.
		if len(want) > 20 {
			mid, err := s.Job(ctx, want[10])
			if err != nil {
				t.Fatal(err)
			}
			k := JobKey(q, mid)
			next, _ := s.Jobs(ctx, q, &k, false, 5)
			prev, _ := s.Jobs(ctx, q, &k, true, 5)
			if !slices.Equal(ids(next), want[11:16]) || !slices.Equal(ids(prev), want[5:10]) {
				t.Errorf("%v: around row 10: prev %v next %v", q, ids(prev), ids(next))
			}
		}
	}
}

func head(s []string) []string { return s[:min(len(s), 8)] }

func TestListRowsOmitPayloads(t *testing.T) {
	s := openTest(t)
	if _, err := s.WriteJobs(ctx, newGen(1).jobs(5, 1, true), nil); err != nil {
		t.Fatal(err)
	}
	page, err := s.Jobs(ctx, Query{Desc: true}, nil, false, 10)
	if err != nil || len(page) != 5 {
		t.Fatalf("%d rows, %v", len(page), err)
	}
	for _, r := range page {
		if r.Request != nil || r.Result != nil || r.Raw != nil || r.RowID == 0 || r.JobID == "" || r.CreatedAt == 0 {
			t.Errorf("list row: rowid %d request %d result %d raw %d", r.RowID, len(r.Request), len(r.Result), len(r.Raw))
		}
	}
	full, err := s.Job(ctx, page[0].JobID)
	if err != nil || full.Request == nil || full.Raw == nil {
		t.Errorf("detail row lacks payloads: %v", err)
	}
	if _, err := s.Job(ctx, "no-such-job"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing job: %v", err)
	}
}

func TestBadQueries(t *testing.T) {
	s := openTest(t)
	for _, q := range []Query{
		{Sort: "request"},       // a column, but not a field
		{Sort: "no_such_field"}, // nothing
		{Where: mustParse(t, `bogus eq "x"`)},
		{Where: mustParse(t, `state co "ERR"`)}, // operator the field does not allow
	} {
		if _, err := s.Jobs(ctx, q, nil, false, 10); err == nil {
			t.Errorf("%+v: no error", q)
		}
	}
	if _, err := s.Count(ctx, "users", nil); err == nil {
		t.Error("Count of an unknown entity")
	}
	if _, err := s.StateCounts(ctx, "users"); err == nil {
		t.Error("StateCounts of an unknown entity")
	}
	// A field name in another letter case is the same field.
	if _, err := s.Jobs(ctx, Query{Sort: "Created_At"}, nil, false, 1); err != nil {
		t.Error(err)
	}
}

func TestCount(t *testing.T) {
	s := openTest(t)
	rows := tiedJobs(t, s, 120)
	for _, src := range []string{``, `state eq "ERRORED"`, `state eq "errored"`, `state eq "BLOCKED"`, `state eq "ERRORED" or state eq "running" or state eq "ERRORED"`, `state eq "ERRORED" or any_changes eq true`, `identity_name sw "ada" or any_changes eq true`, `not (state eq "COMPLETED")`} {
		var where filter.Node
		if src != "" {
			where = mustParse(t, src)
		}
		n, err := s.Count(ctx, EntityJobs, where)
		if want := len(bruteForce(t, rows, Query{Where: where})); err != nil || n != want {
			t.Errorf("Count(%s) = %d, %v; want %d", src, n, err, want)
		}
	}
}

// TestQueryPlans: the default job queries must walk an index in order and
// never sort (a temp b-tree would read every matching row per page).
func TestQueryPlans(t *testing.T) {
	s := openTest(t)
	errored := mustParse(t, `state eq "ERRORED"`)
	key := &Key{Sort: int64(1_750_000_000_000), RowID: 1234}
	cases := []struct {
		q     Query
		index string
	}{
		{Query{Desc: true}, "jobs_created"},
		{Query{Desc: true, Where: errored}, "jobs_state_created"},
		{Query{Where: errored}, "jobs_state_created"},
	}
	for _, c := range cases {
		for _, after := range []*Key{nil, key} {
			for _, backward := range []bool{false, true} {
				q, args, err := jobsEntity.pageSQL(c.q, after, backward, 50)
				if err != nil {
					t.Fatal(err)
				}
				plan := explain(t, s, q, args)
				if !strings.Contains(plan, "USING INDEX "+c.index) || strings.Contains(plan, "TEMP B-TREE") {
					t.Errorf("%v after=%v backward=%v:\n%s\nplan: %s", c.q.Where, after != nil, backward, q, plan)
				}
			}
		}
	}
	// Jobs of an action and actions of a task are index lookups too.
	for _, c := range []struct {
		e     *entity
		where string
		index string
	}{
		{jobsEntity, `policy_task eq "t" and action_name eq "a"`, "jobs_task"},
		{actionsEntity, `policy_task eq "t"`, "actions_key"},
		{tasksEntity, `state eq "ERRORED"`, "tasks_state_started"},
	} {
		q, args, err := c.e.pageSQL(Query{Where: mustParse(t, c.where), Desc: true}, nil, false, 50)
		if err != nil {
			t.Fatal(err)
		}
		if plan := explain(t, s, q, args); !strings.Contains(plan, c.index) {
			t.Errorf("%s %s: plan %s", c.e.table, c.where, plan)
		}
	}
}

func explain(t *testing.T, s *Store, q string, args []any) string {
	t.Helper()
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "; ")
}

func TestOpenReadOnly(t *testing.T) {
	s := openTest(t)
	path := s.Path()
	rows := newGen(3).jobs(30, 100, true)
	if _, err := s.WriteJobs(ctx, rows, &Cursor{"veza/jobs", "c"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, _ := os.ReadFile(path)

	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	page, err := ro.Jobs(ctx, Query{Desc: true}, nil, false, 100)
	if err != nil || len(page) != 30 {
		t.Errorf("%d rows, %v", len(page), err)
	}
	if j, err := ro.Job(ctx, rows[0].JobID); err != nil || j.Request == nil {
		t.Errorf("detail: %v", err)
	}
	if v, ok, err := ro.GetCursor(ctx, "veza/jobs"); v != "c" || !ok || err != nil {
		t.Errorf("cursor %q %v %v", v, ok, err)
	}
	if !ro.ReadOnly() {
		t.Error("ReadOnly() = false")
	}
	ro.Close()
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a read-only session changed the file")
	}
	if _, err := OpenReadOnly(path + ".missing"); err == nil {
		t.Error("OpenReadOnly of a missing file")
	}
}

// TestConcurrentReadsDuringWrites runs page reads and counts while a writer
// commits pages (run with -race): WAL readers never wait for the writer and
// never see an error.
func TestConcurrentReadsDuringWrites(t *testing.T) {
	s := openTest(t)
	g := newGen(12)
	batches := make([][]JobRow, 30)
	for i := range batches {
		batches[i] = g.jobs(50, 10, i%2 == 0)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 8)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i, b := range batches {
			if _, err := s.WriteJobs(ctx, b, &Cursor{"veza/jobs", fmt.Sprint(i)}); err != nil {
				errs <- err
				return
			}
		}
	}()
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := Query{Desc: true, Where: mustParse(t, `state eq "ERRORED" or state eq "RUNNING"`)}
			for {
				select {
				case <-done:
					return
				default:
				}
				page, err := s.Jobs(ctx, q, nil, false, 20)
				if err == nil && len(page) > 0 {
					k := JobKey(q, page[len(page)-1])
					_, err = s.Jobs(ctx, q, &k, false, 20)
				}
				if err == nil {
					_, err = s.StateCounts(ctx, EntityJobs)
				}
				if err == nil {
					_, err = s.Count(ctx, EntityJobs, q.Where)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, _ := s.Count(ctx, EntityJobs, nil); n != 30*50 {
		t.Errorf("Count = %d", n)
	}
	checkCounts(t, s, EntityJobs)
}
