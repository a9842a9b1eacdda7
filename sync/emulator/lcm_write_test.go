package emulator

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// writeServer is a fresh tenant per test: writes change what it serves.
func writeServer(t *testing.T) *Server {
	t.Helper()
	return New(Options{Seed: 11, Scale: 6000})
}

func post(t *testing.T, s *Server, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	return doBody(t, s, http.MethodPost, path, body)
}

func getTaskNow(t *testing.T, s *Server, id string) veza.Task {
	t.Helper()
	rec := do(t, s, tasksPath+"/"+id, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET task %s: %d %s", id, rec.Code, rec.Body)
	}
	var v veza.ValueEnvelope[veza.Task]
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	return v.Value
}

func getJobNow(t *testing.T, s *Server, id string) veza.Job {
	t.Helper()
	rec := do(t, s, jobsPath+"/"+id, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET job %s: %d %s", id, rec.Code, rec.Body)
	}
	var v veza.ValueEnvelope[veza.Job]
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	return v.Value
}

func tasksIn(t *testing.T, s *Server, state string) []veza.Task {
	t.Helper()
	ts, _ := all[veza.Task](t, s, tasksPath, vals("filter", `state eq "`+state+`"`))
	if len(ts) == 0 {
		t.Fatalf("no %s tasks in the data set", state)
	}
	return ts
}

func TestRestartTask(t *testing.T) {
	s := writeServer(t)
	errored := tasksIn(t, s, "ERRORED")[0]
	path := tasksPath + "/" + errored.ID + ":restart"

	rec := post(t, s, path, "{}")
	if rec.Code != http.StatusOK {
		t.Fatalf("restart: %d %s", rec.Code, rec.Body)
	}
	var got veza.ValueEnvelope[veza.Task]
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	now := s.Now()
	if got.Value.State != "RUNNING" || got.Value.CompletedAt != nil || len(got.Value.Messages) != 0 ||
		!got.Value.StartedAt.Equal(now) || !got.Value.TUpdatedAt.Equal(now) {
		t.Fatalf("restarted task: %+v", got.Value)
	}
	// Later reads see the new run: get, filtered list, and its last action.
	if tk := getTaskNow(t, s, errored.ID); tk.State != "RUNNING" {
		t.Errorf("GET after restart: %s", tk.State)
	}
	running, _ := all[veza.Task](t, s, tasksPath, vals("filter", `state eq "RUNNING" and identity_id eq "`+errored.IdentityID+`"`))
	if !slices.ContainsFunc(running, func(x veza.Task) bool { return x.ID == errored.ID }) {
		t.Error("the restarted task is not in the RUNNING list")
	}
	// An incremental sync filtering on t_updated_at (tasks) or started_at
	// (actions) finds the new run.
	updated, _ := all[veza.Task](t, s, tasksPath, vals("filter", `t_updated_at ge "`+now.Format(time.RFC3339Nano)+`"`))
	if !slices.ContainsFunc(updated, func(x veza.Task) bool { return x.ID == errored.ID }) {
		t.Error("the restarted task is not among the tasks updated since the restart")
	}
	started, _ := all[veza.Action](t, s, actionsPath, vals("filter", `started_at ge "`+now.Format(time.RFC3339Nano)+`"`))
	if !slices.ContainsFunc(started, func(x veza.Action) bool { return x.PolicyTask == errored.ID }) {
		t.Error("the restarted action is not among the actions started since the restart")
	}
	acts, _ := all[veza.Action](t, s, actionsPath, vals("filter", `policy_task eq "`+errored.ID+`"`))
	if last := acts[len(acts)-1]; last.State != "RUNNING" || last.ErrorMessage != "" {
		t.Errorf("last action after restart: %s %q", last.State, last.ErrorMessage)
	}

	// A running task cannot be restarted again.
	e := decodeError(t, post(t, s, path, "{}"), http.StatusConflict, "FailedPrecondition")
	if !strings.Contains(e.Message, "RUNNING") || !strings.Contains(e.Message, "ERRORED or COMPLETED") {
		t.Errorf("conflict message: %q", e.Message)
	}

	// It settles on the emulator's clock, and may then be restarted again.
	s.Advance(2 * time.Minute)
	tk := getTaskNow(t, s, errored.ID)
	if tk.State != "COMPLETED" || tk.CompletedAt == nil || !tk.CompletedAt.After(now) {
		t.Fatalf("after settling: %s %v", tk.State, tk.CompletedAt)
	}
	if rec := post(t, s, path, "{}"); rec.Code != http.StatusOK || !strings.Contains(getTaskNow(t, s, errored.ID).Reason, "run 2") {
		t.Errorf("second restart: %d %s", rec.Code, rec.Body)
	}
}

func TestRestartRefusals(t *testing.T) {
	s := writeServer(t)
	pending := tasksIn(t, s, "PENDING")[0]
	e := decodeError(t, post(t, s, tasksPath+"/"+pending.ID+":restart", "{}"), http.StatusConflict, "FailedPrecondition")
	if !strings.Contains(e.Message, pending.ID) || !strings.Contains(e.Message, "PENDING") {
		t.Errorf("message %q does not name the task and its state", e.Message)
	}
	if getTaskNow(t, s, pending.ID).State != "PENDING" {
		t.Error("a refused restart changed the task")
	}
	decodeError(t, post(t, s, tasksPath+"/"+New(Options{Seed: 12}).g.ids.uuid(kindTask, 0)+":restart", "{}"), http.StatusNotFound, "NotFound")
	decodeError(t, post(t, s, tasksPath+"/nope:restart", "{}"), http.StatusNotFound, "NotFound")
	decodeError(t, post(t, s, tasksPath+"/"+pending.ID+":restart", `{"force":true}`), http.StatusBadRequest, "InvalidArgument")
	// GET on the write path is not the write.
	decodeError(t, do(t, s, tasksPath+"/"+pending.ID+":restart", nil), http.StatusNotFound, "NotFound")
}

func TestUnblockTasks(t *testing.T) {
	s := writeServer(t)
	blocked := tasksIn(t, s, "BLOCKED")
	if len(blocked) < 3 {
		t.Fatalf("need 3 BLOCKED tasks, have %d", len(blocked))
	}
	completed := tasksIn(t, s, "COMPLETED")[0]
	unblock := lcm + "/policy_tasks:unblock"

	// All or nothing: one task that is not BLOCKED refuses the lot.
	e := decodeError(t, post(t, s, unblock, map[string]any{"task_ids": []string{blocked[0].ID, completed.ID}, "action": "RUN"}),
		http.StatusConflict, "FailedPrecondition")
	if !strings.Contains(e.Message, completed.ID+" is COMPLETED") {
		t.Errorf("message %q", e.Message)
	}
	if getTaskNow(t, s, blocked[0].ID).State != "BLOCKED" {
		t.Fatal("a refused unblock changed a task")
	}

	rec := post(t, s, unblock, map[string]any{"task_ids": []string{blocked[0].ID, blocked[1].ID}, "action": "RUN"})
	if rec.Code != http.StatusOK {
		t.Fatalf("unblock RUN: %d %s", rec.Code, rec.Body)
	}
	var page veza.ListPage[veza.Task]
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || len(page.Values) != 2 {
		t.Fatalf("reply %s: %v", rec.Body, err)
	}
	for _, id := range []string{blocked[0].ID, blocked[1].ID} {
		tk := getTaskNow(t, s, id)
		if tk.State != "RUNNING" || !tk.DisregardChangeLimit {
			t.Errorf("task %s after RUN: %s disregard=%v", id, tk.State, tk.DisregardChangeLimit)
		}
		jobs, _ := all[veza.Job](t, s, jobsPath, vals("filter", `policy_task eq "`+id+`"`))
		for _, j := range jobs {
			if j.State == "BLOCKED" {
				t.Errorf("job %s of an unblocked task is still BLOCKED", j.JobID)
			}
		}
	}
	rec = post(t, s, unblock, map[string]any{"task_ids": []string{blocked[2].ID}, "action": "ABANDON"})
	if rec.Code != http.StatusOK {
		t.Fatalf("unblock ABANDON: %d %s", rec.Code, rec.Body)
	}
	tk := getTaskNow(t, s, blocked[2].ID)
	if tk.State != "ABANDONED" || tk.CompletedAt == nil || !strings.Contains(tk.Reason, "abandoned through the API") {
		t.Errorf("abandoned task: %s %v %q", tk.State, tk.CompletedAt, tk.Reason)
	}
	jobs, _ := all[veza.Job](t, s, jobsPath, vals("filter", `policy_task eq "`+blocked[2].ID+`" and state eq "ABANDONED"`))
	if len(jobs) == 0 {
		t.Error("the abandoned task's blocked jobs were not abandoned")
	}
	// Unblocking again is a conflict: they are no longer BLOCKED.
	decodeError(t, post(t, s, unblock, map[string]any{"task_ids": []string{blocked[2].ID}, "action": "RUN"}), http.StatusConflict, "FailedPrecondition")
	s.Advance(2 * time.Minute)
	if st := getTaskNow(t, s, blocked[0].ID).State; st != "COMPLETED" {
		t.Errorf("an unblocked task does not settle: %s", st)
	}

	for name, body := range map[string]any{
		"bad action": map[string]any{"task_ids": []string{blocked[0].ID}, "action": "DELETE"},
		"no ids":     map[string]any{"task_ids": []string{}, "action": "RUN"},
		"not json":   "{",
	} {
		if rec := post(t, s, unblock, body); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	e = decodeError(t, post(t, s, unblock, map[string]any{"task_ids": []string{blocked[0].ID}, "action": "later"}), http.StatusBadRequest, "InvalidArgument")
	if len(e.Details) == 0 || e.Details[0].FieldViolations[0].Field != "action" {
		t.Errorf("violation does not name the field: %+v", e.Details)
	}
	decodeError(t, post(t, s, unblock, map[string]any{"task_ids": []string{"missing"}, "action": "RUN"}), http.StatusNotFound, "NotFound")
}

// webhookJob finds a webhook-based job in one of states.
func webhookJob(t *testing.T, s *Server, states ...string) veza.Job {
	t.Helper()
	for _, st := range states {
		for _, typ := range []string{"SEND_REST_PAYLOAD", "CUSTOM_ACTION"} {
			js, _ := all[veza.Job](t, s, jobsPath, vals("filter", `state eq "`+st+`" and action_type eq "`+typ+`"`))
			if len(js) > 0 {
				return js[0]
			}
		}
	}
	t.Fatalf("no webhook job in %v", states)
	return veza.Job{}
}

func TestPushJobResult(t *testing.T) {
	s := writeServer(t)
	job := webhookJob(t, s, "ERRORED", "RUNNING", "PENDING")
	path := jobsPath + "/" + job.JobID + ":push"
	out := veza.Entity{EntityType: "CustomUser", EntityID: "u-42", Attributes: map[string]any{"status": "provisioned"}}
	rec := post(t, s, path, map[string]any{"value": map[string]any{
		"job_id": job.JobID, "action_type": job.ActionType, "output_entities": []veza.Entity{out},
		"any_changes": true, "any_created": true,
	}})
	if rec.Code != http.StatusOK {
		t.Fatalf("push: %d %s", rec.Code, rec.Body)
	}
	got := getJobNow(t, s, job.JobID)
	var res veza.JobResult
	if err := json.Unmarshal(got.Result, &res); err != nil {
		t.Fatal(err)
	}
	if got.State != "COMPLETED" || !got.AnyChanges || got.EventsCreated != 1 || !res.AnyCreated || !res.AnyChanges ||
		len(res.OutputEntities) != 1 || res.OutputEntities[0].EntityID != "u-42" || len(res.ErrorMessages) != 0 {
		t.Fatalf("job after push: state %s changes %v events %d result %s", got.State, got.AnyChanges, got.EventsCreated, got.Result)
	}
	// The list with details serves the same result.
	listed, _ := all[veza.Job](t, s, jobsPath, vals("filter", `job_id eq "`+job.JobID+`"`, "details", "true"))
	if len(listed) != 1 || !bytes.Equal(listed[0].Result, got.Result) || listed[0].State != "COMPLETED" {
		t.Errorf("listed job: %+v", listed)
	}
	// The result is in: a second push conflicts.
	e := decodeError(t, post(t, s, path, map[string]any{"value": map[string]any{"any_changes": false}}), http.StatusConflict, "FailedPrecondition")
	if !strings.Contains(e.Message, "COMPLETED") {
		t.Errorf("message %q", e.Message)
	}
}

func TestPushRefusals(t *testing.T) {
	s := writeServer(t)
	sync, _ := all[veza.Job](t, s, jobsPath, vals("filter", `state eq "ERRORED" and action_type eq "SYNC_IDENTITIES"`))
	if len(sync) == 0 {
		t.Fatal("no ERRORED SYNC_IDENTITIES job")
	}
	e := decodeError(t, post(t, s, jobsPath+"/"+sync[0].JobID+":push", map[string]any{"value": map[string]any{}}), http.StatusBadRequest, "FailedPrecondition")
	if !strings.Contains(e.Message, "webhook") {
		t.Errorf("message %q does not say why", e.Message)
	}
	hook := webhookJob(t, s, "ERRORED", "RUNNING", "PENDING")
	path := jobsPath + "/" + hook.JobID + ":push"
	for name, tc := range map[string]struct {
		body  any
		field string
	}{
		"no value":          {map[string]any{"any_changes": true}, "body"},
		"empty value":       {`{}`, "value"},
		"other job":         {map[string]any{"value": map[string]any{"job_id": sync[0].JobID}}, "value.job_id"},
		"wrong type":        {map[string]any{"value": map[string]any{"action_type": "SYNC_IDENTITIES"}}, "value.action_type"},
		"entity without id": {map[string]any{"value": map[string]any{"output_entities": []any{map[string]any{"entity_type": "X"}}}}, "value.output_entities[0]"},
	} {
		e := decodeError(t, post(t, s, path, tc.body), http.StatusBadRequest, "InvalidArgument")
		if len(e.Details) == 0 || e.Details[0].FieldViolations[0].Field != tc.field {
			t.Errorf("%s: violations %+v, want field %s", name, e.Details, tc.field)
		}
	}
	if st := getJobNow(t, s, hook.JobID).State; st != hook.State {
		t.Errorf("refused pushes changed the job to %s", st)
	}
	completed := webhookJob(t, s, "COMPLETED")
	decodeError(t, post(t, s, jobsPath+"/"+completed.JobID+":push", map[string]any{"value": map[string]any{}}), http.StatusConflict, "FailedPrecondition")
	decodeError(t, post(t, s, jobsPath+"/"+New(Options{Seed: 12}).g.ids.uuid(kindJob, 0)+":push", map[string]any{"value": map[string]any{}}), http.StatusNotFound, "NotFound")
}

// exportStep polls an export once.
func exportStep(t *testing.T, s *Server, id string) ExportStatus {
	t.Helper()
	rec := do(t, s, lcm+"/exports/"+id, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("export status: %d %s", rec.Code, rec.Body)
	}
	var v veza.ValueEnvelope[ExportStatus]
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	return v.Value
}

func startExportReq(t *testing.T, s *Server, path string, body any) ExportStatus {
	t.Helper()
	rec := post(t, s, path, body)
	if rec.Code != http.StatusOK {
		t.Fatalf("start export: %d %s", rec.Code, rec.Body)
	}
	var v veza.ValueEnvelope[ExportStatus]
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	return v.Value
}

func TestExportLifecycle(t *testing.T) {
	s := writeServer(t)
	const flt = `state eq "ERRORED"`
	want, _ := all[veza.Job](t, s, jobsPath, vals("filter", flt, "order_by", "completed_at desc"))
	st := startExportReq(t, s, jobsPath+":export", map[string]any{"body": map[string]any{"filter": flt, "order_by": "completed_at desc"}, "format": "CSV"})
	if st.Status != "CREATED" || !strings.HasPrefix(st.ExportID, "exp-") || st.DownloadURL != "" {
		t.Fatalf("created: %+v", st)
	}
	decodeError(t, do(t, s, lcm+"/exports/"+st.ExportID+"/download", nil), http.StatusConflict, "FailedPrecondition")
	if p := exportStep(t, s, st.ExportID); p.Status != "PROCESSING" {
		t.Fatalf("first poll: %+v", p)
	}
	done := exportStep(t, s, st.ExportID)
	if done.Status != "FINISHED" || done.RowCount != len(want) || !strings.HasSuffix(done.DownloadURL, "/exports/"+st.ExportID+"/download") {
		t.Fatalf("second poll: %+v (want %d rows)", done, len(want))
	}
	if again := exportStep(t, s, st.ExportID); again != done {
		t.Errorf("a finished export changed: %+v", again)
	}
	rec := do(t, s, strings.TrimPrefix(done.DownloadURL, "http://example.com"), nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("download: %d %s", rec.Code, rec.Header())
	}
	recs, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(want)+1 || recs[0][0] != "job_id" || recs[0][1] != "state" {
		t.Fatalf("csv: %d records, header %v", len(recs), recs[0])
	}
	for i, j := range want {
		if recs[i+1][0] != j.JobID || recs[i+1][1] != "ERRORED" {
			t.Fatalf("row %d: %v, want %s", i+1, recs[i+1][:2], j.JobID)
		}
	}
	decodeError(t, do(t, s, lcm+"/exports/exp-0000000000000000", nil), http.StatusNotFound, "NotFound")
}

func TestExportJSONAndTasks(t *testing.T) {
	s := writeServer(t)
	st := startExportReq(t, s, tasksPath+":export", map[string]any{"body": map[string]any{"filter": `state eq "BLOCKED"`}, "format": "json"})
	exportStep(t, s, st.ExportID)
	done := exportStep(t, s, st.ExportID)
	rec := do(t, s, lcm+"/exports/"+st.ExportID+"/download", nil)
	var got []veza.Task
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("JSON export: %v: %.200s", err, rec.Body)
	}
	if len(got) == 0 || len(got) != done.RowCount || got[0].State != "BLOCKED" {
		t.Errorf("JSON export: %d tasks, status %+v", len(got), done)
	}
	// An export of actions works the same way.
	if a := startExportReq(t, s, actionsPath+":export", map[string]any{"body": map[string]any{}}); a.Status != "CREATED" {
		t.Errorf("actions export: %+v", a)
	}
}

func TestExportFailsOverLimit(t *testing.T) {
	s := writeServer(t)
	s.SetExportLimit(100)
	st := startExportReq(t, s, jobsPath+":export", map[string]any{"format": "CSV"})
	exportStep(t, s, st.ExportID)
	failed := exportStep(t, s, st.ExportID)
	if failed.Status != "FAILED" || !strings.Contains(failed.Message, "more than 100 jobs") || failed.DownloadURL != "" {
		t.Fatalf("over the limit: %+v", failed)
	}
	decodeError(t, do(t, s, lcm+"/exports/"+st.ExportID+"/download", nil), http.StatusConflict, "FailedPrecondition")
	// A narrow filter still fits.
	ok := startExportReq(t, s, jobsPath+":export", map[string]any{"body": map[string]any{"filter": `state eq "ABANDONED"`}})
	exportStep(t, s, ok.ExportID)
	if st := exportStep(t, s, ok.ExportID); st.Status != "FINISHED" {
		t.Errorf("narrow export: %+v", st)
	}
}

func TestExportBadRequests(t *testing.T) {
	s := writeServer(t)
	for name, tc := range map[string]struct {
		body  any
		field string
	}{
		"bad filter":    {map[string]any{"body": map[string]any{"filter": `state eq`}}, "body.filter"},
		"unknown field": {map[string]any{"body": map[string]any{"filter": `colour eq "red"`}}, "body.filter"},
		"bad order":     {map[string]any{"body": map[string]any{"order_by": "colour"}}, "body.order_by"},
		"bad format":    {map[string]any{"format": "XLSX"}, "format"},
	} {
		e := decodeError(t, post(t, s, jobsPath+":export", tc.body), http.StatusBadRequest, "InvalidArgument")
		if len(e.Details) == 0 || e.Details[0].FieldViolations[0].Field != tc.field {
			t.Errorf("%s: %+v", name, e.Details)
		}
	}
}

// Writes publish a new snapshot while lists read the old one: no races,
// and every read sees a consistent task.
func TestWritesWhileListing(t *testing.T) {
	s := writeServer(t)
	errored := tasksIn(t, s, "ERRORED")
	if len(errored) > 20 {
		errored = errored[:20]
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, tk := range errored {
			rec := httptestRecorder(s, func() *http.Request {
				req := httptest.NewRequest(http.MethodPost, tasksPath+"/"+tk.ID+":restart", strings.NewReader("{}"))
				req.Header.Set("Authorization", "Bearer "+s.token)
				return req
			}())
			if rec.Code != http.StatusOK {
				t.Errorf("restart %s: %d", tk.ID, rec.Code)
			}
		}
	}()
	for i := 0; i < 5; i++ {
		ts, _ := all[veza.Task](t, s, tasksPath, vals("filter", `state eq "RUNNING"`))
		for _, tk := range ts {
			if tk.CompletedAt != nil {
				t.Fatalf("RUNNING task %s with completed_at", tk.ID)
			}
		}
	}
	<-done
	running, _ := all[veza.Task](t, s, tasksPath, vals("filter", `state eq "RUNNING"`))
	for _, tk := range errored {
		if !slices.ContainsFunc(running, func(x veza.Task) bool { return x.ID == tk.ID }) {
			t.Errorf("restarted task %s is not RUNNING", tk.ID)
		}
	}
}
