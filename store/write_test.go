package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
)

// groupCounts recounts states the slow way, to check the counters.
func groupCounts(t *testing.T, s *Store, table string) map[string]int {
	t.Helper()
	rows, err := s.r.Query("SELECT state, count(*) FROM " + table + " GROUP BY state")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		rows.Scan(&st, &n)
		m[st] = n
	}
	return m
}

func checkCounts(t *testing.T, s *Store, entity string) {
	t.Helper()
	got, err := s.StateCounts(ctx, entity)
	if err != nil {
		t.Fatal(err)
	}
	if want := groupCounts(t, s, entity); !equalCounts(got, want) {
		t.Errorf("%s state counts = %v, GROUP BY says %v", entity, got, want)
	}
}

func TestUpsertStats(t *testing.T) {
	s := openTest(t)
	rows := newGen(2).jobs(50, 1000, true)
	st, err := s.WriteJobs(ctx, rows, nil)
	if err != nil || st != (WriteStats{Inserted: 50}) {
		t.Fatalf("first write: %+v %v", st, err)
	}
	st, err = s.WriteJobs(ctx, rows, nil)
	if err != nil || st != (WriteStats{Unchanged: 50}) {
		t.Fatalf("identical re-write: %+v %v", st, err)
	}
	// Change 3 rows in different columns, add 2 new ones.
	changed := append([]JobRow{}, rows...)
	changed[0].State = "ERRORED"
	if rows[0].State == "ERRORED" {
		changed[0].State = "COMPLETED"
	}
	changed[1].CompletedAt++
	changed[2].IdentityName = "Someone Else"
	changed = append(changed, newGen(3).jobs(2, 1000, true)...)
	st, err = s.WriteJobs(ctx, changed, nil)
	if err != nil || st != (WriteStats{Inserted: 2, Updated: 3, Unchanged: 47}) {
		t.Fatalf("mixed write: %+v %v", st, err)
	}
	got, err := s.Job(ctx, rows[2].JobID)
	if err != nil || got.IdentityName != "Someone Else" {
		t.Errorf("update not stored: %q %v", got.IdentityName, err)
	}
	if n, _ := s.Count(ctx, EntityJobs, nil); n != 52 {
		t.Errorf("Count = %d, want 52", n)
	}
	checkCounts(t, s, EntityJobs)
	// The same key twice in one batch: one insert, then an update of it.
	dup := newGen(4).job(1, false)
	dup2 := dup
	dup2.State = "ABANDONED"
	st, err = s.WriteJobs(ctx, []JobRow{dup, dup2}, nil)
	if err != nil || st != (WriteStats{Inserted: 1, Updated: 1}) {
		t.Errorf("duplicate in batch: %+v %v", st, err)
	}
	checkCounts(t, s, EntityJobs)
}

// TestListWriteKeepsPayloads: the list without details (no request/result)
// must neither erase stored payloads nor count as a change.
func TestListWriteKeepsPayloads(t *testing.T) {
	s := openTest(t)
	g := newGen(5)
	var job JobRow
	for job.State != "ERRORED" {
		job = g.job(10, true)
	}
	if _, err := s.WriteJobs(ctx, []JobRow{job}, nil); err != nil {
		t.Fatal(err)
	}
	full, err := s.Job(ctx, job.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(full.Request, job.Request) || !bytes.Equal(full.Result, job.Result) {
		t.Fatalf("payloads not stored:\n%s\n%s", full.Request, full.Result)
	}
	if !strings.HasPrefix(full.ErrorMessage, "okta: 429") {
		t.Errorf("error_message = %q, want the first of result.error_messages", full.ErrorMessage)
	}
	if bytes.Contains(full.Raw, []byte(`"request"`)) || bytes.Contains(full.Raw, []byte(`"result"`)) {
		t.Errorf("raw still holds the payloads: %s", full.Raw)
	}
	if !bytes.Contains(full.Raw, []byte(job.JobID)) {
		t.Errorf("raw lost its other members: %s", full.Raw)
	}

	list := job
	list.Request, list.Result = nil, nil
	list.Raw = rawJob(list)
	st, err := s.WriteJobs(ctx, []JobRow{list}, nil)
	if err != nil || st != (WriteStats{Unchanged: 1}) {
		t.Errorf("list-only re-sync of an unchanged job: %+v %v", st, err)
	}
	// A state change seen in a list: updated, payloads and message kept.
	list.State = "RUNNING"
	list.Raw = rawJob(list)
	st, err = s.WriteJobs(ctx, []JobRow{list}, nil)
	if err != nil || st != (WriteStats{Updated: 1}) {
		t.Errorf("list-only state change: %+v %v", st, err)
	}
	got, err := s.Job(ctx, job.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "RUNNING" || !bytes.Equal(got.Request, job.Request) || !bytes.Equal(got.Result, job.Result) || got.ErrorMessage != full.ErrorMessage {
		t.Errorf("after list write: state %s, request %d B, result %d B, message %q", got.State, len(got.Request), len(got.Result), got.ErrorMessage)
	}
	// New payloads do replace old ones.
	job.State = "COMPLETED"
	job.Result = []byte(`{"output_entities":[],"error_messages":[],"any_changes":true,"any_created":false}`)
	job.Raw = rawJob(job)
	if _, err := s.WriteJobs(ctx, []JobRow{job}, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Job(ctx, job.JobID)
	if !bytes.Equal(got.Result, job.Result) || got.ErrorMessage != "" {
		t.Errorf("new result not stored: %s, message %q", got.Result, got.ErrorMessage)
	}
}

// TestStateCountsFollowChanges walks jobs through state changes, with and
// without payloads, and checks the counters against GROUP BY each time.
func TestStateCountsFollowChanges(t *testing.T) {
	s := openTest(t)
	g := newGen(6)
	rows := g.jobs(200, 7, false)
	for i := range rows {
		rows[i].State = "RUNNING"
	}
	if _, err := s.WriteJobs(ctx, rows, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.StateCounts(ctx, EntityJobs); !equalCounts(got, map[string]int{"RUNNING": 200}) {
		t.Fatalf("counts = %v", got)
	}
	for i := 0; i < 50; i++ {
		rows[i].State = "ERRORED"
	}
	if _, err := s.WriteJobs(ctx, rows[:60], nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"RUNNING": 150, "ERRORED": 50}
	if got, _ := s.StateCounts(ctx, EntityJobs); !equalCounts(got, want) {
		t.Fatalf("after RUNNING->ERRORED: %v, want %v", got, want)
	}
	if n, _ := s.Count(ctx, EntityJobs, mustParse(t, `state eq "ERRORED"`)); n != 50 {
		t.Errorf("Count ERRORED = %d", n)
	}
	// Random churn.
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		batch := make([]JobRow, 0, 30)
		for j := 0; j < 30; j++ {
			r := rows[rng.IntN(len(rows))]
			r.State = testStates[rng.IntN(len(testStates))]
			batch = append(batch, r)
		}
		if _, err := s.WriteJobs(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	checkCounts(t, s, EntityJobs)
}

// cancelAfter is a context that reports cancellation after n checks, to
// fail a write in the middle of its transaction.
type cancelAfter struct {
	context.Context
	n atomic.Int64
}

func (c *cancelAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestFailedWriteLeavesNothing: rows and cursor are committed together or
// not at all.
func TestFailedWriteLeavesNothing(t *testing.T) {
	s := openTest(t)
	g := newGen(8)
	first := g.jobs(20, 10, true)
	if _, err := s.WriteJobs(ctx, first, &Cursor{"veza/jobs", "page-1"}); err != nil {
		t.Fatal(err)
	}
	countsBefore, _ := s.StateCounts(ctx, EntityJobs)
	next := g.jobs(20, 10, true)
	changed := first[0]
	changed.State = "ABANDONED"
	next = append(next, changed) // an update that must be rolled back too

	check := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("write succeeded")
		}
		if v, _, _ := s.GetCursor(ctx, "veza/jobs"); v != "page-1" {
			t.Errorf("cursor = %q, want page-1", v)
		}
		if n, _ := s.Count(ctx, EntityJobs, nil); n != 20 {
			t.Errorf("Count = %d, want 20", n)
		}
		if j, _ := s.Job(ctx, first[0].JobID); j.State != first[0].State {
			t.Errorf("update survived: %s", j.State)
		}
		if _, err := s.Job(ctx, next[0].JobID); !errors.Is(err, ErrNotFound) {
			t.Errorf("row of the failed page: %v", err)
		}
		if got, _ := s.StateCounts(ctx, EntityJobs); !equalCounts(got, countsBefore) {
			t.Errorf("counts = %v, want %v", got, countsBefore)
		}
		checkCounts(t, s, EntityJobs)
	}

	t.Run("cancelled before", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.WriteJobs(c, next, &Cursor{"veza/jobs", "page-2"})
		check(t, err)
	})
	t.Run("cancelled mid-transaction", func(t *testing.T) {
		c := &cancelAfter{Context: ctx}
		c.n.Store(int64(len(next) - 3)) // prep passes, most upserts run
		_, err := s.WriteJobs(c, next, &Cursor{"veza/jobs", "page-2"})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		check(t, err)
	})
	t.Run("SQL error on the last row", func(t *testing.T) {
		// A trigger stands in for any constraint the database may enforce.
		if _, err := s.w.Exec(`CREATE TEMP TRIGGER poison BEFORE INSERT ON jobs
			WHEN NEW.job_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END`); err != nil {
			t.Fatal(err)
		}
		defer s.w.Exec("DROP TRIGGER temp.poison")
		bad := append(append([]JobRow{}, next...), JobRow{JobID: "poison", State: "RUNNING"})
		_, err := s.WriteJobs(ctx, bad, &Cursor{"veza/jobs", "page-2"})
		if err == nil || !strings.Contains(err.Error(), "poisoned row") {
			t.Errorf("err = %v", err)
		}
		check(t, err)
	})
	t.Run("invalid row", func(t *testing.T) {
		bad := append(append([]JobRow{}, next...), JobRow{State: "RUNNING"})
		_, err := s.WriteJobs(ctx, bad, &Cursor{"veza/jobs", "page-2"})
		check(t, err)
	})
	// And the same page goes through once nothing is wrong.
	st, err := s.WriteJobs(ctx, next, &Cursor{"veza/jobs", "page-2"})
	if err != nil || st != (WriteStats{Inserted: 20, Updated: 1}) {
		t.Fatalf("retry: %+v %v", st, err)
	}
	if v, _, _ := s.GetCursor(ctx, "veza/jobs"); v != "page-2" {
		t.Errorf("cursor = %q", v)
	}
}

func TestTasksAndActions(t *testing.T) {
	s := openTest(t)
	g := newGen(9)
	var tasks []TaskRow
	for i := 0; i < 40; i++ {
		tasks = append(tasks, g.task(100))
	}
	tasks[0].State, tasks[0].Messages = "ERRORED", []string{"first", "second"}
	st, err := s.WriteTasks(ctx, tasks, &Cursor{"veza/tasks", "x"})
	if err != nil || st.Inserted != 40 {
		t.Fatalf("%+v %v", st, err)
	}
	if st, _ := s.WriteTasks(ctx, tasks, nil); st.Unchanged != 40 {
		t.Errorf("re-write: %+v", st)
	}
	got, err := s.Task(ctx, tasks[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ErrorMessage != "first" || len(got.Messages) != 2 || got.Messages[1] != "second" || got.PolicyVersionNumber != 3 || got.Raw == nil {
		t.Errorf("task = %+v", got)
	}
	if _, err := s.Task(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing task: %v", err)
	}
	checkCounts(t, s, EntityTasks)

	var actions []ActionRow
	for i := 0; i < 40; i++ {
		actions = append(actions, g.action(100))
	}
	// Two actions of one task, and the same action name in another task.
	actions[1].PolicyTask = actions[0].PolicyTask
	actions[2].ActionName = actions[0].ActionName
	if st, err := s.WriteActions(ctx, actions, nil); err != nil || st.Inserted != 40 {
		t.Fatalf("%+v %v", st, err)
	}
	actions[0].State = "ERRORED"
	actions[0].ErrorMessage = "boom"
	if st, _ := s.WriteActions(ctx, actions[:3], nil); st != (WriteStats{Updated: 1, Unchanged: 2}) {
		t.Errorf("%+v", st)
	}
	a, err := s.Action(ctx, actions[0].PolicyTask, actions[0].ActionName)
	if err != nil || a.State != "ERRORED" || a.ErrorMessage != "boom" {
		t.Errorf("action = %+v %v", a, err)
	}
	if _, err := s.Action(ctx, actions[0].PolicyTask, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing action: %v", err)
	}
	ofTask, err := s.Actions(ctx, Query{Where: mustParse(t, fmt.Sprintf(`policy_task eq %q`, actions[0].PolicyTask))}, nil, false, 10)
	if err != nil || len(ofTask) != 2 {
		t.Errorf("actions of task: %d %v", len(ofTask), err)
	}
	checkCounts(t, s, EntityActions)
}

func TestMeta(t *testing.T) {
	s := openTest(t)
	if _, ok, err := s.GetMeta(ctx, MetaSourceURL); ok || err != nil {
		t.Errorf("unset meta: %v %v", ok, err)
	}
	if _, ok, err := s.GetCursor(ctx, "nope"); ok || err != nil {
		t.Errorf("unset cursor: %v %v", ok, err)
	}
	for _, v := range []string{"https://a.vezacloud.com", "https://b.vezacloud.com"} {
		if err := s.SetMeta(ctx, MetaSourceURL, v); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.GetMeta(ctx, MetaSourceURL); got != v || !ok || err != nil {
			t.Errorf("GetMeta = %q %v %v", got, ok, err)
		}
	}
	for _, k := range []string{"api_token", "Token", "client_secret", "password"} {
		if err := s.SetMeta(ctx, k, "x"); err == nil {
			t.Errorf("SetMeta(%q) accepted a credential", k)
		}
	}
}

func TestSplitJobRaw(t *testing.T) {
	cases := []struct {
		raw, rest, req, res string
	}{
		{`{"a":1,"request":{"x":"}"},"result":[1,{"y":"\"]"}],"b":"c"}`, `{"a":1,"b":"c"}`, `{"x":"}"}`, `[1,{"y":"\"]"}]`},
		{`{"request":null,"a":true}`, `{"a":true}`, ``, ``},
		{` { "a" : [ ] , "result" : { } } `, `{"a" : [ ]}`, ``, `{ }`},
		{`{"nested":{"request":1}}`, `{"nested":{"request":1}}`, ``, ``},
		{`{"a":"\\","request":2}`, `{"a":"\\"}`, `2`, ``},
		{`not json`, `not json`, ``, ``},
		{`{"a":1,"request":{"x":1}`, `{"a":1,"request":{"x":1}`, ``, ``}, // truncated: untouched
	}
	for _, c := range cases {
		for _, known := range []bool{false, true} {
			var kreq, kres []byte
			if known {
				kreq, kres = []byte(c.req), []byte(c.res)
			}
			rest, req, res := splitJobRaw([]byte(c.raw), kreq, kres)
			if string(rest) != c.rest || string(req) != c.req || string(res) != c.res {
				t.Errorf("splitJobRaw(%s, known=%v) = %s | %s | %s; want %s | %s | %s", c.raw, known, rest, req, res, c.rest, c.req, c.res)
			}
		}
	}
	for in, want := range map[string]string{
		`{"error_messages":["a \"b\"","c"]}`: `a "b"`,
		`{"error_messages": [ "x" ]}`:        "x",
		`{"error_messages":null}`:            "",
		`{"error_messages":[]}`:              "",
		`{"output":[]}`:                      "",
	} {
		if got := firstErrorMessage([]byte(in)); got != want {
			t.Errorf("firstErrorMessage(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestReadOnlyStoreRefusesWrites(t *testing.T) {
	s := openTest(t)
	path := s.Path()
	if _, err := s.WriteJobs(ctx, newGen(1).jobs(5, 1, true), nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.WriteJobs(ctx, newGen(2).jobs(1, 1, false), nil); !errors.Is(err, ErrReadOnly) {
		t.Errorf("WriteJobs: %v", err)
	}
	if err := ro.SetMeta(ctx, "k", "v"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("SetMeta: %v", err)
	}
}
