package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// The LCM write endpoints (API-CONTRACT.md §1.2-1.4): restart a task,
// unblock tasks, push a job's result. The generator's data never changes, so
// a write is recorded as a patch that every later materialisation of the
// task applies (matAt): a list, a get, a filter and a re-sync all see the
// written state. Patches are copy-on-write behind an atomic pointer, so the
// read path pays one nil check while nobody has written.
//
// HTTP mapping of the refusals [assumed]: a request that is malformed is 400
// InvalidArgument naming the field; a job that is not webhook-based is 400
// FailedPrecondition (the gRPC-gateway mapping); a record whose state does
// not allow the write is 409 FailedPrecondition, which tells a client that
// retrying will not help until the state changes; an unknown id is 404.

// lcmWrites is the mutable state of the write endpoints and of the async
// exports (lcm_export.go). Its zero value is ready: no writes.
type lcmWrites struct {
	patches atomic.Pointer[patchSet]

	mu          sync.Mutex // serialises writers and guards the exports
	exports     map[string]*export
	nExports    int
	exportLimit int // rows; 0 means defaultExportLimit, negative means none
}

// patchSet is an immutable snapshot of every write so far.
type patchSet struct {
	tasks map[int]taskPatch // by task index
	jobs  map[int]jobPatch  // by global job index
}

// Kinds of task write.
const (
	patchRestart = iota + 1 // restart: the task runs again, then completes
	patchRun                // unblock RUN: the blocked work runs, then completes
	patchAbandon            // unblock ABANDON
)

type taskPatch struct {
	kind   int
	at     int64 // unix ms of the write
	settle int64 // how long the new run takes, ms
	runs   int   // how many times the task was restarted
}

type jobPatch struct {
	at                     int64
	anyChanges, anyCreated bool
	outputs                []veza.Entity
	result                 json.RawMessage // the result the job now carries
}

// update applies f to a copy of the current patches and publishes it.
// The caller holds w.mu.
func (w *lcmWrites) update(f func(p *patchSet)) {
	next := &patchSet{tasks: map[int]taskPatch{}, jobs: map[int]jobPatch{}}
	if cur := w.patches.Load(); cur != nil {
		next.tasks = maps.Clone(cur.tasks)
		next.jobs = maps.Clone(cur.jobs)
	}
	f(next)
	w.patches.Store(next)
}

// apply lays the writes recorded for task i over m, materialised as of at.
func (w *lcmWrites) apply(i int, at int64, m *taskMat) {
	p := w.patches.Load()
	if p == nil {
		return
	}
	if tp, ok := p.tasks[i]; ok && at >= tp.at {
		applyTaskPatch(tp, at, m)
	}
	if len(p.jobs) == 0 {
		return
	}
	for j := 0; j < m.sk.nj; j++ {
		if jp, ok := p.jobs[m.sk.j0+j]; ok && at >= jp.at {
			applyJobPatch(jp, m, j)
		}
	}
}

// pushedResult is the result pushed for job k, if any.
func (w *lcmWrites) pushedResult(k int) json.RawMessage {
	p := w.patches.Load()
	if p == nil {
		return nil
	}
	if jp, ok := p.jobs[k]; ok {
		return jp.result
	}
	return nil
}

func applyTaskPatch(tp taskPatch, at int64, m *taskMat) {
	t := &m.task
	done := at >= tp.at+tp.settle
	end := tp.at + tp.settle
	last := m.sk.na - 1
	switch tp.kind {
	case patchRestart:
		t.StartedAt, t.CompletedAt, t.Messages = ptime(tp.at), nil, nil
		t.Reason = fmt.Sprintf("Restarted through the API (run %d)", tp.runs+1)
		t.State, t.TUpdatedAt = "RUNNING", ptime(tp.at)
		if done {
			t.State, t.CompletedAt, t.TUpdatedAt = "COMPLETED", ptime(end), ptime(end)
		}
		// The action that ended the previous run runs again.
		if last >= 0 {
			a := &m.acts[last]
			a.StartedAt, a.CompletedAt, a.ErrorMessage, a.State = ptime(tp.at+1), nil, "", "RUNNING"
			if done {
				a.State, a.CompletedAt = "COMPLETED", ptime(end-1)
			}
		}
	case patchRun, patchAbandon:
		state, completed := "RUNNING", (*time.Time)(nil)
		switch {
		case tp.kind == patchAbandon:
			state, completed = "ABANDONED", ptime(tp.at)
			t.Reason = strings.TrimSuffix(t.Reason, ".") + "; abandoned through the API"
		case done:
			state, completed = "COMPLETED", ptime(end)
			t.Reason = "Unblocked through the API: ran despite the change limit"
		default:
			t.Reason = "Unblocked through the API: running despite the change limit"
		}
		if tp.kind == patchRun {
			t.DisregardChangeLimit = true
		}
		t.State, t.CompletedAt, t.TUpdatedAt = state, completed, ptime(tp.at)
		if completed != nil {
			t.TUpdatedAt = completed
		}
		for p := 0; p <= last; p++ {
			if a := &m.acts[p]; m.sk.acts[p].state == stBlocked {
				a.State, a.CompletedAt = state, completed
			}
		}
		for j := 0; j < m.sk.nj; j++ {
			if m.sk.jobs[j].state != stBlocked {
				continue
			}
			job := &m.jobs[j]
			job.State, job.CompletedAt = state, completed
			if tp.kind == patchRun {
				job.StartedAt = ptime(tp.at + 1)
			}
		}
	}
}

func applyJobPatch(jp jobPatch, m *taskMat, j int) {
	job := &m.jobs[j]
	job.State = "COMPLETED"
	job.CompletedAt = ptime(jp.at)
	if job.StartedAt == nil || job.StartedAt.UnixMilli() > jp.at {
		job.StartedAt = ptime(jp.at)
	}
	job.AnyChanges = jp.anyChanges
	job.EventsCreated = 0
	if jp.anyChanges {
		job.EventsCreated = len(jp.outputs)
	}
	m.errs[j] = ""
	// The job's action completes once none of its jobs is left unfinished.
	p := int(m.actOf[j])
	a := &m.acts[p]
	as := &m.sk.acts[p]
	for x := 0; x < as.nj; x++ {
		switch m.jobs[as.j0-m.sk.j0+x].State {
		case "COMPLETED", "SKIPPED":
		default:
			return
		}
	}
	a.State, a.ErrorMessage = "COMPLETED", ""
	a.AnyChanges = a.AnyChanges || jp.anyChanges
	if a.CompletedAt == nil || a.CompletedAt.UnixMilli() < jp.at {
		a.CompletedAt = ptime(jp.at + 1)
	}
}

func ptime(ms int64) *time.Time { return tp(ms) }

// settleTime is how long a restarted or unblocked task runs: 10 to 60 s,
// fixed by the seed, the task and the run so responses are reproducible.
func (g *gen) settleTime(i, run int) int64 {
	return 10_000 + int64(mix64(uint64(i)<<8^uint64(run)^g.jitterKey)%50_000)
}

// isWebhook reports whether a step reports its result asynchronously (seed
// 000: ServiceNow, custom REST actions, SEND_REST_PAYLOAD).
func isWebhook(st step) bool {
	if st.typ == "SEND_REST_PAYLOAD" {
		return true
	}
	switch dataSources[st.ds].typ {
	case "SERVICENOW", "CUSTOM_REST":
		return true
	}
	return false
}

// maxWriteBody bounds a write request's body.
const maxWriteBody = 1 << 20

// decodeBody decodes a JSON request body strictly (unknown fields are an
// error, as with the gRPC-gateway's JSON unmarshaller). It answers 400
// itself and returns false on failure.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWriteBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.badRequest(w, r, "body", fmt.Sprintf("request body exceeds %d bytes", maxWriteBody))
			return false
		}
		s.badRequest(w, r, "body", "could not read the request body")
		return false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		s.badRequest(w, r, "body", "malformed JSON: "+err.Error())
		return false
	}
	return true
}

// taskAt materialises task id as the API sees it now, writes included.
func (s *Server) taskAt(id string, v *view, m *taskMat) (int, bool) {
	i, ok := s.g.ids.parse(kindTask, id)
	if !ok || i >= v.nTasks {
		return 0, false
	}
	s.g.matAt(i, v.at, m)
	return i, true
}

func (s *Server) conflict(w http.ResponseWriter, r *http.Request, msg string) {
	s.writeError(w, r, http.StatusConflict, "FailedPrecondition", msg)
}

// restartTask: POST .../policy_tasks/{id}:restart. Only an ERRORED or
// COMPLETED task may be restarted; it then runs again (RUNNING, a new
// started_at and t_updated_at) and completes settleTime later.
func restartTask(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	var body struct{}
	if !s.decodeBody(w, r, &body) {
		return
	}
	wr := &s.g.writes
	wr.mu.Lock()
	defer wr.mu.Unlock()
	v := s.view()
	var m taskMat
	i, ok := s.taskAt(args[0], &v, &m)
	if !ok {
		s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("workflow task %q not found", args[0]))
		return
	}
	if st := m.task.State; st != "ERRORED" && st != "COMPLETED" {
		s.conflict(w, r, fmt.Sprintf("workflow task %s is %s; only ERRORED or COMPLETED tasks can be restarted", args[0], st))
		return
	}
	runs := 0
	if p := wr.patches.Load(); p != nil {
		if old, ok := p.tasks[i]; ok && old.kind == patchRestart {
			runs = old.runs + 1
		}
	}
	wr.update(func(p *patchSet) {
		p.tasks[i] = taskPatch{kind: patchRestart, at: v.at, settle: s.g.settleTime(i, runs), runs: runs}
	})
	s.g.matAt(i, v.at, &m)
	writeJSON(w, http.StatusOK, veza.ValueEnvelope[veza.Task]{Value: m.task})
}

// unblockTasks: POST .../policy_tasks:unblock {"task_ids":[..],"action":
// "RUN"|"ABANDON"}. All or nothing: every id must name a BLOCKED task.
func unblockTasks(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	var body struct {
		TaskIDs []string `json:"task_ids"`
		Action  string   `json:"action"`
	}
	if !s.decodeBody(w, r, &body) {
		return
	}
	kind := 0
	switch body.Action {
	case "RUN":
		kind = patchRun
	case "ABANDON":
		kind = patchAbandon
	default:
		s.badRequest(w, r, "action", fmt.Sprintf("must be RUN or ABANDON, got %q", body.Action))
		return
	}
	if len(body.TaskIDs) == 0 {
		s.badRequest(w, r, "task_ids", "at least one task id is required")
		return
	}
	const maxIDs = 1000
	if len(body.TaskIDs) > maxIDs {
		s.badRequest(w, r, "task_ids", fmt.Sprintf("at most %d task ids per request", maxIDs))
		return
	}
	wr := &s.g.writes
	wr.mu.Lock()
	defer wr.mu.Unlock()
	v := s.view()
	idx := make([]int, 0, len(body.TaskIDs))
	var notBlocked []string
	var m taskMat
	for _, id := range body.TaskIDs {
		i, ok := s.taskAt(id, &v, &m)
		if !ok {
			s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("workflow task %q not found", id))
			return
		}
		if slices.Contains(idx, i) {
			continue
		}
		if m.task.State != "BLOCKED" {
			notBlocked = append(notBlocked, id+" is "+m.task.State)
		}
		idx = append(idx, i)
	}
	if len(notBlocked) > 0 {
		s.conflict(w, r, "only BLOCKED tasks can be unblocked: "+strings.Join(notBlocked, ", "))
		return
	}
	wr.update(func(p *patchSet) {
		for _, i := range idx {
			p.tasks[i] = taskPatch{kind: kind, at: v.at, settle: s.g.settleTime(i, 0)}
		}
	})
	out := veza.ListPage[veza.Task]{Values: make([]veza.Task, 0, len(idx))}
	for _, i := range idx {
		s.g.matAt(i, v.at, &m)
		out.Values = append(out.Values, m.task)
	}
	writeJSON(w, http.StatusOK, out)
}

// pushJobResult: POST .../action_job_events/{job_id}:push (seed 000). Only a
// webhook-based job that is still waiting for its result (PENDING, RUNNING,
// or ERRORED after the callback timed out) accepts one; it then completes
// with the pushed result.
func pushJobResult(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	var body struct {
		Value *struct {
			JobID          string        `json:"job_id"`
			ActionType     string        `json:"action_type"`
			OutputEntities []veza.Entity `json:"output_entities"`
			AnyChanges     bool          `json:"any_changes"`
			AnyCreated     bool          `json:"any_created"`
		} `json:"value"`
	}
	if !s.decodeBody(w, r, &body) {
		return
	}
	b := body.Value
	if b == nil {
		s.badRequest(w, r, "value", `the result must be wrapped in {"value": {...}}`)
		return
	}
	if b.JobID != "" && b.JobID != args[0] {
		s.badRequest(w, r, "value.job_id", fmt.Sprintf("%q does not match the job in the path %q", b.JobID, args[0]))
		return
	}
	for n, e := range b.OutputEntities {
		if e.EntityType == "" || e.EntityID == "" {
			s.badRequest(w, r, fmt.Sprintf("value.output_entities[%d]", n), "entity_type and entity_id are required")
			return
		}
	}
	wr := &s.g.writes
	wr.mu.Lock()
	defer wr.mu.Unlock()
	v := s.view()
	k, ok := s.g.ids.parse(kindJob, args[0])
	if !ok || k >= v.nJobs {
		s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("job %q not found", args[0]))
		return
	}
	var m taskMat
	s.g.matAt(s.g.taskOfJob(k), v.at, &m)
	local := k - m.sk.j0
	job := m.jobs[local]
	st := m.sk.acts[m.actOf[local]].st
	if !isWebhook(st) {
		s.writeError(w, r, http.StatusBadRequest, "FailedPrecondition", fmt.Sprintf(
			"job %s is a %s job on %s; only webhook-based jobs (SEND_REST_PAYLOAD, ServiceNow, custom REST) accept a pushed result",
			args[0], job.ActionType, dataSources[st.ds].name))
		return
	}
	if b.ActionType != "" && b.ActionType != job.ActionType {
		s.badRequest(w, r, "value.action_type", fmt.Sprintf("job %s is a %s job, not %s", args[0], job.ActionType, b.ActionType))
		return
	}
	switch job.State {
	case "PENDING", "RUNNING", "ERRORED":
	default:
		s.conflict(w, r, fmt.Sprintf("job %s is %s; a result can only be pushed to a PENDING, RUNNING or ERRORED job", args[0], job.State))
		return
	}
	outs := b.OutputEntities
	if outs == nil {
		outs = []veza.Entity{}
	}
	res, err := json.Marshal(veza.JobResult{OutputEntities: outs, ErrorMessages: []string{}, AnyChanges: b.AnyChanges, AnyCreated: b.AnyCreated})
	if err != nil {
		s.badRequest(w, r, "value.output_entities", "cannot be encoded: "+err.Error())
		return
	}
	wr.update(func(p *patchSet) {
		p.jobs[k] = jobPatch{at: v.at, anyChanges: b.AnyChanges, anyCreated: b.AnyCreated, outputs: outs, result: res}
	})
	s.g.matAt(s.g.taskOfJob(k), v.at, &m)
	job = m.jobs[local]
	job.Request, job.Result = s.g.payload(&m, local)
	writeJSON(w, http.StatusOK, veza.ValueEnvelope[veza.Job]{Value: job})
}
