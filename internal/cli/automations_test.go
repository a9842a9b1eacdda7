package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodAutomation = `{
  "name": "Flag admin accounts",
  "description": "highlight admins for reviewers",
  "priority": 3,
  "attachment_behavior": {"attach_to_new_workflows": false, "opt_in": false},
  "criteria": {"filter": "source.is_admin eq true", "mutable_filter": ""},
  "action": {"display_style": "HIGHLIGHT", "display_text": "Admin", "highlight_color": "#FF8800"}
}`

func TestAutomations(t *testing.T) {
	h, em, c := apiHarness(t)
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before, err := c.ListAutomations(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The editor's rules, before anything is sent.
	bad := write("bad.json", strings.Replace(goodAutomation, `"display_text": "Admin",`, `"display_text": "Admin", "decision": "ACCEPTED",`, 1))
	code, _, errs := h.run("automations", "create", "--yes", "-f", bad)
	if code != ExitUsage || !strings.Contains(errs, "invalid automation") || !strings.Contains(errs, "may not set decision") {
		t.Errorf("invalid: %d %q", code, errs)
	}
	typo := write("typo.json", strings.Replace(goodAutomation, `"priority"`, `"priorty"`, 1))
	if code, _, errs := h.run("automations", "create", "--yes", "-f", typo); code != ExitUsage || !strings.Contains(errs, "priorty") {
		t.Errorf("unknown key: %d %q", code, errs)
	}
	if after, _ := c.ListAutomations(ctx); len(after) != len(before) {
		t.Fatal("a refused automation reached the API")
	}

	// Create, then it is in the cache.
	out := h.mustRun("automations", "create", "--yes", "-f", write("good.json", goodAutomation))
	id := strings.TrimSpace(strings.TrimPrefix(out, "created automation "))
	if !strings.HasPrefix(out, "created automation ") || id == "" {
		t.Fatalf("create: %q", out)
	}
	got := h.mustRun("automations", "get", id)
	if alias := h.mustRun("get", "automation", id); alias != got {
		t.Errorf("get automation differs from automations get")
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(got), &a); err != nil || a["name"] != "Flag admin accounts" {
		t.Fatalf("get: %v %s", err, got)
	}

	// Update shows the diff, then changes it.
	h.env.Interactive = true
	h.stdin = "y\n"
	code, out, errs = h.run("automations", "update", id, "-f", write("upd.json", strings.Replace(goodAutomation, `"priority": 3`, `"priority": 9`, 1)))
	if code != 0 || out != "updated automation "+id+"\n" || !strings.Contains(errs, `-  "priority": 3`) || !strings.Contains(errs, `+  "priority": 9`) {
		t.Errorf("update: %d %q %q", code, out, errs)
	}
	h.env.Interactive = false
	if list := h.mustRun("automations", "list", "-o", "jsonl"); !strings.Contains(list, `"priority":9`) {
		t.Errorf("list after update: %s", list)
	}

	// Attach to a workflow and read it back.
	wf := em.ReviewWorkflows()[0].ID
	h.mustRun("automations", "attach", id, "--workflow", wf, "--opt-in", "--yes")
	att := h.mustRun("automations", "attached", wf)
	if !strings.Contains(att, `"automation_id":"`+id+`"`) || !strings.Contains(att, `"opt_in":true`) {
		t.Errorf("attached: %s", att)
	}
	h.mustRun("automations", "detach", id, "--workflow", wf, "--yes")
	if att := h.mustRun("automations", "attached", wf, "--remote"); strings.Contains(att, id) {
		t.Errorf("still attached: %s", att)
	}

	// Delete: gone from the API and the cache.
	h.mustRun("automations", "delete", id, "--yes")
	if code, _, _ := h.run("automations", "get", id); code != ExitFailure {
		t.Errorf("deleted automation still cached")
	}
	if code, _, errs := h.run("automations", "get", id, "--remote"); code != ExitFailure || !strings.Contains(errs, "HTTP 404") {
		t.Errorf("remote get of a deleted automation: %d %q", code, errs)
	}

	// --remote list fills the cache from the API.
	if list := h.mustRun("automations", "list", "--remote", "-o", "jsonl"); strings.Count(list, "\n") != len(before) {
		t.Errorf("list --remote: %d lines, the API has %d", strings.Count(list, "\n"), len(before))
	}

	for _, args := range [][]string{
		{"automations"},
		{"automations", "frob"},
		{"automations", "get"},
		{"automations", "create"},
		{"automations", "attach", id},
		{"automations", "detach", id, "--workflow", wf, "--opt-in"},
	} {
		if code, _, _ := h.run(args...); code != ExitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	h.env.ReadOnly = true
	if code, _, errs := h.run("automations", "delete", id, "--yes"); code != ExitUsage || !strings.Contains(errs, "--read-only") {
		t.Errorf("read-only delete: %d %q", code, errs)
	}
}
