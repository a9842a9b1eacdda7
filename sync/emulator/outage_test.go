package emulator

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/signature"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// TestOutageStory checks, through the API, the incident the demo's
// :timeline shows (outage.go), on the demo's data set: the last system
// event before the outage is insight-point-3 becoming unavailable, then
// the AD jobs that run during the outage fail with one signature, and no
// job outside it fails that way.
func TestOutageStory(t *testing.T) {
	s := New(Options{Seed: 1, Scale: 30000, Token: "outage-test"})
	start, end := s.g.outageSpan()

	evs := eventPages(t, s, vals("page_size", "10000"))
	var before *SystemEvent
	for i := range evs {
		if evs[i].Timestamp.UnixMilli() < start {
			before = &evs[i]
		}
	}
	if before == nil || before.EventType != "INSIGHT_POINT_UNAVAILABLE" || before.Severity != "ERROR" ||
		before.EntityName != "insight-point-3" || before.Error == nil || before.Error.Reason != "INSIGHT_POINT_UNAVAILABLE" {
		t.Fatalf("the event before the outage: %+v", before)
	}
	if gap := time.UnixMilli(start).Sub(before.Timestamp); gap > time.Hour {
		t.Fatalf("the outage event is %v before the outage", gap)
	}

	errored, _ := all[veza.Job](t, s, jobsPath, vals("filter", `state eq "ERRORED"`, "details", "true", "page_size", "100"))
	sigs := map[string]bool{}
	n := 0
	for _, j := range errored {
		var res veza.JobResult
		var req veza.JobRequest
		if json.Unmarshal(j.Result, &res) != nil || json.Unmarshal(j.Request, &req) != nil || len(res.ErrorMessages) == 0 {
			t.Fatalf("job %s: request %s result %s", j.JobID, j.Request, j.Result)
		}
		msg := res.ErrorMessages[0]
		if !strings.Contains(msg, "insight-point-3 unavailable") {
			continue
		}
		n++
		sigs[signature.Normalize(msg)] = true
		at := j.CreatedAt.UnixMilli()
		if at < start || at >= end+time.Hour.Milliseconds() { // an action's jobs may trail its start
			t.Fatalf("outage failure at %v, outside the outage %v..%v", j.CreatedAt, time.UnixMilli(start).UTC(), time.UnixMilli(end).UTC())
		}
		if req.DataSource.Name != dataSources[dsAD].name {
			t.Fatalf("outage failure on %q", req.DataSource.Name)
		}
		if !j.CreatedAt.After(before.Timestamp) {
			t.Fatal("a failure before the outage event")
		}
	}
	if n < 5 || len(sigs) != 1 {
		t.Fatalf("%d outage failures in %d signatures %v; want a burst of one", n, len(sigs), sigs)
	}
}
