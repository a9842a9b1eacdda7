package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// apiHarness is an empty cache in front of a fresh emulated tenant (fresh:
// the write tests change what it serves).
func apiHarness(t *testing.T) (*harness, *emulator.Server, *veza.Client) {
	t.Helper()
	em := emulator.New(emulator.Options{Seed: 3, Scale: 4000})
	h := newHarness(t, filepath.Join(t.TempDir(), "cache.db"))
	h.withAPI(em)
	c, err := h.env.Veza()
	if err != nil {
		t.Fatal(err)
	}
	return h, em, c
}

// firstTask is the first task the API lists for flt.
func firstTask(t *testing.T, c *veza.Client, flt string) veza.Task {
	t.Helper()
	p := veza.ListParams{Filter: flt}
	for {
		page, err := c.ListTasks(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Values) > 0 {
			return page.Values[0]
		}
		if !page.HasMore {
			t.Fatalf("no task matches %s", flt)
		}
		p.PageToken = page.NextPageToken
	}
}

func firstJob(t *testing.T, c *veza.Client, flt string) veza.Job {
	t.Helper()
	p := veza.ListParams{Filter: flt}
	for {
		page, err := c.ListJobs(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Values) > 0 {
			return page.Values[0]
		}
		if !page.HasMore {
			t.Fatalf("no job matches %s", flt)
		}
		p.PageToken = page.NextPageToken
	}
}

func cachedStore(t *testing.T, h *harness) *store.Store {
	t.Helper()
	st, err := store.OpenReadOnly(h.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestGetRemoteUpdatesCache(t *testing.T) {
	h, _, c := apiHarness(t)
	job := firstJob(t, c, `state eq "ERRORED"`)
	out := h.mustRun("get", "job", job.JobID, "--remote")
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if string(got["job_id"]) != `"`+job.JobID+`"` || len(got["request"]) < 10 || len(got["result"]) < 10 {
		t.Errorf("remote job: %s", out)
	}
	// Now it is in the cache, so a plain get works offline.
	h.env.Veza = nil
	if local := h.mustRun("get", "job", job.JobID); local != out {
		t.Errorf("cached copy differs:\n%s\n%s", local, out)
	}
	task := firstTask(t, c, `state eq "COMPLETED"`)
	h.withAPI(emulator.New(emulator.Options{Seed: 3, Scale: 4000}))
	h.mustRun("get", "task", task.ID, "--remote")
	h.mustRun("get", "action", job.PolicyTask, job.ActionName, "--remote")
	st := cachedStore(t, h)
	if _, err := st.Task(context.Background(), task.ID); err != nil {
		t.Error(err)
	}
	if _, err := st.Action(context.Background(), job.PolicyTask, job.ActionName); err != nil {
		t.Error(err)
	}
	code, _, errs := h.run("get", "job", "00000000-0000-4000-8000-000000000000", "--remote")
	if code != ExitFailure || !strings.Contains(errs, "HTTP 404") || !strings.Contains(errs, "request_id") {
		t.Errorf("unknown remote job: %d %q", code, errs)
	}
}

func TestOfflineAndUnreachable(t *testing.T) {
	h := newHarness(t, fixtureCache(t))
	for _, args := range [][]string{
		{"get", "job", "j-0001", "--remote"},
		{"restart", "--yes", "t-0001"},
		{"export", "jobs", "--remote", "-o", filepath.Join(t.TempDir(), "x.csv")},
	} {
		code, out, errs := h.run(args...)
		if code != ExitFailure || out != "" || !strings.Contains(errs, "offline: no API configured (set VEZA_URL and VEZA_TOKEN)") {
			t.Errorf("%v offline: %d %q", args, code, errs)
		}
	}
	// A server that is gone: the dial fails, the token is never shown.
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close()
	const token = "secret-token-0123456789"
	h.env.Veza = func() (*veza.Client, error) { return veza.New(url, token, veza.Options{MaxRetries: -1}) }
	for _, args := range [][]string{
		{"get", "job", "j-0001", "--remote"},
		{"restart", "--yes", "t-0001"},
		{"push", "j-0003", "--yes"},
		{"export", "jobs", "--remote", "-o", filepath.Join(t.TempDir(), "x.csv")},
	} {
		code, _, errs := h.run(args...)
		if code != ExitFailure || !strings.Contains(errs, "connection refused") || strings.Contains(errs, token) {
			t.Errorf("%v unreachable: %d %q", args, code, errs)
		}
		if strings.Count(strings.TrimSpace(errs), "\n") > 1 {
			t.Errorf("%v: long error output %q", args, errs)
		}
	}
}

func TestExportLocal(t *testing.T) {
	h := newHarness(t, fixtureCache(t))
	dir := t.TempDir()
	file := filepath.Join(dir, "errored.csv")
	code, out, errs := h.run("export", "jobs", "--filter", `state eq "ERRORED"`, "-o", file)
	if code != 0 || out != "" || !strings.Contains(errs, "exported 2 jobs to "+file) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	data, _ := os.ReadFile(file)
	want := h.mustRun("query", "jobs", "--filter", `state eq "ERRORED"`, "-o", "csv")
	if string(data) != want {
		t.Errorf("export differs from query -o csv:\n%s\n%s", data, want)
	}
	// The extension picks the format; - is CSV on stdout.
	h.mustRun("export", "tasks", "-o", filepath.Join(dir, "tasks.jsonl"), "--details")
	lines, _ := os.ReadFile(filepath.Join(dir, "tasks.jsonl"))
	if n := strings.Count(string(lines), "\n"); n != 3 || !strings.Contains(string(lines), `"raw":{"id":"t-0001"`) {
		t.Errorf("tasks.jsonl: %d lines: %s", n, lines)
	}
	if out := h.mustRun("export", "actions", "-o", "-"); !strings.HasPrefix(out, "policy_task,action_name,state") {
		t.Errorf("stdout export: %q", out)
	}
	for _, args := range [][]string{
		{"export", "jobs", "-o", filepath.Join(dir, "x.xlsx")},
		{"export", "jobs"},
		{"export", "events", "-o", "x.csv"},
		{"export", "jobs", "--filter", "state eq", "-o", filepath.Join(dir, "y.csv")},
	} {
		if code, _, _ := h.run(args...); code != ExitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".part") || e.Name() == "y.csv" {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

func TestExportRemote(t *testing.T) {
	h, _, c := apiHarness(t)
	file := filepath.Join(t.TempDir(), "errored.csv")
	code, out, errs := h.run("export", "jobs", "--remote", "--filter", `state eq "ERRORED"`, "--order-by", "created_at desc", "-o", file)
	if code != 0 || out != "" {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, st := range []string{": CREATED\n", ": PROCESSING\n", ": FINISHED\n"} {
		if !strings.Contains(errs, st) {
			t.Errorf("progress lacks %q: %q", st, errs)
		}
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	p := veza.ListParams{Filter: `state eq "ERRORED"`, OrderBy: "created_at desc"}
	for {
		page, err := c.ListJobs(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page.Values {
			want = append(want, j.JobID)
		}
		if !page.HasMore {
			break
		}
		p.PageToken = page.NextPageToken
	}
	var got []string
	for _, r := range recs[1:] {
		got = append(got, r[0])
	}
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("exported %d job ids, the API lists %d", len(got), len(want))
	}
	if !strings.Contains(errs, "exported "+plural(len(want), "job", "jobs")) {
		t.Errorf("summary: %q", errs)
	}
}

func TestExportRemoteFailed(t *testing.T) {
	h, em, _ := apiHarness(t)
	em.SetExportLimit(5)
	file := filepath.Join(t.TempDir(), "all.csv")
	code, out, errs := h.run("export", "tasks", "--remote", "-o", file)
	if code != ExitFailure || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errs, "FAILED: the export matches more than 5 tasks") || !strings.Contains(errs, ": PROCESSING\n") {
		t.Errorf("stderr %q", errs)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("a failed export left a file: %v", err)
	}
	// Rejected up front: options the API cannot honour, and bad filters.
	for _, args := range [][]string{
		{"export", "jobs", "--remote", "--search", "x", "-o", file},
		{"export", "jobs", "--remote", "-o", filepath.Join(t.TempDir(), "x.jsonl")},
		{"export", "jobs", "--remote", "--filter", `colour eq "red"`, "-o", file},
	} {
		if code, _, _ := h.run(args...); code != ExitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	// A filter the cache knows but the API does not: the server says so.
	code, _, errs = h.run("export", "jobs", "--remote", "--filter", `error_message co "x"`, "-o", file)
	if code != ExitFailure || !strings.Contains(errs, "HTTP 400") || !strings.Contains(errs, "body.filter") {
		t.Errorf("local-only field: %d %q", code, errs)
	}
}
