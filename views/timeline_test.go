package views

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/ui"
)

// tlNewest is the newest row of timelineStore, ten minutes before the
// harness's clock.
var tlNewest = time.Date(2026, 11, 21, 11, 50, 0, 0, time.UTC)

const tlSig = "timeout after <num>ms waiting for agent insight-point-<num> response"

func tlJobRow(id, state, ds, msg string, at time.Time) store.JobRow {
	req, _ := json.Marshal(map[string]any{"data_source": map[string]any{"id": "ds", "name": ds, "type": "ACTIVE_DIRECTORY"}})
	res, _ := json.Marshal(map[string]any{"error_messages": []string{msg}, "output_entities": []any{}})
	if msg == "" {
		res = []byte(`{"error_messages":[],"output_entities":[]}`)
	}
	return store.JobRow{JobID: id, State: state, PolicyTask: "task-" + id, ActionName: "Disable AD Account",
		ActionType: "DEPROVISION_IDENTITY", WorkflowName: "Leaver", IdentityID: "i-" + id, IdentityName: "Person " + id,
		EventSource: "POLICY", CreatedAt: at.UnixMilli(), StartedAt: at.UnixMilli() + 200, CompletedAt: at.UnixMilli() + 30200,
		Request: req, Result: res, Raw: []byte(fmt.Sprintf(`{"job_id":%q}`, id))}
}

// timelineStore is the demo story, hand-built: at 08:00 the Insight Point
// of Active Directory goes away (an ERROR event, a WARNING before it);
// from 08:01 to 08:04 312 jobs on AD fail waiting for it, then two more
// at 08:12; the tasks that ran them fail; a single Okta job fails at
// 10:15; a Socotra renewal trigger quits at 11:00; COMPLETED jobs and INFO
// events all day, and a hostile event. Rows from the day before are
// outside the default window.
func timelineStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "tl.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	day := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	var jobs []store.JobRow
	for i := range 312 {
		at := day.Add(8*time.Hour + time.Minute + time.Duration(i)*600*time.Millisecond)
		jobs = append(jobs, tlJobRow(fmt.Sprintf("burst-%03d", i), "ERRORED", "Active Directory (corp)",
			fmt.Sprintf("timeout after %dms waiting for agent insight-point-3 response", 30000+i%2*30000), at))
	}
	for i, m := range []int{12, 13} {
		jobs = append(jobs, tlJobRow(fmt.Sprintf("late-%d", i), "ERRORED", "Active Directory (corp)",
			"timeout after 30000ms waiting for agent insight-point-3 response", day.Add(8*time.Hour+time.Duration(m)*time.Minute)))
	}
	jobs = append(jobs, tlJobRow("okta-1", "ERRORED", "Okta (example)", "user jsmith not found in group 'Finance'", day.Add(10*time.Hour+15*time.Minute)))
	jobs = append(jobs, tlJobRow("yesterday", "ERRORED", "Okta (example)", "user old not found in group 'HR'", day.Add(-14*time.Hour)))
	for i := range 24 {
		jobs = append(jobs, tlJobRow(fmt.Sprintf("ok-%02d", i), "COMPLETED", "Okta (example)", "", tlNewest.Add(-time.Duration(i)*30*time.Minute)))
	}
	if _, err := st.WriteJobs(ctx, jobs, nil); err != nil {
		t.Fatal(err)
	}
	var tasks []store.TaskRow
	for i := range 6 {
		tasks = append(tasks, store.TaskRow{ID: fmt.Sprintf("task-burst-%03d", i), State: "ERRORED", Workflow: "Leaver",
			IdentityID: fmt.Sprintf("i-%d", i), IdentityName: fmt.Sprintf("Person %d", i),
			StartedAt: day.Add(8*time.Hour + time.Minute + time.Duration(i)*10*time.Second).UnixMilli(),
			Messages:  []string{"action Disable AD Account failed: timeout waiting for agent insight-point-3"}})
	}
	tasks = append(tasks, store.TaskRow{ID: "task-okta-1", State: "ERRORED", Workflow: "Mover", IdentityID: "i-okta",
		IdentityName: "J Smith", StartedAt: day.Add(10*time.Hour + 14*time.Minute).UnixMilli(), Messages: []string{"group 'Finance' not found"}},
		store.TaskRow{ID: "task-ok", State: "COMPLETED", Workflow: "Joiner", IdentityID: "i-ok", StartedAt: day.Add(9 * time.Hour).UnixMilli()})
	if _, err := st.WriteTasks(ctx, tasks, nil); err != nil {
		t.Fatal(err)
	}
	actions := []store.ActionRow{{State: "ERRORED", PolicyTask: "task-okta-1", ActionName: "Add Finance Groups", ActionType: "MANAGE_RELATIONSHIPS",
		WorkflowName: "Mover", IdentityID: "i-okta", IdentityName: "J Smith", StartedAt: day.Add(10*time.Hour + 15*time.Minute).UnixMilli(),
		ErrorMessage: "group 'Finance' not found", JobsStarted: 1}}
	if _, err := st.WriteActions(ctx, actions, nil); err != nil {
		t.Fatal(err)
	}
	ev := func(id, sev, typ, msg, entity string, at time.Time) store.EventRow {
		return store.EventRow{ID: id, Timestamp: at.UnixMilli(), Severity: sev, Category: "INTEGRATIONS", EventType: typ, Name: typ,
			Message: msg, Entity: "INSIGHT_POINT", EntityName: entity, Raw: []byte(fmt.Sprintf(`{"id":%q}`, id))}
	}
	events := []store.EventRow{
		ev("ev-outage", "ERROR", "INSIGHT_POINT_UNAVAILABLE", `Insight Point "insight-point-3" is unavailable: no heartbeat from any instance for 5m0s`, "insight-point-3", day.Add(8*time.Hour)),
		ev("ev-degraded", "WARNING", "INSIGHT_POINT_DEGRADED", `Insight Point "insight-point-3" is degraded: 1 of 3 instances available`, "insight-point-3", day.Add(7*time.Hour+50*time.Minute)),
		ev("ev-evil", "WARNING", "OAA_PUSH\x1b[31m", "pushed \x1b]52;c;ZXZpbA==\x07 \u202eevil\r\nline", "evil\x1b[2J DS", day.Add(9*time.Hour)),
		ev("ev-yesterday", "ERROR", "DISCOVERY_FAILED", "Discovery failed", "aws", day.Add(-13*time.Hour)),
	}
	for i := range 20 {
		events = append(events, ev(fmt.Sprintf("ev-info-%02d", i), "INFO", "USER_LOGIN", "User x logged in", "x@example.com", tlNewest.Add(-time.Duration(i)*time.Hour)))
	}
	if _, err := st.WriteEvents(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	failed := []store.SocotraFailedRow{
		{TriggerGroup: "policy:01HVRENEW", TriggerName: "renewal-01HVRENEW", State: "quit", FailureCount: 5,
			CreatedAt: day.Add(6 * time.Hour).UnixMilli(), UpdatedAt: day.Add(11 * time.Hour).UnixMilli()},
		{TriggerGroup: "tenant:T1", TriggerName: "invoice-run", State: "queued", FailureCount: 1,
			CreatedAt: day.Add(-20 * time.Hour).UnixMilli(), UpdatedAt: day.Add(-20 * time.Hour).UnixMilli()},
	}
	if _, _, err := st.ReplaceSocotraFailed(ctx, failed, nil); err != nil {
		t.Fatal(err)
	}
	return st
}

func timelineRoot(args string) func(*Common) ui.View {
	return func(c *Common) ui.View {
		v, err := NewTimeline(c, args)
		if err != nil {
			panic(err)
		}
		return v
	}
}

func timelineView(t *testing.T, h *harness) *Timeline {
	t.Helper()
	v, ok := h.app.Top().(*Timeline)
	if !ok {
		t.Fatalf("top view is %T:\n%s", h.app.Top(), h.view())
	}
	return v
}

func TestTimelineGolden(t *testing.T) {
	st := timelineStore(t)
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		h := newHarness(t, st, timelineRoot(""), sz[0], sz[1])
		frame := h.view()
		checkFrame(t, frame, sz[0], sz[1])
		golden(t, fmt.Sprintf("timeline_%dx%d", sz[0], sz[1]), frame)
	}
}

// TestTimelineContent: the default window is the last day of the cached
// data, newest first, every source in it, the burst one line, the outage
// event right below it.
func TestTimelineContent(t *testing.T) {
	st := timelineStore(t)
	h := newHarness(t, st, timelineRoot(""), 200, 40)
	v := timelineView(t, h)
	type line struct {
		src, state string
		n          int
		what       string
	}
	var got []line
	for _, e := range v.res.Entries {
		got = append(got, line{e.Source, e.State, e.Count, e.What})
	}
	want := []line{
		{"socotra", "quit", 5, "renewal-01HVRENEW"},
		{"job", "ERRORED", 1, "user jsmith not found in group 'Finance'"},
		{"task", "ERRORED", 1, "group 'Finance' not found"},
		{"event", "WARNING", 1, "OAA_PUSH\x1b[31m: pushed \x1b]52;c;ZXZpbA==\x07 \u202eevil\r\nline"},
		{"job", "ERRORED", 2, tlSig},
		{"job", "ERRORED", 312, tlSig},
		{"task", "ERRORED", 6, "action Disable AD Account failed: timeout waiting for agent insight-point-<num>"},
		{"event", "ERROR", 1, `INSIGHT_POINT_UNAVAILABLE: Insight Point "insight-point-3" is unavailable: no heartbeat from any instance for 5m0s`},
		{"event", "WARNING", 1, `INSIGHT_POINT_DEGRADED: Insight Point "insight-point-3" is degraded: 1 of 3 instances available`},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("timeline:\n got %+v\nwant %+v", got, want)
	}
	if v.since != tlNewest.Add(-24*time.Hour).UnixMilli()+1 || v.until != tlNewest.UnixMilli()+1 {
		t.Fatalf("window %v..%v", time.UnixMilli(v.since).UTC(), time.UnixMilli(v.until).UTC())
	}
	frame := h.view()
	for _, s := range []string{"315 jobs", "7 tasks", "3 events", "1 Socotra",
		"2026-11-20 11:50 → 11-21 11:50 (last 24h of the cached data)", "312"} {
		if !strings.Contains(frame, s) {
			t.Fatalf("frame lacks %q:\n%s", s, frame)
		}
	}
	// A fixed window: the day before only.
	h2 := newHarness(t, st, timelineRoot("2026-11-20"), 200, 40)
	v2 := timelineView(t, h2)
	if n := len(v2.res.Entries); n != 3 || v2.res.Entries[0].Key != "ev-yesterday" {
		t.Fatalf("2026-11-20: %+v", v2.res.Entries)
	}
	// A duration: the last 2h of the data (09:50..11:50).
	h3 := newHarness(t, st, timelineRoot("2h"), 200, 40)
	if n := len(timelineView(t, h3).res.Entries); n != 3 {
		t.Fatalf("2h: %d entries:\n%s", n, h3.view())
	}
}

// TestTimelineCapped: a window with more lines than the cap says so.
func TestTimelineCapped(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "many.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var rows []store.EventRow
	for i := range store.DefaultTimelineLimit + 10 {
		rows = append(rows, store.EventRow{ID: fmt.Sprintf("ev-%05d", i), Severity: "WARNING", EventType: "X", Message: "m",
			Timestamp: tlNewest.Add(-time.Duration(i) * 10 * time.Second).UnixMilli(), Raw: []byte(`{}`)})
	}
	if _, err := st.WriteEvents(context.Background(), rows, nil); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, st, timelineRoot(""), 160, 20)
	v := timelineView(t, h)
	if !v.res.Capped || len(v.res.Entries) != store.DefaultTimelineLimit {
		t.Fatalf("capped %v, %d entries", v.res.Capped, len(v.res.Entries))
	}
	if !strings.Contains(h.view(), "capped at the newest 5,000 lines: narrow the window") {
		t.Fatalf("the cap is not said:\n%s", h.view())
	}
}

// selectEntry moves the cursor down to the first entry pred accepts.
func selectEntry(t *testing.T, h *harness, pred func(e *store.TimelineEntry) bool) store.TimelineEntry {
	t.Helper()
	v := timelineView(t, h)
	for range len(v.res.Entries) + 1 {
		if e, ok := v.selected(); ok && pred(e) {
			return *e
		}
		h.key("down")
	}
	t.Fatalf("no such entry:\n%s", h.view())
	return store.TimelineEntry{}
}

// TestTimelineEnter: Enter opens what each kind of line stands for, and
// the list it opens holds exactly the line's rows.
func TestTimelineEnter(t *testing.T) {
	st := timelineStore(t)
	ctx := context.Background()

	t.Run("job group", func(t *testing.T) {
		h := newHarness(t, st, timelineRoot(""), 160, 40)
		e := selectEntry(t, h, func(e *store.TimelineEntry) bool { return e.Source == "job" && e.Count == 312 })
		h.key("enter")
		l, ok := h.app.Top().(*List)
		if !ok || l.spec != jobsSpec {
			t.Fatalf("enter pushed %T", h.app.Top())
		}
		want := `state eq "ERRORED" and error_signature eq "` + e.Signature + `" and created_at ge "2026-11-21T08:01:00.000Z" and created_at le "2026-11-21T08:04:06.600Z"`
		if l.FilterText() != want {
			t.Fatalf("filter\n %s\nwant\n %s", l.FilterText(), want)
		}
		if n, err := st.CountQuery(ctx, store.EntityJobs, l.Query()); err != nil || n != 312 {
			t.Fatalf("the group's jobs: %d, %v", n, err)
		}
		h.key("esc")
		if e2, ok := timelineView(t, h).selected(); !ok || e2.Count != 312 {
			t.Fatal("esc did not come back to the same line")
		}
	})
	t.Run("single job", func(t *testing.T) {
		h := newHarness(t, st, timelineRoot(""), 160, 40)
		selectEntry(t, h, func(e *store.TimelineEntry) bool { return e.Source == "job" && e.Count == 1 })
		h.key("enter")
		if d, ok := h.app.Top().(*JobDetail); !ok || !strings.Contains(h.view(), "okta-1") {
			t.Fatalf("enter pushed %T:\n%s", d, h.view())
		}
	})
	t.Run("task group", func(t *testing.T) {
		h := newHarness(t, st, timelineRoot(""), 160, 40)
		selectEntry(t, h, func(e *store.TimelineEntry) bool { return e.Source == "task" && e.Count == 6 })
		h.key("enter")
		l, ok := h.app.Top().(*List)
		if !ok || l.spec != tasksSpec {
			t.Fatalf("enter pushed %T", h.app.Top())
		}
		if n, err := st.CountQuery(ctx, store.EntityTasks, l.Query()); err != nil || n != 6 {
			t.Fatalf("the group's tasks: %d, %v", n, err)
		}
	})
	t.Run("single task", func(t *testing.T) {
		h := newHarness(t, st, timelineRoot(""), 160, 40)
		selectEntry(t, h, func(e *store.TimelineEntry) bool { return e.Source == "task" && e.Count == 1 })
		h.key("enter")
		l, ok := h.app.Top().(*List)
		if !ok || l.spec != actionsSpec || !strings.Contains(h.view(), "Add Finance Groups") {
			t.Fatalf("enter did not open the task's actions:\n%s", h.view())
		}
	})
	t.Run("event", func(t *testing.T) {
		h := newHarness(t, st, timelineRoot(""), 160, 40)
		selectEntry(t, h, func(e *store.TimelineEntry) bool { return e.Key == "ev-outage" })
		h.key("enter")
		if _, ok := h.app.Top().(*EventDetail); !ok || !strings.Contains(h.view(), "INSIGHT_POINT_UNAVAILABLE") {
			t.Fatalf("enter pushed %T:\n%s", h.app.Top(), h.view())
		}
	})
	t.Run("socotra", func(t *testing.T) {
		h := newHarness(t, st, timelineRoot(""), 160, 40)
		selectEntry(t, h, func(e *store.TimelineEntry) bool { return e.Source == "socotra" })
		h.key("enter")
		w, ok := h.app.Top().(*socotraList)
		if !ok {
			t.Fatalf("enter pushed %T", h.app.Top())
		}
		if n, err := st.CountQuery(ctx, store.EntitySocotraFailed, w.Query()); err != nil || n != 1 {
			t.Fatalf("the failed job: %d, %v", n, err)
		}
		if !strings.Contains(h.view(), "renewal-01HVRENEW") || strings.Contains(h.view(), "invoice-run") {
			t.Fatalf("failed list:\n%s", h.view())
		}
	})
}

// TestTimelineCommand: `:timeline` opens with a window; a window it cannot
// read is flashed, and nothing is pushed.
func TestTimelineCommand(t *testing.T) {
	st := timelineStore(t)
	h := newHarness(t, st, jobsRoot(""), 160, 30)
	h.key(":")
	h.typeText("timeline 6h")
	h.key("enter")
	v := timelineView(t, h)
	if v.win.last != 6*time.Hour || !strings.Contains(h.view(), "(last 6h of the cached data)") {
		t.Fatalf(":timeline 6h:\n%s", h.view())
	}
	h.key("esc")
	for _, c := range []struct{ args, flash string }{
		{"bogus", `timeline: give a duration (6h, 90m, 2d, 1w) or a range`},
		{"2026-11-21..2026-11-20", "timeline: the window 2026-11-21..2026-11-20 ends before it starts"},
		{"0h", "timeline: a window of 0h: give one from a minute to a year"},
		{"2026-11-20..tomorrow", `"tomorrow"`},
		{"9000d", "give one from a minute to a year"},
	} {
		h.key(":")
		h.typeText("timeline " + c.args)
		h.key("enter")
		if _, ok := h.app.Top().(*Timeline); ok {
			t.Fatalf(":timeline %s opened a timeline", c.args)
		}
		if !strings.Contains(h.view(), c.flash) {
			t.Fatalf(":timeline %s: no flash %q:\n%s", c.args, c.flash, h.view())
		}
	}
}

func TestParseTimelineWindow(t *testing.T) {
	utc := time.UTC
	ms := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	for _, c := range []struct {
		in   string
		want timelineWindow
	}{
		{"", timelineWindow{last: 24 * time.Hour}},
		{"6h", timelineWindow{last: 6 * time.Hour}},
		{" 90m ", timelineWindow{last: 90 * time.Minute}},
		{"2d", timelineWindow{last: 48 * time.Hour}},
		{"1w", timelineWindow{last: 7 * 24 * time.Hour}},
		{"1d12h", timelineWindow{last: 36 * time.Hour}},
		{"2026-01-10..2026-01-12", timelineWindow{since: ms("2026-01-10T00:00:00Z"), until: ms("2026-01-13T00:00:00Z")}},
		{"2026-01-10", timelineWindow{since: ms("2026-01-10T00:00:00Z"), until: ms("2026-01-11T00:00:00Z")}},
		{"2026-01-10T08:00..2026-01-10T12:30", timelineWindow{since: ms("2026-01-10T08:00:00Z"), until: ms("2026-01-10T12:30:00Z")}},
		{"2026-01-10T08:00:00+02:00..2026-01-10T12:00:00Z", timelineWindow{since: ms("2026-01-10T06:00:00Z"), until: ms("2026-01-10T12:00:00Z")}},
	} {
		got, err := parseTimelineWindow(c.in, utc)
		if err != nil || got != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"x", "6", "-6h", "0s", "2026-01-12..2026-01-10", "2026-01-10..", "..2026-01-10",
		"2026-13-01", "2025-01-01..2026-06-01", "99999d", "1.5d"} {
		if w, err := parseTimelineWindow(bad, utc); err == nil {
			t.Errorf("%q accepted: %+v", bad, w)
		}
	}
	// Dates are in the view's zone.
	ny, err := time.LoadLocation("America/New_York")
	if err == nil {
		w, err := parseTimelineWindow("2026-01-10", ny)
		if err != nil || w.since != ms("2026-01-10T05:00:00Z") {
			t.Errorf("New York: %+v, %v", w, err)
		}
	}
}

// TestTimelineReloadsOnSync: new ERRORED jobs synced into the window show
// on the next read; another entity's sync does not re-read.
func TestTimelineReloadsOnSync(t *testing.T) {
	st := timelineStore(t)
	h := newHarness(t, st, timelineRoot(""), 160, 30)
	v := timelineView(t, h)
	seq := v.seq
	h.send(SyncedMsg{Entity: store.EntityAutomations, Rows: 3})
	if v.seq != seq {
		t.Fatal("an automations sync re-read the timeline")
	}
	job := tlJobRow("new-1", "ERRORED", "Okta (example)", "password does not meet complexity requirements for a@example.com", tlNewest.Add(time.Minute))
	if _, err := st.WriteJobs(context.Background(), []store.JobRow{job}, nil); err != nil {
		t.Fatal(err)
	}
	v.reloads.last = time.Time{} // past the throttle
	h.send(SyncedMsg{Entity: store.EntityJobs, Rows: 1})
	if len(v.res.Entries) == 0 || v.res.Entries[0].Key != "new-1" {
		t.Fatalf("the new job is not the newest line:\n%s", h.view())
	}
	// The relative window slid with the newest data.
	if v.until != tlNewest.Add(time.Minute).UnixMilli()+1 {
		t.Fatalf("until %v", time.UnixMilli(v.until).UTC())
	}
}

func TestTimelineEmptyAndTiny(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := newHarness(t, st, timelineRoot(""), 100, 20)
	if !strings.Contains(h.view(), "the cache is empty") {
		t.Fatalf("empty cache:\n%s", h.view())
	}
	h.key("enter") // nothing selected: nothing happens
	timelineView(t, h)
	full := timelineStore(t)
	for _, sz := range [][2]int{{40, 10}, {20, 6}, {12, 3}} {
		h := newHarness(t, full, timelineRoot(""), sz[0], sz[1])
		checkFrame(t, h.view(), sz[0], sz[1])
		h.key("down", "enter")
		checkFrame(t, h.view(), sz[0], sz[1])
	}
}
