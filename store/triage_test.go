package store

import (
	"cmp"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/signature"
	"github.com/opsdeck/opsdeck/store/filter"
)

// tjob is a hand-built job: ds "" means a job listed without details (no
// request payload); msg "" means no error.
func tjob(id, state string, t int64, ident, ds, actionType, msg string) JobRow {
	r := JobRow{
		JobID: id, State: state, PolicyTask: "task-" + id, ActionName: "Add to group", ActionType: actionType,
		WorkflowName: "Joiner", IdentityID: ident, IdentityName: "name of " + ident, EventSource: "POLICY",
		CreatedAt: t, StartedAt: t + 1, CompletedAt: t + 2,
	}
	if ds != "" {
		r.Request = fmt.Appendf(nil, `{"data_source":{"id":"ds-1","name":%q,"type":"x"},"input_entities":[]}`, ds)
		r.Result = []byte(`{"error_messages":[],"any_changes":false}`)
		if msg != "" {
			r.Result = fmt.Appendf(nil, `{"error_messages":[%q,"second"],"any_changes":false}`, msg)
		}
	} else {
		r.ErrorMessage = msg
	}
	r.Raw = rawJob(r)
	return r
}

const (
	sigA = "user <name> not found in group '<name>'"
	sigB = "connection reset by peer (<ip>:<num>)"
)

// groupJobs: two groups of three ERRORED jobs each, plus rows that must not
// count (COMPLETED with a matching message, RUNNING without one).
func groupJobs() []JobRow {
	return []JobRow{
		tjob("a1", "ERRORED", 1000, "i1", "Okta prod", "MANAGE_RELATIONSHIPS", "user jsmith not found in group 'Sales'"),
		tjob("a2", "ERRORED", 5000, "i2", "AD corp", "MANAGE_RELATIONSHIPS", "user akhan not found in group 'Finance'"),
		tjob("a3", "ERRORED", 9000, "i1", "Okta prod", "ACCESS_PLAN", "user bo not found in group 'X'"),
		tjob("b1", "ERRORED", 2000, "i3", "AD corp", "SYNC_IDENTITIES", "connection reset by peer (10.20.1.2:636)"),
		tjob("b2", "ERRORED", 3000, "i3", "AD corp", "SYNC_IDENTITIES", "connection reset by peer (10.20.1.3:636)"),
		tjob("b3", "ERRORED", 4000, "i3", "", "SYNC_IDENTITIES", "connection reset by peer (10.0.0.9:443)"),
		tjob("c1", "COMPLETED", 6000, "i4", "AD corp", "ACCESS_PLAN", "user zed not found in group 'Y'"),
		tjob("c2", "RUNNING", 7000, "i5", "AD corp", "ACCESS_PLAN", ""),
	}
}

func writeJobs(t *testing.T, s *Store, rows []JobRow) WriteStats {
	t.Helper()
	st, err := s.WriteJobs(ctx, rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func groupsBySig(gs []ErrorGroup) map[string]ErrorGroup {
	m := map[string]ErrorGroup{}
	for _, g := range gs {
		m[g.Signature] = g
	}
	return m
}

func sigs(gs []ErrorGroup) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Signature
	}
	return out
}

func TestSignatureOnWrite(t *testing.T) {
	s := openTest(t)
	writeJobs(t, s, groupJobs())
	for id, want := range map[string]string{"a1": sigA, "b3": sigB, "c1": sigA, "c2": ""} {
		j, err := s.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.ErrorSignature != want {
			t.Errorf("%s: signature %q, want %q", id, j.ErrorSignature, want)
		}
	}
	// A plain list (no result) keeps the message and its signature.
	r := groupJobs()[0]
	r.Request, r.Result, r.ErrorMessage = nil, nil, ""
	r.Raw = rawJob(r)
	writeJobs(t, s, []JobRow{r})
	if j, _ := s.Job(ctx, "a1"); j.ErrorSignature != sigA || j.ErrorMessage == "" {
		t.Errorf("after a list without details: %q %q", j.ErrorMessage, j.ErrorSignature)
	}
	// A signature given by the caller is ignored: the store computes it.
	r = groupJobs()[3]
	r.ErrorSignature = "made up"
	writeJobs(t, s, []JobRow{r})
	if j, _ := s.Job(ctx, "b1"); j.ErrorSignature != sigB {
		t.Errorf("caller's signature stored: %q", j.ErrorSignature)
	}
	// Tasks: from the first message.
	task := TaskRow{ID: "t1", State: "ERRORED", Messages: []string{"user jsmith not found in group 'Sales'", "x"}}
	if _, err := s.WriteTasks(ctx, []TaskRow{task}, nil); err != nil {
		t.Fatal(err)
	}
	if tr, err := s.Task(ctx, "t1"); err != nil || tr.ErrorSignature != sigA {
		t.Errorf("task signature %q, %v", tr.ErrorSignature, err)
	}
	// error_signature filters.
	n, err := s.Count(ctx, EntityJobs, mustParse(t, fmt.Sprintf(`state eq "ERRORED" and error_signature eq %q`, sigA)))
	if err != nil || n != 3 {
		t.Errorf("error_signature filter: %d, %v", n, err)
	}
}

func TestErrorGroups(t *testing.T) {
	s := openTest(t)
	writeJobs(t, s, groupJobs())
	gs, err := s.ErrorGroups(ctx, GroupOptions{Buckets: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Equal counts: by signature.
	if got := sigs(gs); !slices.Equal(got, []string{sigB, sigA}) {
		t.Fatalf("groups %q", got)
	}
	a, b := gs[1], gs[0]
	wantA := ErrorGroup{
		Signature: sigA, Count: 3, FirstSeen: 1000, LastSeen: 9000, Example: "user bo not found in group 'X'",
		Identities: 2, Sources: []NameCount{{"Okta prod", 2}, {"AD corp", 1}}, SourcesTotal: 2,
		ActionTypes: []NameCount{{"MANAGE_RELATIONSHIPS", 2}, {"ACCESS_PLAN", 1}}, ActionTypesTotal: 2,
		// span [1000, 9000] in 4: 1000 -> 0, 5000 -> 1, 9000 -> 3
		Buckets: []int{1, 1, 0, 1}, Span: [2]int64{1000, 9000},
	}
	wantB := ErrorGroup{
		Signature: sigB, Count: 3, FirstSeen: 2000, LastSeen: 4000, Example: "connection reset by peer (10.0.0.9:443)",
		// b3 was listed without details: no data source known.
		Identities: 1, Sources: []NameCount{{"AD corp", 2}}, SourcesTotal: 1,
		ActionTypes: []NameCount{{"SYNC_IDENTITIES", 3}}, ActionTypesTotal: 1,
		Buckets: []int{2, 1, 0, 0}, Span: [2]int64{1000, 9000},
	}
	for _, c := range []struct{ got, want ErrorGroup }{{a, wantA}, {b, wantB}} {
		if g, w := fmt.Sprintf("%+v", c.got), fmt.Sprintf("%+v", c.want); g != w {
			t.Errorf("group\n got %s\nwant %s", g, w)
		}
	}

	// MaxNames cuts the lists, not the totals.
	gs, _ = s.ErrorGroups(ctx, GroupOptions{MaxNames: 1})
	if g := groupsBySig(gs)[sigA]; len(g.Sources) != 1 || g.SourcesTotal != 2 || len(g.Buckets) != 24 {
		t.Errorf("MaxNames 1: %+v", g)
	}
	// Sort and limit.
	gs, _ = s.ErrorGroups(ctx, GroupOptions{Sort: SortLastSeen})
	if got := sigs(gs); !slices.Equal(got, []string{sigA, sigB}) {
		t.Errorf("by last seen: %q", got)
	}
	gs, _ = s.ErrorGroups(ctx, GroupOptions{Sort: SortIdentities, Asc: true, Limit: 1})
	if got := sigs(gs); !slices.Equal(got, []string{sigB}) {
		t.Errorf("by identities ascending, limit 1: %q", got)
	}
	// A filter restricts the rows grouped.
	gs, _ = s.ErrorGroups(ctx, GroupOptions{Where: mustParse(t, `action_type eq "MANAGE_RELATIONSHIPS"`)})
	if len(gs) != 1 || gs[0].Signature != sigA || gs[0].Count != 2 || gs[0].LastSeen != 5000 {
		t.Errorf("filtered: %+v", gs)
	}
	// A time window restricts and sets the span.
	gs, _ = s.ErrorGroups(ctx, GroupOptions{Since: 2500, Until: 8999, Buckets: 2})
	m := groupsBySig(gs)
	if m[sigA].Count != 1 || m[sigB].Count != 2 || !slices.Equal(m[sigB].Buckets, []int{2, 0}) || m[sigA].Span != [2]int64{2500, 8999} {
		t.Errorf("window: %+v", gs)
	}

	// Marks: a group ack with a note, a single job's ack.
	if err := s.Ack(ctx, MarkGroup, sigA, "known: HR feed lag"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, MarkJobs, "b2", ""); err != nil {
		t.Fatal(err)
	}
	gs, _ = s.ErrorGroups(ctx, GroupOptions{})
	m = groupsBySig(gs)
	if !m[sigA].Acked || m[sigA].Mark.Note != "known: HR feed lag" || m[sigA].Mark.AckedAt == 0 || m[sigB].Acked || m[sigB].AckedRows != 1 {
		t.Errorf("marks: %+v", gs)
	}
	gs, _ = s.ErrorGroups(ctx, GroupOptions{Unacked: true})
	if got := sigs(gs); !slices.Equal(got, []string{sigB}) {
		t.Errorf("unacked: %q", got)
	}

	// Nothing ERRORED: no groups, no error.
	empty := openTest(t)
	if gs, err := empty.ErrorGroups(ctx, GroupOptions{}); err != nil || len(gs) != 0 {
		t.Errorf("empty cache: %v %v", gs, err)
	}
	if _, err := s.ErrorGroups(ctx, GroupOptions{Entity: EntityActions}); err == nil {
		t.Error("action groups accepted")
	}
}

func TestErrorGroupsTasks(t *testing.T) {
	s := openTest(t)
	tasks := []TaskRow{
		{ID: "t1", State: "ERRORED", Workflow: "Joiner", IdentityID: "i1", StartedAt: 100, Messages: []string{"user ann not found in group 'G'"}},
		{ID: "t2", State: "ERRORED", Workflow: "Mover", IdentityID: "i2", StartedAt: 200, Messages: []string{"user b not found in group 'H'"}},
		{ID: "t3", State: "ERRORED", Workflow: "Joiner", IdentityID: "i2", StartedAt: 300, Messages: []string{"user c not found in group 'I'"}},
		{ID: "t4", State: "COMPLETED", Workflow: "Joiner", IdentityID: "i2", StartedAt: 300, Messages: []string{"user d not found in group 'J'"}},
	}
	if _, err := s.WriteTasks(ctx, tasks, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, MarkTasks, "t2", "retried"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(ctx, EntityTasks, mustParse(t, `acked eq true`)); err != nil || n != 1 {
		t.Errorf("acked tasks: %d %v", n, err)
	}
	if id, _, ok, err := s.NextUnacked(ctx, EntityTasks, Query{Desc: true}, nil); err != nil || !ok || id != "t3" {
		t.Errorf("next unacked task: %q %v %v", id, ok, err)
	}
	gs, err := s.ErrorGroups(ctx, GroupOptions{Entity: EntityTasks, Buckets: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 {
		t.Fatalf("%+v", gs)
	}
	g := gs[0]
	if g.Signature != sigA || g.Count != 3 || g.FirstSeen != 100 || g.LastSeen != 300 || g.Identities != 2 ||
		!slices.Equal(g.Workflows, []NameCount{{"Joiner", 2}, {"Mover", 1}}) || g.Sources != nil ||
		!slices.Equal(g.Buckets, []int{2, 1}) || g.AckedRows != 1 || g.Example != "user c not found in group 'I'" {
		t.Errorf("%+v", g)
	}
}

// TestErrorGroupsPlan: both grouping scans read the partial covering index
// only (no table rows), for jobs and for tasks.
func TestErrorGroupsPlan(t *testing.T) {
	s := openTest(t)
	for name, spec := range groupSpecs {
		for _, q := range []string{spec.groupsSQL("state = 'ERRORED'"), spec.detailSQL("state = 'ERRORED'")} {
			plan := explain(t, s, q, []any{1, 0, 1, 1})
			if !strings.Contains(plan, "COVERING INDEX "+spec.index) || strings.Contains(plan, "USING INDEX "+spec.index) {
				t.Errorf("%s: plan of\n%s\n%s", name, q, plan)
			}
		}
	}
	// The example lookup seeks the same index.
	plan := explain(t, s, groupSpecs[EntityJobs].exampleSQL(), []any{"x"})
	if !strings.Contains(plan, "jobs_errors") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("example: %s", plan)
	}
}

func TestMarks(t *testing.T) {
	s := openTest(t)
	rows := groupJobs()
	writeJobs(t, s, rows)
	if err := s.Ack(ctx, MarkJobs, "a1", "on it"); err != nil {
		t.Fatal(err)
	}
	if err := s.AckMany(ctx, MarkJobs, []string{"b1", "b2"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, "actions", "x", ""); err == nil {
		t.Error("a mark on actions accepted")
	}
	m, ok, err := s.Mark(ctx, MarkJobs, "a1")
	if err != nil || !ok || m.Note != "on it" || m.AckedAt == 0 || m.Key != "a1" {
		t.Errorf("Mark: %+v %v %v", m, ok, err)
	}
	if _, ok, err := s.Mark(ctx, MarkJobs, "a2"); ok || err != nil {
		t.Errorf("Mark of an unmarked job: %v %v", ok, err)
	}

	// A re-sync of the same rows, changed and unchanged, keeps every mark.
	st := writeJobs(t, s, rows)
	if st.Unchanged != len(rows) {
		t.Fatalf("resync %+v", st)
	}
	changed := slices.Clone(rows)
	for i := range changed {
		changed[i].State = "COMPLETED"
		changed[i].Raw = rawJob(changed[i])
	}
	if st := writeJobs(t, s, changed); st.Updated != len(rows)-1 { // c1 was COMPLETED already
		t.Fatalf("changed resync %+v", st)
	}
	writeJobs(t, s, rows)
	got, err := s.Marks(ctx, MarkJobs, []string{"a1", "a2", "b1", "b2", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["a1"].Note != "on it" || got["b2"].Key != "b2" {
		t.Errorf("Marks after resync: %+v", got)
	}

	// The acked filter: a job is acknowledged by its own mark or its
	// group's.
	ackedIDs := func(src string) []string {
		t.Helper()
		var out []string
		page, err := s.Jobs(ctx, Query{Where: mustParse(t, src), Sort: "job_id"}, nil, false, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			out = append(out, r.JobID)
		}
		n, err := s.Count(ctx, EntityJobs, mustParse(t, src))
		if err != nil || n != len(out) {
			t.Errorf("%s: count %d, %v; page %d", src, n, err, len(out))
		}
		return out
	}
	if got := ackedIDs(`state eq "ERRORED" and acked eq false`); !slices.Equal(got, []string{"a2", "a3", "b3"}) {
		t.Errorf("unacked: %v", got)
	}
	if err := s.Ack(ctx, MarkGroup, sigA, ""); err != nil {
		t.Fatal(err)
	}
	if got := ackedIDs(`acked eq true`); !slices.Equal(got, []string{"a1", "a2", "a3", "b1", "b2", "c1"}) {
		t.Errorf("acked: %v", got)
	}
	if err := s.UnackMany(ctx, MarkJobs, []string{"b1", "b2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Unack(ctx, MarkGroup, sigA); err != nil {
		t.Fatal(err)
	}
	if got := ackedIDs(`acked eq true`); !slices.Equal(got, []string{"a1"}) {
		t.Errorf("after unack: %v", got)
	}
	if _, err := s.Jobs(ctx, Query{Sort: "acked"}, nil, false, 10); err == nil {
		t.Error("sorting by a computed field accepted")
	}

	// Marks survive closing and reopening.
	path := s.Path()
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, ok, _ := s2.Mark(ctx, MarkJobs, "a1"); !ok {
		t.Error("mark lost on reopen")
	}
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Ack(ctx, MarkJobs, "a2", ""); err != ErrReadOnly {
		t.Errorf("read-only ack: %v", err)
	}
}

func TestNextUnacked(t *testing.T) {
	s := openTest(t)
	rows := groupJobs()
	writeJobs(t, s, rows)
	// Newest first: a3 9000, c2, c1, a2 5000, b3 4000, b2 3000, b1 2000, a1 1000.
	if err := s.Ack(ctx, MarkJobs, "a2", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, MarkGroup, sigB, ""); err != nil {
		t.Fatal(err)
	}
	q := Query{Desc: true}
	var seen []string
	var after *Key
	for range 10 {
		id, k, ok, err := s.NextUnacked(ctx, EntityJobs, q, after)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		seen = append(seen, id)
		after = &k
	}
	if !slices.Equal(seen, []string{"a3", "a1"}) {
		t.Errorf("walk: %v", seen)
	}
	// Within a filter.
	id, _, ok, err := s.NextUnacked(ctx, EntityJobs, Query{Desc: true, Where: mustParse(t, `action_type eq "MANAGE_RELATIONSHIPS"`)}, nil)
	if err != nil || !ok || id != "a1" {
		t.Errorf("filtered: %q %v %v", id, ok, err)
	}
	if _, _, _, err := s.NextUnacked(ctx, EntityActions, q, nil); err == nil {
		t.Error("actions accepted")
	}
}

// randomJobs makes n jobs whose text columns are drawn from a small
// alphabet in mixed case, so short substrings match many rows.
func randomJobs(rng *rand.Rand, n int, t0 int64) []JobRow {
	word := func() string {
		const letters = "abcAB -x'\"%_"
		b := make([]byte, 2+rng.IntN(10))
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		return string(b)
	}
	rows := make([]JobRow, n)
	for i := range rows {
		r := JobRow{
			JobID: fmt.Sprintf("j%04d", i), State: []string{"ERRORED", "COMPLETED"}[rng.IntN(2)],
			IdentityName: word(), ActionName: word(), WorkflowName: word(), ActionType: "SYNC_IDENTITIES",
			CreatedAt: t0 + int64(rng.IntN(n/3+1))*1000, // ties
		}
		if rng.IntN(2) == 0 {
			r.ErrorMessage = word() + " " + word()
		}
		r.Raw = rawJob(r)
		rows[i] = r
	}
	return rows
}

// likeIDs is the brute-force answer to a free-text query: ids of rows where
// any text column contains text, ASCII letters folded, in q's order.
func likeIDs(rows []JobRow, q Query) []string {
	var keep []JobRow
	lt := strings.ToLower(q.Text)
	for _, r := range rows {
		for _, c := range []string{r.IdentityName, r.ActionName, r.WorkflowName, r.ErrorMessage} {
			if strings.Contains(strings.ToLower(c), lt) {
				keep = append(keep, r)
				break
			}
		}
	}
	slices.SortFunc(keep, func(a, b JobRow) int {
		c := cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.RowID, b.RowID))
		if q.Desc {
			c = -c
		}
		return c
	})
	return ids(keep)
}

// walk pages through q forward in pages of n, then backward from the end,
// and checks both directions agree.
func walk(t *testing.T, s *Store, q Query, n int) []string {
	t.Helper()
	var fwd []string
	var after *Key
	for {
		page, err := s.Jobs(ctx, q, after, false, n)
		if err != nil {
			t.Fatal(err)
		}
		fwd = append(fwd, ids(page)...)
		if len(page) < n {
			break
		}
		k := JobKey(q, page[len(page)-1])
		after = &k
	}
	var back []string
	after = nil
	for {
		page, err := s.Jobs(ctx, q, after, true, n)
		if err != nil {
			t.Fatal(err)
		}
		back = append(ids(page), back...)
		if len(page) < n {
			break
		}
		k := JobKey(q, page[0])
		after = &k
	}
	if !slices.Equal(fwd, back) {
		t.Errorf("%+v: forward and backward walks differ:\n%v\n%v", q, fwd, back)
	}
	return fwd
}

func ftsIntegrity(t *testing.T, s *Store) {
	t.Helper()
	// Index the queue, then compare the index with the content table too
	// (rank 1).
	if err := s.FlushTextIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec("INSERT INTO jobs_fts (jobs_fts, rank) VALUES ('integrity-check', 1)"); err != nil {
		t.Fatalf("free-text index out of step with jobs: %v", err)
	}
}

// TestFreeTextMatchesLike: Query.Text (trigram index from 3 characters,
// LIKE below) selects exactly what a LIKE scan selects, keyset paging and
// counts included, whether the jobs are indexed yet or still queued (new,
// or changed since they were indexed), and keeps doing so as re-syncs
// change the indexed columns.
func TestFreeTextMatchesLike(t *testing.T) {
	for _, c := range []struct{ batch, dense int }{{1 << 30, 1 << 30}, {40, 1 << 30}, {1 << 30, 1}} {
		// dense 1: every page query with a match scans rows with LIKE.
		t.Run(fmt.Sprintf("batch=%d,dense=%d", c.batch, c.dense), func(t *testing.T) { testFreeText(t, c.batch, c.dense) })
	}
}

func testFreeText(t *testing.T, batch, dense int) {
	s := openTest(t)
	s.text.batch, s.text.dense = batch, dense
	rng := rand.New(rand.NewPCG(4, uint64(batch)))
	rows := randomJobs(rng, 300, 1_700_000_000_000)
	queued := func() int { // the backlog: rows above the mark, and stale ones
		var n int
		s.r.QueryRow(`SELECT (SELECT count(*) FROM jobs_fts_pending)
			+ (SELECT count(*) FROM jobs WHERE rowid > (SELECT indexed_upto FROM jobs_fts_state))`).Scan(&n)
		return n
	}
	check := func(round string) {
		t.Helper()
		stored := make([]JobRow, len(rows))
		for i, r := range rows {
			var err error
			if stored[i], err = s.Job(ctx, r.JobID); err != nil {
				t.Fatal(err)
			}
		}
		texts := []string{"a", "AB", "b A", `x"`, "'%", "_b", "abc", "zzz", "ab ab"}
		for range 12 {
			w := stored[rng.IntN(len(stored))].IdentityName
			i := rng.IntN(len(w))
			texts = append(texts, w[i:min(len(w), i+1+rng.IntN(5))])
		}
		for _, text := range texts {
			for _, desc := range []bool{true, false} {
				q := Query{Text: text, Desc: desc}
				want := likeIDs(stored, q)
				if got := walk(t, s, q, 1+rng.IntN(9)); !slices.Equal(got, want) {
					t.Errorf("%s: %q desc=%v: %d rows, want %d\n got %v\nwant %v", round, text, desc, len(got), len(want), got, want)
				}
				n, err := s.CountQuery(ctx, EntityJobs, q)
				if err != nil || n != len(want) {
					t.Errorf("%s: count %q = %d, %v; want %d", round, text, n, err, len(want))
				}
			}
			// With a filter too.
			q := Query{Text: text, Desc: true, Where: mustParse(t, `state eq "ERRORED"`)}
			var errored []JobRow
			for _, r := range stored {
				if r.State == "ERRORED" {
					errored = append(errored, r)
				}
			}
			want := likeIDs(errored, q)
			if got := walk(t, s, q, 5); !slices.Equal(got, want) {
				t.Errorf("%s: %q and ERRORED: %v, want %v", round, text, got, want)
			}
			if n, err := s.CountQuery(ctx, EntityJobs, q); err != nil || n != len(want) {
				t.Errorf("%s: count %q and ERRORED = %d, %v; want %d", round, text, n, err, len(want))
			}
		}
	}
	for i := 0; i < len(rows); i += 64 {
		writeJobs(t, s, rows[i:min(i+64, len(rows))])
	}
	if batch > len(rows) && queued() != len(rows) {
		t.Fatalf("%d queued, want all %d", queued(), len(rows))
	}
	check("new, queued")
	ftsIntegrity(t, s)
	check("new, indexed")

	// Re-sync: some rows change their indexed columns, some come again
	// without details (the stored message stays), one comes twice in a
	// batch, the rest are unchanged.
	fresh := randomJobs(rng, len(rows), 1_700_000_000_000)
	var again []JobRow
	for i := range rows {
		switch rng.IntN(4) {
		case 0:
			rows[i].IdentityName = fresh[i].IdentityName
		case 1:
			rows[i].ErrorMessage = fresh[i].ErrorMessage
		case 2:
			rows[i].State = "COMPLETED" // not indexed
		}
		rows[i].Raw = rawJob(rows[i])
		again = append(again, rows[i])
	}
	dup := rows[7]
	dup.WorkflowName = "first version"
	again = append([]JobRow{dup}, again...)
	for i := 0; i < len(again); i += 50 {
		writeJobs(t, s, again[i:min(i+50, len(again))])
	}
	if batch > len(rows) && queued() == 0 {
		t.Fatal("nothing queued by the re-sync")
	}
	check("changed, queued")
	ftsIntegrity(t, s)
	check("changed, indexed")
}

func TestFreeTextPhraseQuoting(t *testing.T) {
	s := openTest(t)
	rows := []JobRow{
		tjob("q1", "ERRORED", 1, "i1", "", "NONE", `say "hi" AND NOT x*`),
		tjob("q2", "ERRORED", 2, "i1", "", "NONE", `plain`),
	}
	writeJobs(t, s, rows)
	for _, text := range []string{`"hi"`, `AND NOT`, `x*`, `NEAR(`, `hi" OR "plain`} {
		got, err := s.Jobs(ctx, Query{Text: text}, nil, false, 10)
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		want := []string{"q1"}
		if text == `hi" OR "plain` || text == `NEAR(` {
			want = nil
		}
		if !slices.Equal(ids(got), want) {
			t.Errorf("%q: %v, want %v", text, ids(got), want)
		}
	}
	if _, err := s.Tasks(ctx, Query{Text: "ab"}, nil, false, 10); err != nil {
		t.Errorf("tasks free text: %v", err)
	}
}

// TestTriageUpgrade: a cache from before migration 0006 gets its
// signatures and free-text index on the first Open.
func TestTriageUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	db, err := sql.Open("sqlite", dsn(path, "", "journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, 5); err != nil {
		t.Fatal(err)
	}
	for i, msg := range []string{"user jsmith not found in group 'Sales'", "", "user akhan not found in group 'Finance'"} {
		if _, err := db.Exec(`INSERT INTO jobs (job_id, state, identity_name, error_message, created_at, request)
			VALUES (?, 'ERRORED', ?, ?, ?, ?)`, fmt.Sprint("old-", i), fmt.Sprint("Person ", i), msg, i, `{"data_source":{"name":"AD"}}`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO tasks (id, state, error_message) VALUES ('t', 'ERRORED', 'group ''X'' not found')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ftsIntegrity(t, s)
	gs, err := s.ErrorGroups(ctx, GroupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := groupsBySig(gs)
	if m[sigA].Count != 2 || m[""].Count != 1 || !slices.Equal(m[sigA].Sources, []NameCount{{"AD", 2}}) {
		t.Errorf("groups after upgrade: %+v", gs)
	}
	if tr, _ := s.Task(ctx, "t"); tr.ErrorSignature != "group '<name>' not found" {
		t.Errorf("task signature %q", tr.ErrorSignature)
	}
	if got, err := s.Jobs(ctx, Query{Text: "person 2"}, nil, false, 10); err != nil || !slices.Equal(ids(got), []string{"old-2"}) {
		t.Errorf("free text after upgrade: %v %v", ids(got), err)
	}
	if v, _, _ := s.GetMeta(ctx, metaSignatureVersion); v != signature.Version {
		t.Errorf("signature version %q", v)
	}

	// A new normalisation version recomputes every signature.
	if _, err := s.w.Exec("UPDATE jobs SET error_signature = 'stale'"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(ctx, metaSignatureVersion, "0"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.Count(ctx, EntityJobs, mustParse(t, `error_signature eq "stale"`)); n != 1 { // the job without a message
		t.Errorf("%d stale signatures after a version change", n)
	}
	if j, _ := s.Job(ctx, "old-0"); j.ErrorSignature != sigA {
		t.Errorf("recomputed %q", j.ErrorSignature)
	}
}

// TestTriageSQLViews: the views for sqlite3 users run and agree with the
// store.
func TestTriageSQLViews(t *testing.T) {
	s := openTest(t)
	writeJobs(t, s, groupJobs())
	if err := s.Ack(ctx, MarkGroup, sigB, ""); err != nil {
		t.Fatal(err)
	}
	var n, acked int
	if err := s.r.QueryRow("SELECT count(*), sum(acked) FROM errored_jobs").Scan(&n, &acked); err != nil || n != 6 || acked != 3 {
		t.Errorf("errored_jobs: %d rows, %d acked, %v", n, acked, err)
	}
	var sig, first string
	var jobs, idents int
	if err := s.r.QueryRow("SELECT error_signature, jobs, first_seen, identities, acked FROM error_groups ORDER BY jobs DESC, error_signature LIMIT 1").
		Scan(&sig, &jobs, &first, &idents, &acked); err != nil {
		t.Fatal(err)
	}
	if sig != sigB || jobs != 3 || first != "1970-01-01 00:00:02" || idents != 1 || acked != 1 {
		t.Errorf("error_groups: %q %d %q %d %d", sig, jobs, first, idents, acked)
	}
}

// The acked filter field is the same expression for the store and for the
// in-memory predicate's schema entry.
func TestAckedFieldSQL(t *testing.T) {
	for _, sc := range []*filter.Schema{filter.Jobs, filter.Tasks} {
		f, ok := sc.Field("acked")
		if !ok || f.Kind != filter.KindBool || isColumnName(f.Column) {
			t.Errorf("%s.acked: %+v", sc.Entity, f)
		}
	}
}

// TestTextIndexRowidReuse: after the newest rows are pruned, new rows take
// their rowids again; they must not pass for indexed.
func TestTextIndexRowidReuse(t *testing.T) {
	s := openTest(t)
	var rows []JobRow
	for i := range 6 {
		r := tjob(fmt.Sprint("j", i), "COMPLETED", 1_700_000_000_000+int64(i), "i", "", "NONE", "")
		r.IdentityName = fmt.Sprint("person number ", i)
		rows = append(rows, r)
	}
	rows[5].CreatedAt = 1000 // old, but written last: the top rowid
	writeJobs(t, s, rows)
	if err := s.FlushTextIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(ctx, time.UnixMilli(1_600_000_000_000), false); err != nil {
		t.Fatal(err)
	}
	top := rows[5]
	top.JobID, top.IdentityName, top.CreatedAt = "new", "someone else", 1_700_000_000_100
	top.Raw = rawJob(top)
	writeJobs(t, s, []JobRow{top})
	if j, _ := s.Job(ctx, "new"); j.RowID != 6 {
		t.Fatalf("rowid %d: the test needs the pruned rowid reused", j.RowID)
	}
	for _, flushed := range []bool{false, true} {
		got, err := s.Jobs(ctx, Query{Text: "someone"}, nil, false, 10)
		if err != nil || !slices.Equal(ids(got), []string{"new"}) {
			t.Errorf("flushed=%v: %v %v", flushed, ids(got), err)
		}
		if got, _ := s.Jobs(ctx, Query{Text: "number 5"}, nil, false, 10); len(got) != 0 {
			t.Errorf("flushed=%v: the pruned job is found: %v", flushed, ids(got))
		}
		ftsIntegrity(t, s)
	}
}
