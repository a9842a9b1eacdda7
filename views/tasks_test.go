package views

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/ui"
)

// lcmStore is testStore's jobs plus the tasks and actions they belong to:
// task-K owns jobs 3K..3K+2, and each job's action is (task, action_name).
// Every 4th task is BLOCKED, every 5th ERRORED.
func lcmStore(t testing.TB, nJobs int) *store.Store {
	t.Helper()
	st := testStore(t, nJobs)
	ctx := context.Background()
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC).UnixMilli()
	var tasks []store.TaskRow
	var actions []store.ActionRow
	seen := map[string]bool{}
	for i := range nJobs {
		j, err := st.Job(ctx, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
		if err != nil {
			t.Fatal(err)
		}
		k := i / 3
		if i%3 == 0 {
			state, msgs := "COMPLETED", []string(nil)
			switch {
			case k%5 == 0:
				state, msgs = "ERRORED", []string{fmt.Sprintf("action %q failed", j.ActionName)}
			case k%4 == 0:
				state = "BLOCKED"
			}
			tasks = append(tasks, store.TaskRow{ID: j.PolicyTask, State: state, Workflow: "Joiner", IdentityName: j.IdentityName,
				IdentityID: j.IdentityID, StartedAt: base + int64(k)*180_000, CompletedAt: base + int64(k)*180_000 + 60_000, Messages: msgs})
		}
		key := j.PolicyTask + "/" + j.ActionName
		if !seen[key] {
			seen[key] = true
			actions = append(actions, store.ActionRow{PolicyTask: j.PolicyTask, ActionName: j.ActionName, ActionType: j.ActionType,
				State: j.State, IdentityName: j.IdentityName, StartedAt: j.StartedAt, CompletedAt: j.CompletedAt, JobsStarted: 1,
				ErrorMessage: j.ErrorMessage})
		}
	}
	if _, err := st.WriteTasks(ctx, tasks, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WriteActions(ctx, actions, nil); err != nil {
		t.Fatal(err)
	}
	return st
}

func tasksRoot(filterText string) func(*Common) ui.View {
	return func(c *Common) ui.View {
		v, err := NewTasks(c, filterText)
		if err != nil {
			panic(err)
		}
		return v
	}
}

func TestTasksGolden(t *testing.T) {
	st := lcmStore(t, 300)
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		h := newHarness(t, st, tasksRoot(""), sz[0], sz[1])
		frame := h.view()
		checkFrame(t, frame, sz[0], sz[1])
		if !strings.Contains(frame, "tasks 100") {
			t.Fatalf("counts line missing:\n%s", frame)
		}
		golden(t, fmt.Sprintf("tasks_%dx%d", sz[0], sz[1]), frame)
	}
}

func TestDrillDownTaskActionJobsAndBack(t *testing.T) {
	st := lcmStore(t, 300)
	h := newHarness(t, st, tasksRoot(""), 160, 30)
	// Newest first: the first row is task-99; move to the third (task-97).
	h.key("j", "j")
	h.key("enter")
	frame := h.view()
	if !strings.Contains(frame, "Actions of task task-97") {
		t.Fatalf("enter on a task did not open its actions:\n%s", frame)
	}
	// task-97 owns jobs 291..293: three actions.
	if !strings.Contains(frame, "actions of task task-97 3") {
		t.Fatalf("scoped counts wrong:\n%s", frame)
	}
	for _, other := range []string{"task-96", "task-98"} {
		if strings.Contains(frame, other) {
			t.Fatalf("actions of another task shown (%s):\n%s", other, frame)
		}
	}
	h.key("j", "enter")
	frame = h.view()
	if !strings.Contains(frame, "Jobs of action") {
		t.Fatalf("enter on an action did not open its jobs:\n%s", frame)
	}
	if !strings.Contains(frame, "task-97") && !strings.Contains(frame, "jobs of action") {
		t.Fatalf("jobs view not scoped:\n%s", frame)
	}
	if n := strings.Count(frame, "Joiner"); n != 1 {
		t.Fatalf("an action of a task with one job per action should list 1 job, got %d:\n%s", n, frame)
	}
	// esc twice: back on the tasks list with the cursor where it was.
	h.key("esc")
	if !strings.Contains(h.view(), "Actions of task task-97") {
		t.Fatalf("esc did not return to the actions:\n%s", h.view())
	}
	h.key("esc", "enter")
	if !strings.Contains(h.view(), "Actions of task task-97") {
		t.Fatalf("cursor not restored on the tasks list after esc:\n%s", h.view())
	}
}

func TestJobJumpsToTaskAndAction(t *testing.T) {
	st := lcmStore(t, 300)
	h := newHarness(t, st, jobsRoot(""), 160, 30)
	h.key("enter") // job 299 (newest), task-99
	if !strings.Contains(h.view(), "Job 00000000") {
		t.Fatalf("job detail not open:\n%s", h.view())
	}
	h.key("T")
	if !strings.Contains(h.view(), "Actions of task task-99") {
		t.Fatalf("T from a job did not open its task:\n%s", h.view())
	}
	h.key("esc", "A")
	frame := h.view()
	if !strings.Contains(frame, "Actions of task task-99") || !strings.Contains(frame, `/action_name eq "Sync Okta 3"`) {
		t.Fatalf("A from a job did not open its action:\n%s", frame)
	}
}

func TestMarksAndExport(t *testing.T) {
	st := lcmStore(t, 300)
	h := newHarness(t, st, jobsRoot(`state eq "ERRORED"`), 120, 30)
	h.key(" ", " ")
	if s := h.app.View(); !strings.Contains(s, "2 marked") || strings.Count(s, "●") != 2 {
		t.Fatalf("two marks expected in the gutter and status:\n%s", s)
	}
	v := h.app.Top().(*List)
	if got := v.Marked(); len(got) != 2 {
		t.Fatalf("Marked() = %v", got)
	}
	h.key("M")
	if got := v.Marked(); len(got) != 1 { // none marked: the cursor row
		t.Fatalf("after clearing marks Marked() = %v", got)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "errored.csv")
	h.key("x")
	if !strings.Contains(h.view(), "export to:") {
		t.Fatalf("x did not ask for a path:\n%s", h.view())
	}
	// Replace the suggested name.
	for range 80 {
		h.key("backspace")
	}
	h.typeText("out.txt")
	h.key("enter")
	if !strings.Contains(h.view(), ".csv or .jsonl") {
		t.Fatalf("a bad extension was accepted:\n%s", h.view())
	}
	for range 20 {
		h.key("backspace")
	}
	h.typeText(path)
	h.key("enter")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("export file: %v\n%s", err, h.view())
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// 300 jobs: every 5th ERRORED (60) plus the hostile job 7.
	if len(recs) != 1+61 {
		t.Fatalf("exported %d lines, want header + 61", len(recs))
	}
	if recs[0][0] != "state" {
		t.Fatalf("header %v", recs[0])
	}
	for _, r := range recs[1:] {
		if r[0] != "ERRORED" {
			t.Fatalf("a row outside the filter was exported: %v", r)
		}
	}
	if !strings.Contains(h.view(), "exported 61 rows") {
		t.Fatalf("no flash after export:\n%s", h.view())
	}
}

func TestCSVValueDefusesFormulas(t *testing.T) {
	for in, want := range map[string]string{"=HYPERLINK(1)": "'=HYPERLINK(1)", "+1": "'+1", "plain": "plain", "-": "'-"} {
		if got := csvValue(in); got != want {
			t.Errorf("csvValue(%q) = %q, want %q", in, got, want)
		}
	}
	if csvValue(int64(-5)) != "-5" {
		t.Error("numbers must stay numbers")
	}
}

func TestActionsRefusedOfflineAndReadOnly(t *testing.T) {
	st := lcmStore(t, 300)
	h := newHarness(t, st, tasksRoot(`state eq "ERRORED"`), 120, 30)
	h.key("R")
	if !strings.Contains(h.view(), "offline") {
		t.Fatalf("restart offline should say why it is refused:\n%s", h.view())
	}
	h.common.ReadOnly = true
	h.key("R")
	if !strings.Contains(h.view(), "read-only") {
		t.Fatalf("restart in read-only should say so:\n%s", h.view())
	}
	if _, ok := h.app.Top().(*ui.Confirm); ok {
		t.Fatal("a confirmation opened although the action is disabled")
	}
}

func TestAckAndNextUnacked(t *testing.T) {
	st := lcmStore(t, 300)
	h := newHarness(t, st, jobsRoot(`state eq "ERRORED"`), 120, 30)
	first, _ := h.app.Top().(*List).Selected()
	h.key("a")
	if !strings.Contains(h.view(), "note (optional") {
		t.Fatalf("a did not ask for a note:\n%s", h.view())
	}
	h.typeText("paged the Okta team")
	h.key("enter")
	m, ok, err := st.Mark(context.Background(), store.MarkJobs, first.ID)
	if err != nil || !ok || m.Note != "paged the Okta team" {
		t.Fatalf("mark not stored: %+v %v %v", m, ok, err)
	}
	if v := h.view(); !strings.Contains(v, "ERRORED ✓") || !strings.Contains(v, "not told") {
		t.Fatalf("acknowledged row not flagged, or the flash does not say marks are local:\n%s", v)
	}
	// `acked eq false` hides it; `]` skips acknowledged rows.
	h.key("]")
	r, _ := h.app.Top().(*List).Selected()
	if r.ID == first.ID {
		t.Fatal("] stayed on an acknowledged row")
	}
	if acked, _, _ := st.Mark(context.Background(), store.MarkJobs, r.ID); acked.Key != "" {
		t.Fatalf("] landed on an acknowledged row %s", r.ID)
	}
	// a again on the acknowledged row un-acknowledges it.
	h.key("g", "a")
	if _, ok, _ := st.Mark(context.Background(), store.MarkJobs, first.ID); ok {
		t.Fatal("a on an acknowledged row did not un-acknowledge it")
	}
	// The unacked filter.
	h.key("/")
	for range 40 {
		h.key("backspace")
	}
	h.typeText(`state eq "ERRORED" and acked eq true`)
	h.key("enter")
	if !strings.Contains(h.view(), "no rows match") {
		t.Fatalf("acked eq true should match nothing now:\n%s", h.view())
	}
}

func TestFreeTextUsesStoreSearch(t *testing.T) {
	st := lcmStore(t, 300)
	h := newHarness(t, st, jobsRoot(""), 140, 40)
	h.key("/")
	h.typeText("smithson")
	h.key("enter")
	v := h.view()
	if !strings.Contains(v, "free text") || !strings.Contains(v, "John Smithson") || strings.Contains(v, "Jane Smith ") {
		t.Fatalf("free text did not narrow to Smithson:\n%s", v)
	}
	// 300 jobs, names cycle over 6: 50 are John Smithson's.
	if !strings.Contains(v, "of 50") {
		t.Fatalf("free-text count wrong:\n%s", v)
	}
	lst := h.app.Top().(*List)
	if q := lst.Query(); q.Text != "smithson" || q.Where != nil {
		t.Fatalf("free text not sent as Query.Text: %+v", q)
	}
}

func TestActionsGoldenAndCopyRow(t *testing.T) {
	st := lcmStore(t, 300)
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		h := newHarness(t, st, func(c *Common) ui.View {
			v, err := NewActions(c, "")
			if err != nil {
				panic(err)
			}
			return v
		}, sz[0], sz[1])
		frame := h.view()
		checkFrame(t, frame, sz[0], sz[1])
		golden(t, fmt.Sprintf("actions_%dx%d", sz[0], sz[1]), frame)
	}
	h := newHarness(t, st, jobsRoot(""), 120, 30)
	h.key("C")
	if len(h.copied) != 1 || !strings.Contains(h.copied[0], `"job_id"`) || !strings.Contains(h.copied[0], `"request"`) {
		t.Fatalf("C did not copy the job as JSON: %v", h.copied)
	}
	h.key("c")
	if len(h.copied) != 2 || !strings.HasPrefix(h.copied[1], "00000000-0000-4000-8000-") {
		t.Fatalf("c did not copy the id: %v", h.copied)
	}
}
