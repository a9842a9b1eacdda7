package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "cache", "opsdeck.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var ctx = context.Background()

// gen makes deterministic activity-log rows shaped like the sync writes them:
// in created_at order, random UUID keys, a few jobs per action and a few
// actions per task, ~1.75 KB of JSON per job with details.
type gen struct {
	rng     *rand.Rand
	t       int64 // current created_at, unix ms
	curTask string
	act     string
	nAct    int // jobs left in the current action
	nTsk    int // actions left in the current task
	acts    int
}

func newGen(seed uint64) *gen {
	return &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), t: 1_750_000_000_000}
}

func (g *gen) uuid() string {
	a, b := g.rng.Uint64(), g.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>48&0x3fff|0x8000, b&0xffffffffffff)
}

var testStates = []string{"COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "ERRORED", "RUNNING", "SKIPPED", "PENDING"}

var testNames = []string{"Ada Lovelace", "Grace Hopper", "Alan Smith", "Barbara Liskov", "Ken Thompson", "Donald Knuth", "Edsger Dijkstra", "Frances Allen"}

// job returns the next job. step is the created_at increment in ms (0 makes
// ties). withPayload adds request/result as a details=true list would.
func (g *gen) job(step int64, withPayload bool) JobRow {
	if g.nAct == 0 {
		if g.nTsk == 0 {
			g.curTask = g.uuid()
			g.nTsk = 1 + g.rng.IntN(4)
		}
		g.nTsk--
		g.acts++
		g.act = fmt.Sprintf("Action %d", g.acts%40)
		g.nAct = 1 + g.rng.IntN(6)
	}
	g.nAct--
	g.t += step
	state := testStates[g.rng.IntN(len(testStates))]
	name := testNames[g.rng.IntN(len(testNames))]
	r := JobRow{
		JobID:               g.uuid(),
		State:               state,
		PolicyTask:          g.curTask,
		ActionName:          g.act,
		ActionType:          "SYNC_IDENTITIES",
		PolicyID:            "policy-0001",
		WorkflowName:        "Joiner workflow",
		IdentityID:          g.uuid(),
		IdentityName:        name,
		EventSource:         "POLICY",
		EventSourceID:       "policy-0001",
		ExtractionEvent:     "extraction-42",
		ExtractionEventType: "FULL",
		CreatedAt:           g.t,
		StartedAt:           g.t + 10,
		CompletedAt:         g.t + 900,
		AnyChanges:          g.rng.IntN(2) == 0,
		EventsCreated:       int64(g.rng.IntN(3)),
	}
	if withPayload {
		r.Request = g.request(name)
		r.Result = g.result(state)
	}
	r.Raw = rawJob(r)
	return r
}

func (g *gen) request(name string) []byte {
	ents := make([]map[string]any, 3)
	for i := range ents {
		attrs := map[string]any{}
		for _, k := range []string{"display_name", "email", "department", "title", "manager", "location", "employee_id", "cost_center"} {
			attrs[k] = fmt.Sprintf("%.8s%03d", name, g.rng.IntN(1000))
		}
		ents[i] = map[string]any{"entity_type": "OktaUser", "entity_id": g.uuid(), "attributes": attrs}
	}
	b, _ := json.Marshal(map[string]any{
		"data_source":    map[string]any{"id": "ds-okta-1", "type": "okta", "name": "Okta prod", "config": map[string]any{"domain": "example.okta.com"}},
		"input_entities": ents,
		"action_type":    "SYNC_IDENTITIES",
		"action_config":  map[string]any{"create_if_missing": true},
	})
	return b
}

func (g *gen) result(state string) []byte {
	var errs []string
	if state == "ERRORED" {
		errs = []string{fmt.Sprintf("okta: 429 rate limited (request %d)", g.rng.IntN(1e6)), "retry budget exhausted"}
	}
	b, _ := json.Marshal(map[string]any{"output_entities": []any{}, "error_messages": errs, "any_changes": false, "any_created": false})
	return b
}

// rawJob is the object as the API sends it, payloads included when present.
func rawJob(r JobRow) []byte {
	m := map[string]any{
		"job_id": r.JobID, "state": r.State, "policy_task": r.PolicyTask, "action_name": r.ActionName,
		"action_type": r.ActionType, "policy_id": r.PolicyID, "workflow_name": r.WorkflowName,
		"identity_id": r.IdentityID, "identity_name": r.IdentityName, "event_source": r.EventSource,
		"event_source_id": r.EventSourceID, "extraction_event": r.ExtractionEvent,
		"extraction_event_type": r.ExtractionEventType, "created_at": r.CreatedAt, "started_at": r.StartedAt,
		"completed_at": r.CompletedAt, "any_changes": r.AnyChanges, "events_created": r.EventsCreated,
	}
	if r.Request != nil {
		m["request"] = json.RawMessage(r.Request)
		m["result"] = json.RawMessage(r.Result)
	}
	b, _ := json.Marshal(m)
	return b
}

func (g *gen) jobs(n int, step int64, withPayload bool) []JobRow {
	out := make([]JobRow, n)
	for i := range out {
		out[i] = g.job(step, withPayload)
	}
	return out
}

func (g *gen) task(step int64) TaskRow {
	g.t += step
	state := testStates[g.rng.IntN(len(testStates))]
	r := TaskRow{
		ID: g.uuid(), PolicyID: "policy-0001", PolicyVersionNumber: 3, Workflow: "Joiner workflow",
		EntityType: "OktaUser", EntityID: g.uuid(), IdentityID: g.uuid(),
		IdentityName: testNames[g.rng.IntN(len(testNames))], IdentityStatus: "NEW", State: state,
		ExtractionEvent: "extraction-42", ScheduledAt: g.t - 1000, StartedAt: g.t, CompletedAt: g.t + 5000,
		Priority: int64(g.rng.IntN(5)), TCreatedAt: g.t - 2000, TUpdatedAt: g.t + 5000,
	}
	if state == "ERRORED" {
		r.Messages = []string{"action Sync failed: okta: 429", "second message"}
	}
	r.Raw, _ = json.Marshal(map[string]any{"id": r.ID, "state": r.State, "messages": r.Messages})
	return r
}

func (g *gen) action(step int64) ActionRow {
	g.t += step
	g.acts++
	state := testStates[g.rng.IntN(len(testStates))]
	r := ActionRow{
		State: state, PolicyTask: g.uuid(), ActionName: fmt.Sprintf("Action %d", g.acts%40),
		ActionType: "SYNC_IDENTITIES", PolicyID: "policy-0001", WorkflowName: "Joiner workflow",
		IdentityID: g.uuid(), IdentityName: testNames[g.rng.IntN(len(testNames))],
		StartedAt: g.t, CompletedAt: g.t + 3000, ExtractionEvent: "extraction-42", JobsStarted: 2,
	}
	if state == "ERRORED" {
		r.ErrorMessage = "job failed"
	}
	r.Raw, _ = json.Marshal(map[string]any{"policy_task": r.PolicyTask, "action_name": r.ActionName, "state": r.State})
	return r
}
