package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// tlBase is the newest moment of timelineStore's data.
var tlBase = time.Date(2026, 1, 11, 12, 0, 0, 0, time.UTC)

func tlMs(d time.Duration) int64 { return tlBase.Add(d).UnixMilli() }

// tlJob is an integration job of data source ds created at tlBase+at.
func tlJob(id, state, ds, msg string, at time.Duration) JobRow {
	req, _ := json.Marshal(map[string]any{"data_source": map[string]any{"id": "ds-" + ds, "name": ds, "type": "X"}})
	res, _ := json.Marshal(map[string]any{"error_messages": []string{}, "output_entities": []any{}})
	if msg != "" {
		res, _ = json.Marshal(map[string]any{"error_messages": []string{msg}, "output_entities": []any{}})
	}
	return JobRow{JobID: id, State: state, PolicyTask: "task-" + id, ActionName: "Sync", ActionType: "SYNC_IDENTITIES",
		WorkflowName: "Joiner", IdentityID: "i-" + id, IdentityName: "Person " + id, EventSource: "POLICY",
		CreatedAt: tlMs(at), StartedAt: tlMs(at) + 100, CompletedAt: tlMs(at) + 900,
		Request: req, Result: res, Raw: []byte(fmt.Sprintf(`{"job_id":%q}`, id))}
}

// timelineStore: an Insight Point outage at -3h (an ERROR event), then 40
// jobs failing the same way within four minutes on one data source and 5
// on another, two other failures, COMPLETED jobs, ERRORED tasks, events of
// every severity, Socotra failed jobs, and rows outside the window.
func timelineStore(t *testing.T) *Store {
	t.Helper()
	s := openTest(t)
	var jobs []JobRow
	// The burst: -3h+30s .. -3h+4m, in one 5-minute bucket (the hour is
	// bucket-aligned). 40 on AD, 5 on the SMTP relay.
	for i := range 45 {
		ds := "Active Directory"
		if i >= 40 {
			ds = "SMTP relay"
		}
		jobs = append(jobs, tlJob(fmt.Sprintf("burst-%02d", i), "ERRORED", ds,
			fmt.Sprintf("timeout after 30000ms waiting for agent insight-point-3 response (job %d)", 1000+i),
			-3*time.Hour+30*time.Second+time.Duration(i)*5*time.Second))
	}
	// The same signature, two buckets later: its own entry.
	jobs = append(jobs, tlJob("later-1", "ERRORED", "Active Directory", "timeout after 60000ms waiting for agent insight-point-3 response (job 7)", -3*time.Hour+12*time.Minute),
		tlJob("later-2", "ERRORED", "Active Directory", "timeout after 30000ms waiting for agent insight-point-3 response (job 8)", -3*time.Hour+13*time.Minute))
	// A single failure: shown with its own message.
	jobs = append(jobs, tlJob("single", "ERRORED", "Okta", "user jsmith not found in group 'Finance'", -1*time.Hour))
	for i := range 20 {
		jobs = append(jobs, tlJob(fmt.Sprintf("ok-%02d", i), "COMPLETED", "Okta", "", -time.Duration(i)*time.Hour))
	}
	// Outside the window (-30h) and at its very end (excluded: Until is open).
	jobs = append(jobs, tlJob("old", "ERRORED", "Okta", "user old not found in group 'Finance'", -30*time.Hour))
	if _, err := s.WriteJobs(ctx, jobs, nil); err != nil {
		t.Fatal(err)
	}
	tasks := []TaskRow{
		{ID: "t-1", State: "ERRORED", Workflow: "Leaver", IdentityID: "a", StartedAt: tlMs(-2*time.Hour - 59*time.Minute), Messages: []string{"action Disable AD Account failed: timeout"}},
		{ID: "t-2", State: "ERRORED", Workflow: "Leaver", IdentityID: "b", StartedAt: tlMs(-2*time.Hour - 58*time.Minute), Messages: []string{"action Disable AD Account failed: timeout"}},
		{ID: "t-3", State: "ERRORED", Workflow: "Mover", IdentityID: "c", StartedAt: tlMs(-5 * time.Hour), Messages: []string{"group 'HR' not found"}},
		{ID: "t-4", State: "COMPLETED", Workflow: "Mover", IdentityID: "d", StartedAt: tlMs(-4 * time.Hour)},
	}
	if _, err := s.WriteTasks(ctx, tasks, nil); err != nil {
		t.Fatal(err)
	}
	ev := func(id, sev, typ, msg string, at time.Duration) EventRow {
		return EventRow{ID: id, Timestamp: tlMs(at), Severity: sev, Category: "INTEGRATIONS", EventType: typ,
			Name: typ, Message: msg, Entity: "INSIGHT_POINT", EntityName: "insight-point-3", Raw: []byte(`{}`)}
	}
	events := []EventRow{
		ev("ev-outage", "ERROR", "INSIGHT_POINT_UNAVAILABLE", `Insight Point "insight-point-3" is unavailable`, -3*time.Hour),
		ev("ev-degraded", "WARNING", "INSIGHT_POINT_DEGRADED", `Insight Point "insight-point-3" is degraded`, -3*time.Hour-10*time.Minute),
		ev("ev-info", "INFO", "USER_LOGIN", "User x logged in", -2*time.Hour),
		ev("ev-old", "ERROR", "DISCOVERY_FAILED", "old", -48*time.Hour),
	}
	if _, err := s.WriteEvents(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	failed := []SocotraFailedRow{
		{TriggerGroup: "policy:P1", TriggerName: "renewal-P1", State: "quit", FailureCount: 5, CreatedAt: tlMs(-6 * time.Hour), UpdatedAt: tlMs(-30 * time.Minute)},
		{TriggerGroup: "tenant:T", TriggerName: "invoice-run", State: "queued", FailureCount: 1, CreatedAt: tlMs(-40 * time.Hour), UpdatedAt: tlMs(-40 * time.Hour)},
	}
	if _, _, err := s.ReplaceSocotraFailed(ctx, failed, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewestTime(t *testing.T) {
	s := openTest(t)
	if n, err := s.NewestTime(ctx); err != nil || n != 0 {
		t.Fatalf("empty cache: %d, %v", n, err)
	}
	s = timelineStore(t)
	n, err := s.NewestTime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := tlMs(0); n != want { // ok-00, the newest job
		t.Fatalf("newest %v, want %v", time.UnixMilli(n).UTC(), time.UnixMilli(want).UTC())
	}
}

func TestTimeline(t *testing.T) {
	s := timelineStore(t)
	res, err := s.Timeline(ctx, TimelineOptions{Since: tlMs(-24 * time.Hour), Until: tlMs(0)})
	if err != nil {
		t.Fatal(err)
	}
	const sig = "timeout after <num>ms waiting for agent insight-point-<num> response (job <num>)"
	type line struct {
		src, state string
		n          int
		what, ent  string
		key        string
	}
	var got []line
	for _, e := range res.Entries {
		got = append(got, line{e.Source, e.State, e.Count, e.What, e.Entity, e.Key})
	}
	want := []line{
		{TimelineSocotra, "quit", 5, "renewal-P1", "policy:P1", "renewal-P1"},
		{TimelineJob, "ERRORED", 1, "user jsmith not found in group 'Finance'", "Okta", "single"},
		{TimelineJob, "ERRORED", 2, sig, "Active Directory", ""},
		{TimelineJob, "ERRORED", 45, sig, "SMTP relay +1", ""},
		{TimelineTask, "ERRORED", 2, "action Disable AD Account failed: timeout", "Leaver", ""},
		{TimelineEvent, "ERROR", 1, `INSIGHT_POINT_UNAVAILABLE: Insight Point "insight-point-3" is unavailable`, "insight-point-3", "ev-outage"},
		{TimelineEvent, "WARNING", 1, `INSIGHT_POINT_DEGRADED: Insight Point "insight-point-3" is degraded`, "insight-point-3", "ev-degraded"},
		{TimelineTask, "ERRORED", 1, "group 'HR' not found", "Mover", "t-3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("timeline:\n got %+v\nwant %+v", got, want)
	}
	burst := res.Entries[3]
	if burst.First != tlMs(-3*time.Hour+30*time.Second) || burst.Time != tlMs(-3*time.Hour+30*time.Second+44*5*time.Second) {
		t.Fatalf("burst spans %v..%v", time.UnixMilli(burst.First).UTC(), time.UnixMilli(burst.Time).UTC())
	}
	if res.Capped || res.Jobs != 48 || res.Tasks != 3 || res.Events != 2 || res.Socotra != 1 {
		t.Fatalf("totals %+v", res)
	}
	ids := map[string]bool{}
	for _, e := range res.Entries {
		if ids[e.ID()] {
			t.Fatalf("duplicate id %q", e.ID())
		}
		ids[e.ID()] = true
	}

	// COMPLETED jobs never show: a window taking in the newest job (ok-00
	// at 0) is the same.
	res2, err := s.Timeline(ctx, TimelineOptions{Since: tlMs(-24 * time.Hour), Until: tlMs(0) + 1})
	if err != nil || len(res2.Entries) != len(res.Entries) {
		t.Fatalf("%d entries, %v", len(res2.Entries), err)
	}
	// A narrow window: only the outage hour.
	res3, err := s.Timeline(ctx, TimelineOptions{Since: tlMs(-3*time.Hour - 15*time.Minute), Until: tlMs(-2*time.Hour - 30*time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res3.Entries) != 5 || res3.Jobs != 47 {
		t.Fatalf("outage hour: %d entries, %d jobs", len(res3.Entries), res3.Jobs)
	}
	if _, err := s.Timeline(ctx, TimelineOptions{Since: 5, Until: 5}); err == nil {
		t.Fatal("an empty window was accepted")
	}
}

// TestTimelineCapped: Limit keeps the newest entries and says so.
func TestTimelineCapped(t *testing.T) {
	s := timelineStore(t)
	res, err := s.Timeline(ctx, TimelineOptions{Since: tlMs(-24 * time.Hour), Until: tlMs(0), Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Capped || len(res.Entries) != 3 || res.Entries[2].Source != TimelineJob || res.Entries[2].Count != 2 {
		t.Fatalf("capped: %v, %+v", res.Capped, res.Entries)
	}
	// The single job is still named after the cut.
	if res.Entries[1].Key != "single" {
		t.Fatalf("single job key %q", res.Entries[1].Key)
	}
	res, err = s.Timeline(ctx, TimelineOptions{Since: tlMs(-24 * time.Hour), Until: tlMs(0), Limit: 8})
	if err != nil || res.Capped || len(res.Entries) != 8 {
		t.Fatalf("exactly the limit: capped %v, %d entries, %v", res.Capped, len(res.Entries), err)
	}
}

// TestTimelineBuckets: a one-minute bucket splits the burst; both ways of
// reading (a seek to the window, a scan of the ERRORED index) agree.
func TestTimelineBuckets(t *testing.T) {
	s := timelineStore(t)
	res, err := s.Timeline(ctx, TimelineOptions{Since: tlMs(-24 * time.Hour), Until: tlMs(0), Bucket: 60_000})
	if err != nil {
		t.Fatal(err)
	}
	n, total := 0, 0
	for _, e := range res.Entries {
		if e.Source == TimelineJob && e.Time < tlMs(-2*time.Hour) {
			n++
			total += e.Count
		}
	}
	// The burst's minutes 0..4 (6, 12, 12, 12 and 3 jobs), then 12m and 13m.
	if n != 7 || total != 47 {
		t.Fatalf("one-minute buckets: %d groups of %d jobs: %+v", n, total, res.Entries)
	}
	for _, spec := range errGroupSpecs {
		narrow, nn, err := s.errorBucketsBy(ctx, spec, spec.narrow, tlMs(-24*time.Hour), tlMs(0), 60_000)
		if err != nil {
			t.Fatal(err)
		}
		wide, nw, err := s.errorBucketsBy(ctx, spec, spec.wide, tlMs(-24*time.Hour), tlMs(0), 60_000)
		if err != nil {
			t.Fatal(err)
		}
		if nn != nw || len(narrow) == 0 || !sameEntries(narrow, wide) {
			t.Fatalf("%s: narrow %d %+v\nwide %d %+v", spec.table, nn, narrow, nw, wide)
		}
	}
}

func sameEntries(a, b []TimelineEntry) bool {
	m := map[string]TimelineEntry{}
	for _, e := range a {
		m[e.ID()] = e
	}
	if len(m) != len(b) {
		return false
	}
	for _, e := range b {
		if m[e.ID()] != e {
			return false
		}
	}
	return true
}
