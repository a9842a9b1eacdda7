package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/socotra"
	"github.com/opsdeck/opsdeck/sync/veza"
)

var requestID = regexp.MustCompile(`request_id [0-9a-f]{32}`)

func TestRestart(t *testing.T) {
	h, _, c := apiHarness(t)
	task := firstTask(t, c, `state eq "ERRORED"`)
	out := h.mustRun("restart", "--yes", task.ID)
	if out != "restarted task "+task.ID+": RUNNING\n" {
		t.Errorf("stdout %q", out)
	}
	// Written back: the cache has the task and its actions as they are now.
	st := cachedStore(t, h)
	ctx := context.Background()
	row, err := st.Task(ctx, task.ID)
	if err != nil || row.State != "RUNNING" || row.CompletedAt != 0 {
		t.Fatalf("cached task: %+v %v", row.State, err)
	}
	if n, err := st.Count(ctx, "actions", nil); err != nil || n == 0 {
		t.Errorf("actions not written back: %d %v", n, err)
	}
	// The server's refusal comes through with its message and request id.
	code, _, errs := h.run("restart", "--yes", task.ID)
	if code != ExitFailure || !strings.Contains(errs, "HTTP 409") || !strings.Contains(errs, "is RUNNING; only ERRORED or COMPLETED tasks can be restarted") ||
		!requestID.MatchString(errs) {
		t.Errorf("restart of a running task: %d %q", code, errs)
	}
	// Several ids: the good ones go through, the bad ones are listed.
	completed := firstTask(t, c, `state eq "COMPLETED"`)
	code, out, errs = h.run("restart", "--yes", completed.ID, task.ID)
	if code != ExitFailure || !strings.Contains(out, "restarted task "+completed.ID) ||
		!strings.Contains(errs, "1 task of 2 not restarted: "+task.ID) {
		t.Errorf("mixed restart: %d %q %q", code, out, errs)
	}
}

func TestWriteGuards(t *testing.T) {
	h, _, c := apiHarness(t)
	task := firstTask(t, c, `state eq "ERRORED"`)
	// No terminal and no --yes: refused, nothing sent.
	code, out, errs := h.run("restart", task.ID)
	if code != ExitUsage || out != "" || !strings.Contains(errs, "pass --yes") || !strings.Contains(errs, task.ID) {
		t.Errorf("non-interactive: %d %q", code, errs)
	}
	// A terminal: the question names the task; "n" changes nothing.
	h.env.Interactive = true
	h.stdin = "n\n"
	code, _, errs = h.run("restart", task.ID)
	if code != ExitUsage || !strings.Contains(errs, "restart 1 task: "+task.ID+"? [y/N]") || !strings.Contains(errs, "nothing was changed") {
		t.Errorf("declined: %d %q", code, errs)
	}
	if got, _ := c.GetTask(context.Background(), task.ID); got.Value.State != "ERRORED" {
		t.Fatalf("a declined restart changed the task: %s", got.Value.State)
	}
	h.stdin = "yes\n"
	if code, _, errs := h.run("restart", task.ID); code != 0 {
		t.Errorf("confirmed: %d %q", code, errs)
	}
	// --read-only refuses every write, before asking.
	h.env.ReadOnly = true
	for _, args := range [][]string{
		{"restart", "--yes", task.ID},
		{"unblock", "--run", "--yes", task.ID},
		{"push", "--yes", "j-1"},
	} {
		code, _, errs := h.run(args...)
		if code != ExitUsage || !strings.Contains(errs, "--read-only is set") || strings.Contains(errs, "[y/N]") {
			t.Errorf("%v under --read-only: %d %q", args, code, errs)
		}
	}
}

func TestUnblock(t *testing.T) {
	h, _, c := apiHarness(t)
	blocked := firstTask(t, c, `state eq "BLOCKED"`)
	completed := firstTask(t, c, `state eq "COMPLETED"`)
	for _, args := range [][]string{
		{"unblock", "--yes", blocked.ID},
		{"unblock", "--run", "--abandon", "--yes", blocked.ID},
		{"unblock", "--run", "--yes"},
	} {
		if code, _, _ := h.run(args...); code != ExitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	// All or nothing: the server refuses the pair, and says why.
	code, _, errs := h.run("unblock", "--run", "--yes", blocked.ID, completed.ID)
	if code != ExitFailure || !strings.Contains(errs, completed.ID+" is COMPLETED") || !requestID.MatchString(errs) {
		t.Errorf("mixed unblock: %d %q", code, errs)
	}
	out := h.mustRun("unblock", "--abandon", "--yes", blocked.ID)
	if out != "unblocked 1 task (ABANDON)\n" {
		t.Errorf("stdout %q", out)
	}
	st := cachedStore(t, h)
	row, err := st.Task(context.Background(), blocked.ID)
	if err != nil || row.State != "ABANDONED" {
		t.Fatalf("cached task: %s %v", row.State, err)
	}
	n, err := st.Count(context.Background(), "jobs", nil)
	if err != nil || n == 0 {
		t.Errorf("jobs of the task not written back: %d %v", n, err)
	}
}

func TestPush(t *testing.T) {
	h, _, c := apiHarness(t)
	var job veza.Job
	for _, f := range []string{`state eq "ERRORED" and action_type eq "SEND_REST_PAYLOAD"`, `state eq "ERRORED" and action_type eq "CUSTOM_ACTION"`} {
		p, err := c.ListJobs(context.Background(), veza.ListParams{Filter: f, PageSize: 100})
		for err == nil && len(p.Values) == 0 && p.HasMore {
			p, err = c.ListJobs(context.Background(), veza.ListParams{PageToken: p.NextPageToken})
		}
		if err == nil && len(p.Values) > 0 {
			job = p.Values[0]
			break
		}
	}
	if job.JobID == "" {
		t.Fatal("no ERRORED webhook job")
	}
	file := filepath.Join(t.TempDir(), "entities.json")
	os.WriteFile(file, []byte(`[{"entity_type":"CustomUser","entity_id":"u-7","attributes":{"status":"done"}}]`), 0o600)

	h.env.Interactive = true
	h.stdin = "y\n"
	code, out, errs := h.run("push", job.JobID, "--any-changes", "--output-entities", "@"+file)
	if code != 0 || out != "pushed result to job "+job.JobID+": COMPLETED\n" {
		t.Fatalf("push: %d %q %q", code, out, errs)
	}
	if !strings.Contains(errs, "push a result to job "+job.JobID+" ("+job.ActionType) || !strings.Contains(errs, "any_changes=true any_created=false, 1 output entity") {
		t.Errorf("confirmation %q", errs)
	}
	row, err := cachedStore(t, h).Job(context.Background(), job.JobID)
	if err != nil || row.State != "COMPLETED" || !row.AnyChanges {
		t.Fatalf("cached job: %+v %v", row.State, err)
	}
	var res veza.JobResult
	if err := json.Unmarshal(row.Result, &res); err != nil || len(res.OutputEntities) != 1 || res.OutputEntities[0].EntityID != "u-7" {
		t.Errorf("cached result: %s %v", row.Result, err)
	}
	// Pushing again: the server's 409 and request id.
	h.env.Interactive = false
	code, _, errs = h.run("push", "--yes", job.JobID)
	if code != ExitFailure || !strings.Contains(errs, "HTTP 409") || !strings.Contains(errs, "is COMPLETED") || !requestID.MatchString(errs) {
		t.Errorf("second push: %d %q", code, errs)
	}
	// A job that is not webhook-based: 400 with the reason.
	other := firstJob(t, c, `action_type eq "SYNC_IDENTITIES" and state eq "ERRORED"`)
	code, _, errs = h.run("push", "--yes", other.JobID, "--output-entities", "[]")
	if code != ExitFailure || !strings.Contains(errs, "HTTP 400") || !strings.Contains(errs, "webhook") {
		t.Errorf("push to %s: %d %q", other.ActionType, code, errs)
	}
	// Entities are checked before anything is sent.
	for _, spec := range []string{`{"entity_type":"X"}`, `[{"entity_type":"X"}]`, `[{"entity_type":"X","entity_id":"1","colour":1}]`, "@" + file + ".missing", `[] []`} {
		code, _, errs := h.run("push", "--yes", job.JobID, "--output-entities", spec)
		if code != ExitUsage || !strings.Contains(errs, "--output-entities") {
			t.Errorf("entities %s: %d %q", spec, code, errs)
		}
	}
	// @- reads stdin.
	if ents, err := readEntities("@-", strings.NewReader(`[{"entity_type":"T","entity_id":"1"}]`)); err != nil || len(ents) != 1 {
		t.Errorf("stdin entities: %v %v", ents, err)
	}
}

func TestSocotraResumeDelete(t *testing.T) {
	h, em, _ := apiHarness(t)
	srv := h.withAPI(em)
	h.env.Socotra = func() (*socotra.Client, error) {
		return socotra.New(srv.URL, em.SocotraTenant(), emulator.DefaultToken, socotra.ClientOptions{MaxRetries: -1})
	}
	sc, _ := h.env.Socotra()
	ctx := context.Background()
	failed, err := sc.AllFailedJobs(ctx, socotra.FailedList{})
	if err != nil || len(failed) < 2 {
		t.Fatalf("failed jobs: %d %v", len(failed), err)
	}
	first, second := failed[0].Value, failed[1].Value
	// The cache knows the first one: the confirmation describes it and the
	// resume removes it.
	st, err := store.Open(h.path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ReplaceSocotraFailed(ctx, []store.SocotraFailedRow{{TriggerGroup: first.TriggerGroup, TriggerName: first.TriggerName,
		State: first.FailedJobState, FailureCount: int64(first.FailureCount), Raw: []byte(`{}`)}}, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, _, errs := h.run("socotra", "resume", "--trigger", first.TriggerName, "--group", first.TriggerGroup)
	if code != ExitUsage || !strings.Contains(errs, "resume (re-queue) the failed job "+first.TriggerName) || !strings.Contains(errs, "failure") {
		t.Errorf("unconfirmed: %d %q", code, errs)
	}
	out := h.mustRun("socotra", "resume", "--yes", "--trigger", first.TriggerName, "--group", first.TriggerGroup)
	if !strings.HasPrefix(out, "resumed failed job "+first.TriggerName) {
		t.Errorf("stdout %q", out)
	}
	if _, err := cachedStore(t, h).SocotraFailedJob(ctx, first.TriggerGroup, first.TriggerName); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("resumed job still cached: %v", err)
	}
	again, _ := sc.AllFailedJobs(ctx, socotra.FailedList{})
	if len(again) != len(failed)-1 {
		t.Errorf("the API still lists %d of %d failed jobs", len(again), len(failed))
	}
	// Gone upstream: said so, not an error.
	if out := h.mustRun("socotra", "delete", "--yes", "--trigger", first.TriggerName, "--group", first.TriggerGroup); !strings.Contains(out, "no longer has it") {
		t.Errorf("second resume: %q", out)
	}
	if out := h.mustRun("socotra", "delete", "--yes", "--trigger", second.TriggerName, "--group", second.TriggerGroup); !strings.HasPrefix(out, "deleted failed job") {
		t.Errorf("delete: %q", out)
	}
	for _, args := range [][]string{
		{"socotra", "resume", "--yes", "--trigger", "x"},
		{"socotra", "pause", "--yes", "--trigger", "x", "--group", "g"},
		{"socotra", "--yes", "--trigger", "x", "--group", "g"},
	} {
		if code, _, _ := h.run(args...); code != ExitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	h.env.Socotra = nil
	if code, _, errs := h.run("socotra", "resume", "--yes", "--trigger", "x", "--group", "g"); code != ExitFailure || !strings.Contains(errs, "no Socotra API configured") {
		t.Errorf("offline: %d %q", code, errs)
	}
}
