package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
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

var attrKeys = []string{"display_name", "email", "department", "title", "manager", "location", "employee_id", "cost_center"}

// request, result and rawJob append JSON by hand: the 1M-row benchmark
// cache is generated on the fly and encoding/json over maps is 10x slower.
func (g *gen) request(name string) []byte {
	b := make([]byte, 0, 1200)
	b = append(b, `{"action_config":{"create_if_missing":true},"action_type":"SYNC_IDENTITIES","data_source":{"config":{"domain":"example.okta.com"},"id":"ds-okta-1","name":"Okta prod","type":"okta"},"input_entities":[`...)
	short := name[:min(8, len(name))]
	for i := 0; i < 3; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"attributes":{`...)
		for j, k := range attrKeys {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, `":"`...)
			b = append(b, short...)
			b = fmt.Appendf(b, "%03d", g.rng.IntN(1000))
			b = append(b, '"')
		}
		b = append(b, `},"entity_id":"`...)
		b = append(b, g.uuid()...)
		b = append(b, `","entity_type":"OktaUser"}`...)
	}
	return append(b, "]}"...)
}

func (g *gen) result(state string) []byte {
	if state == "ERRORED" {
		return fmt.Appendf(nil, `{"any_changes":false,"any_created":false,"error_messages":["okta: 429 rate limited (request %d)","retry budget exhausted"],"output_entities":[]}`, g.rng.IntN(1e6))
	}
	return []byte(`{"any_changes":false,"any_created":false,"error_messages":null,"output_entities":[]}`)
}

// rawJob is the object as the API sends it, payloads included when present.
func rawJob(r JobRow) []byte {
	b := make([]byte, 0, 700+len(r.Request)+len(r.Result))
	str := func(k, v string) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		b = strconv.AppendQuote(b, v)
		b = append(b, ',')
	}
	num := func(k string, v int64) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, v, 10)
		b = append(b, ',')
	}
	b = append(b, '{')
	str("action_name", r.ActionName)
	str("action_type", r.ActionType)
	b = fmt.Appendf(b, `"any_changes":%v,`, r.AnyChanges)
	num("completed_at", r.CompletedAt)
	num("created_at", r.CreatedAt)
	str("event_source", r.EventSource)
	str("event_source_id", r.EventSourceID)
	num("events_created", r.EventsCreated)
	str("extraction_event", r.ExtractionEvent)
	str("extraction_event_type", r.ExtractionEventType)
	str("identity_id", r.IdentityID)
	str("identity_name", r.IdentityName)
	str("job_id", r.JobID)
	str("policy_id", r.PolicyID)
	str("policy_task", r.PolicyTask)
	if r.Request != nil {
		b = append(b, `"request":`...)
		b = append(b, r.Request...)
		b = append(b, `,"result":`...)
		b = append(b, r.Result...)
		b = append(b, ',')
	}
	num("started_at", r.StartedAt)
	str("state", r.State)
	str("workflow_name", r.WorkflowName)
	b[len(b)-1] = '}'
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
