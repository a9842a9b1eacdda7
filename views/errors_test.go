package views

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/vtable"
)

const (
	sigUser  = "user <name> not found in group '<name>'"
	sigReset = "connection reset by peer (<ip>:<num>)"
	sigOkta  = "Okta API rate limit exceeded (<num>): retry after <num>s (request id <hex>)"
	// The hostile message's escapes are control characters: the signature
	// makes them white space; the screen sanitizes the rest anyway.
	sigEvil = "boom ]<num>;c;ZXZpbA== <num>m done"
)

// errorsJob is one job of errorsStore.
func errorsJob(i int, state, ds, actionType, msg string, at time.Time) store.JobRow {
	res, _ := json.Marshal(map[string]any{"error_messages": []string{msg}, "output_entities": []any{}})
	if msg == "" {
		res = []byte(`{"error_messages":[],"output_entities":[]}`)
	}
	req, _ := json.Marshal(map[string]any{"data_source": map[string]any{"id": "ds", "name": ds, "type": "x"}})
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	return store.JobRow{
		JobID: id, State: state, PolicyTask: fmt.Sprintf("task-%d", i/2), ActionName: "Sync " + ds,
		ActionType: actionType, WorkflowName: "Joiner", IdentityID: fmt.Sprintf("id-%d", i%7),
		IdentityName: fmt.Sprintf("Person %d", i%7), EventSource: "POLICY", CreatedAt: at.UnixMilli(),
		StartedAt: at.UnixMilli() + 1000, CompletedAt: at.UnixMilli() + 5000,
		Request: req, Result: res, Raw: []byte(fmt.Sprintf(`{"job_id":%q}`, id)),
	}
}

// errorsStore: three groups of ERRORED jobs over the two days before the
// harness's clock (2026-11-21 12:00 UTC), COMPLETED jobs around them, one
// hostile job (escape sequences in its message and data source), the
// connection-reset group acknowledged with a note, and three ERRORED tasks.
func errorsStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	logins := []string{"jsmith", "akhan", "mlee", "o.brien", "zoe"}
	groups := []string{"Sales-EMEA", "Finance", "R&D"}
	var rows []store.JobRow
	for i := range 60 {
		at := now.Add(-48*time.Hour + time.Duration(i)*47*time.Minute)
		switch {
		case i%5 == 4:
			rows = append(rows, errorsJob(i, "COMPLETED", "Okta prod", "SYNC_IDENTITIES", "", at))
		case i < 30:
			ds := []string{"Okta prod", "AD corp"}[i%2]
			rows = append(rows, errorsJob(i, "ERRORED", ds, "MANAGE_RELATIONSHIPS",
				fmt.Sprintf("user %s not found in group '%s'", logins[i%len(logins)], groups[i%len(groups)]), at))
		case i < 48:
			rows = append(rows, errorsJob(i, "ERRORED", "AD corp", "SYNC_IDENTITIES",
				fmt.Sprintf("connection reset by peer (10.20.%d.%d:636)", i%8, i), at))
		default:
			rows = append(rows, errorsJob(i, "ERRORED", "Okta prod", []string{"SYNC_IDENTITIES", "CREATE_EMAIL"}[i%2],
				fmt.Sprintf("Okta API rate limit exceeded (429): retry after %ds (request id 9f8e7d6c5b4a3928%04d)", i, i), at))
		}
	}
	rows = append(rows, errorsJob(99, "ERRORED", "evil\x1b[31m DS\u202e", "NONE",
		"boom \x1b]52;c;ZXZpbA==\x07 \u009b31m done", now.Add(-time.Hour)))
	ctx := context.Background()
	if _, err := st.WriteJobs(ctx, rows, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Ack(ctx, store.MarkGroup, sigReset, "network team on it"); err != nil {
		t.Fatal(err)
	}
	tasks := []store.TaskRow{
		{ID: "t1", State: "ERRORED", Workflow: "Joiner", IdentityID: "i1", StartedAt: now.Add(-3 * time.Hour).UnixMilli(), Messages: []string{"group 'Finance' not found"}},
		{ID: "t2", State: "ERRORED", Workflow: "Mover", IdentityID: "i2", StartedAt: now.Add(-2 * time.Hour).UnixMilli(), Messages: []string{"group 'HR' not found"}},
		{ID: "t3", State: "ERRORED", Workflow: "Leaver", IdentityID: "i3", StartedAt: now.Add(-time.Hour).UnixMilli(), Messages: []string{"timeout after 30000ms"}},
	}
	if _, err := st.WriteTasks(ctx, tasks, nil); err != nil {
		t.Fatal(err)
	}
	return st
}

func errorsRoot(args string) func(*Common) ui.View {
	return func(c *Common) ui.View {
		v, err := NewErrors(c, args)
		if err != nil {
			panic(err)
		}
		return v
	}
}

func errorsView(t *testing.T, h *harness) *Errors {
	t.Helper()
	v, ok := h.app.Top().(*Errors)
	if !ok {
		t.Fatalf("top view is %T", h.app.Top())
	}
	return v
}

func selectedSig(t *testing.T, h *harness) string {
	t.Helper()
	g, ok := errorsView(t, h).selected()
	if !ok {
		t.Fatal("no group selected")
	}
	return g.Signature
}

func TestErrorsGolden(t *testing.T) {
	st := errorsStore(t)
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		h := newHarness(t, st, errorsRoot(""), sz[0], sz[1])
		frame := h.view()
		checkFrame(t, frame, sz[0], sz[1])
		for _, want := range []string{"49 ERRORED jobs in 4 groups", "1 acknowledged", "never sent upstream", sigUser[:22], "COUNT", "TREND", "e.g. "} {
			if !strings.Contains(frame, want) {
				t.Fatalf("%dx%d: %q missing:\n%s", sz[0], sz[1], want, frame)
			}
		}
		if strings.Contains(frame, "pwned") || strings.Contains(frame, "ZXZpbA") && strings.Contains(frame, "\x1b") {
			t.Fatalf("hostile text reached the screen raw:\n%s", frame)
		}
		golden(t, fmt.Sprintf("errors_%dx%d", sz[0], sz[1]), frame)
	}
}

func TestErrorsTinyTerminal(t *testing.T) {
	st := errorsStore(t)
	for _, sz := range [][2]int{{20, 4}, {40, 8}, {1, 1}} {
		h := newHarness(t, st, errorsRoot(""), sz[0], sz[1])
		checkFrame(t, h.view(), sz[0], sz[1])
		h.key("a") // the note prompt on a tiny screen
		checkFrame(t, h.view(), sz[0], sz[1])
	}
}

// TestErrorsContent: the groups' cells say what the store computed.
func TestErrorsContent(t *testing.T) {
	st := errorsStore(t)
	h := newHarness(t, st, errorsRoot(""), 200, 30)
	v := errorsView(t, h)
	if got := sigsOf(v.groups); !slices.Equal(got, []string{sigUser, sigReset, sigOkta, sigEvil}) {
		t.Fatalf("groups by count: %q", got)
	}
	frame := h.view()
	userRow := lineWith(frame, sigUser)
	for _, want := range []string{"24", "AD corp, Okta prod", "MANAGE_RELATIONSHIPS", "7"} {
		if !strings.Contains(userRow, want) {
			t.Errorf("user group row lacks %q: %q", want, userRow)
		}
	}
	resetRow := lineWith(frame, sigReset)
	if !strings.Contains(resetRow, "✓") || strings.Contains(userRow, "✓") {
		t.Errorf("ack marks: reset %q, user %q", resetRow, userRow)
	}
	// The sparkline: 16 cells, the newest bucket on the right.
	if sp := sparkline([]int{0, 1, 2, 8}); sp != " ▁▂█" {
		t.Errorf("sparkline = %q", sp)
	}
	if sp := sparkline([]int{0, 0}); sp != "  " {
		t.Errorf("empty sparkline = %q", sp)
	}
	// Selecting the acked group shows its note.
	h.key("down")
	if !strings.Contains(h.view(), "acknowledged") || !strings.Contains(h.view(), "network team on it") {
		t.Errorf("note not shown:\n%s", h.view())
	}
}

func sigsOf(gs []store.ErrorGroup) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Signature
	}
	return out
}

func lineWith(frame, s string) string {
	for _, l := range strings.Split(frame, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// TestErrorsEnterOpensGroupJobs: Enter pushes the jobs list filtered to
// the group, and only its jobs are listed.
func TestErrorsEnterOpensGroupJobs(t *testing.T) {
	st := errorsStore(t)
	h := newHarness(t, st, errorsRoot(""), 120, 30)
	h.key("enter")
	jobs, ok := h.app.Top().(*List)
	if !ok {
		t.Fatalf("enter pushed %T", h.app.Top())
	}
	want := `state eq "ERRORED" and error_signature eq "user <name> not found in group '<name>'"`
	if jobs.FilterText() != want {
		t.Fatalf("filter %q, want %q", jobs.FilterText(), want)
	}
	n, err := st.CountQuery(context.Background(), store.EntityJobs, jobs.Query())
	if err != nil || n != 24 {
		t.Fatalf("the group's jobs: %d, %v", n, err)
	}
	if !strings.Contains(h.view(), "not found in group") || strings.Contains(h.view(), "connection reset") {
		t.Fatalf("jobs list:\n%s", h.view())
	}
	h.key("esc")
	if errorsView(t, h) == nil || selectedSig(t, h) != sigUser {
		t.Fatal("esc did not come back to the same group")
	}

	// The screen's own filter carries over.
	h2 := newHarness(t, st, errorsRoot(`action_type eq "CREATE_EMAIL"`), 120, 30)
	if got := sigsOf(errorsView(t, h2).groups); !slices.Equal(got, []string{sigOkta}) {
		t.Fatalf("filtered groups %q", got)
	}
	h2.key("enter")
	if f := h2.app.Top().(*List).FilterText(); !strings.HasSuffix(f, ` and (action_type eq "CREATE_EMAIL")`) {
		t.Fatalf("filter %q", f)
	}
}

// TestErrorsAck: `a` asks for a note and acknowledges the group in the
// cache; `a` again removes it. The view and the store agree.
func TestErrorsAck(t *testing.T) {
	st := errorsStore(t)
	h := newHarness(t, st, errorsRoot(""), 200, 30)
	if selectedSig(t, h) != sigUser {
		t.Fatal("the biggest group is not first")
	}
	h.key("a")
	if !strings.Contains(h.view(), "note (optional, kept in this cache only)") {
		t.Fatalf("no note prompt:\n%s", h.view())
	}
	h.typeText("HR feed lag")
	h.key("enter")
	m, ok, err := st.Mark(context.Background(), store.MarkGroup, sigUser)
	if err != nil || !ok || m.Note != "HR feed lag" {
		t.Fatalf("mark %+v %v %v", m, ok, err)
	}
	frame := h.view()
	if !strings.Contains(frame, "2 acknowledged") || !strings.Contains(lineWith(frame, sigUser), "✓") || !strings.Contains(frame, "not sent to the tenant") {
		t.Fatalf("after ack:\n%s", frame)
	}
	// The jobs are acknowledged for the acked filter too.
	if n, _ := st.Count(context.Background(), store.EntityJobs, mustNode(t, `state eq "ERRORED" and acked eq false`)); n != 10 {
		t.Errorf("%d unacknowledged ERRORED jobs, want 10 (Okta 9 + hostile 1)", n)
	}
	h.key("a")
	if _, ok, _ := st.Mark(context.Background(), store.MarkGroup, sigUser); ok {
		t.Fatal("second a did not un-acknowledge")
	}
	if !strings.Contains(h.view(), "1 acknowledged") {
		t.Fatalf("after unack:\n%s", h.view())
	}
	// Esc in the note prompt cancels.
	h.key("a", "esc")
	if _, ok, _ := st.Mark(context.Background(), store.MarkGroup, sigUser); ok {
		t.Fatal("a cancelled note acknowledged")
	}
}

// TestErrorsNextUnacked: `]` skips acknowledged groups and wraps.
func TestErrorsNextUnacked(t *testing.T) {
	st := errorsStore(t)
	h := newHarness(t, st, errorsRoot(""), 120, 30)
	// Order by count: user (24), reset (15, acked), okta (9), hostile (1).
	var seen []string
	for range 4 {
		h.key("]")
		seen = append(seen, selectedSig(t, h))
	}
	if want := []string{sigOkta, sigEvil, sigUser, sigOkta}; !slices.Equal(seen, want) {
		t.Fatalf("] walked %q, want %q", seen, want)
	}
}

// TestErrorsSort: number keys sort by their column, again reverses.
func TestErrorsSort(t *testing.T) {
	st := errorsStore(t)
	h := newHarness(t, st, errorsRoot(""), 160, 30)
	v := errorsView(t, h)
	h.key("1") // count again: ascending
	if got := sigsOf(v.groups); got[0] != sigEvil || got[3] != sigUser {
		t.Fatalf("count ascending: %q", got)
	}
	h.key("3") // signature: A to Z
	if got := sigsOf(v.groups); !slices.IsSorted(got) {
		t.Fatalf("by signature: %q", got)
	}
	if !strings.Contains(h.view(), "sort: signature ▲") && !strings.Contains(v.Status(), "sort: signature ▲") {
		t.Fatalf("status %q", v.Status())
	}
	h.key("5") // last seen, newest first: the hostile job ran an hour ago
	if got := sigsOf(v.groups); got[0] != sigEvil {
		t.Fatalf("by last seen: %q", got)
	}
	h.key("2") // ACK: not sortable, nothing happens
	if v.sort != "last" {
		t.Fatalf("sort changed to %q", v.sort)
	}
	h.key("r")
	if !v.asc {
		t.Fatal("r did not reverse")
	}
}

// TestErrorsReloadOnSync: a sync of jobs regroups, at most once per
// throttle interval; the timer's tick brings the deferred reload.
func TestErrorsReloadOnSync(t *testing.T) {
	st := errorsStore(t)
	h := newHarness(t, st, errorsRoot(""), 120, 30)
	v := errorsView(t, h)
	v.reloads.last = time.Time{} // as if the last grouping were long ago
	more := []store.JobRow{errorsJob(200, "ERRORED", "AD corp", "SYNC_IDENTITIES", "user newbie not found in group 'Ops'", time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC))}
	if _, err := st.WriteJobs(context.Background(), more, nil); err != nil {
		t.Fatal(err)
	}
	h.send(SyncedMsg{Entity: "tasks", Rows: 1})
	if v.total != 49 {
		t.Fatalf("a tasks sync regrouped jobs: %d", v.total)
	}
	h.send(SyncedMsg{Entity: "jobs", Rows: 1})
	if v.total != 50 || v.groups[0].Count != 25 {
		t.Fatalf("after a sync: %d jobs, first group %d", v.total, v.groups[0].Count)
	}
	// A second sync right away waits for the throttle.
	more[0].JobID = "another"
	if _, err := st.WriteJobs(context.Background(), more, nil); err != nil {
		t.Fatal(err)
	}
	h.send(SyncedMsg{Entity: "jobs", Rows: 1})
	if v.total != 50 || !v.reloads.pending {
		t.Fatalf("not throttled: %d, pending %v", v.total, v.reloads.pending)
	}
	h.send(reloadTick{id: v.id})
	if v.total != 51 {
		t.Fatalf("the tick did not regroup: %d", v.total)
	}
	// A superseded reply is dropped.
	stale := groupsMsg{id: v.id, seq: v.seq - 1}
	h.send(stale)
	if v.total != 51 || len(v.groups) == 0 {
		t.Fatal("a stale reply replaced the groups")
	}
}

// TestErrorsTasks: `:errors tasks` groups ERRORED tasks; Enter opens them.
func TestErrorsTasks(t *testing.T) {
	st := errorsStore(t)
	h := newHarness(t, st, jobsRoot(""), 120, 30)
	h.key(":")
	h.typeText("errors tasks")
	h.key("enter")
	v := errorsView(t, h)
	if got := sigsOf(v.groups); !slices.Equal(got, []string{"group '<name>' not found", "timeout after <num>ms"}) {
		t.Fatalf("task groups %q", got)
	}
	if !strings.Contains(h.view(), "WORKFLOWS") || !strings.Contains(h.view(), "Joiner, Mover") {
		t.Fatalf("tasks view:\n%s", h.view())
	}
	h.key("enter")
	l, ok := h.app.Top().(*List)
	if !ok || l.spec != tasksSpec {
		t.Fatalf("enter pushed %T", h.app.Top())
	}
	if n, err := st.CountQuery(context.Background(), store.EntityTasks, l.Query()); err != nil || n != 2 {
		t.Fatalf("the group's tasks: %d %v", n, err)
	}
}

// TestErrorsFilterPrompt: `/` restricts the rows grouped; a bad filter is
// refused with its error; backspace clears.
func TestErrorsFilterPrompt(t *testing.T) {
	st := errorsStore(t)
	h := newHarness(t, st, errorsRoot(""), 120, 30)
	v := errorsView(t, h)
	h.key("/")
	h.typeText(`identity_id eq "id-3"`)
	h.key("enter")
	for _, g := range v.groups {
		if g.Identities != 1 {
			t.Fatalf("filter not applied: %+v", g)
		}
	}
	if !strings.Contains(h.view(), `/identity_id eq "id-3"`) {
		t.Fatalf("filter not shown:\n%s", h.view())
	}
	h.key("/")
	h.typeText(` and nosuch eq 1`)
	h.key("enter")
	if !strings.Contains(h.view(), "unknown field") {
		t.Fatalf("bad filter not reported:\n%s", h.view())
	}
	h.key("esc", "backspace")
	if v.filterText != "" || v.total != 49 {
		t.Fatalf("clear: %q %d", v.filterText, v.total)
	}
	if _, err := NewErrors(h.common, "nosuch eq 1"); err == nil {
		t.Fatal(":errors accepted a bad filter")
	}
}

func TestSliceSource(t *testing.T) {
	var rows sliceSource
	for i := range 10 {
		rows = append(rows, vtable.Row{Key: i, ID: fmt.Sprint(i)})
	}
	ctx := context.Background()
	for _, c := range []struct {
		after    any
		backward bool
		n        int
		want     string
	}{
		{nil, false, 3, "012"}, {2, false, 3, "345"}, {8, false, 5, "9"}, {9, false, 5, ""},
		{nil, true, 3, "789"}, {7, true, 3, "456"}, {1, true, 5, "0"}, {0, true, 5, ""},
	} {
		page, err := rows.Page(ctx, c.after, c.backward, c.n)
		var got strings.Builder
		for _, r := range page {
			got.WriteString(r.ID)
		}
		if err != nil || got.String() != c.want {
			t.Errorf("Page(%v, %v, %d) = %q, %v; want %q", c.after, c.backward, c.n, got.String(), err, c.want)
		}
	}
	if n, _ := rows.Count(ctx); n != 10 {
		t.Errorf("Count = %d", n)
	}
}

func mustNode(t *testing.T, src string) filter.Node {
	t.Helper()
	n, err := filter.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
