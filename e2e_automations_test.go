package main

import (
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// e2eType types text into the pane as it is (no key names).
func e2eType(s *tmuxSession, text string) {
	s.t.Helper()
	s.keys("-l", text)
}

// e2eCommand runs a `:` command line.
func e2eCommand(s *tmuxSession, line string) {
	s.t.Helper()
	s.keys(":")
	e2eType(s, line)
	s.keys("Enter")
}

// e2eNext presses Tab in a form and waits until the field titled next has
// the focus (huh marks it with a bar). Focus moves in a command after the
// key: text typed before it lands would go to the field being left.
func e2eNext(s *tmuxSession, next string) {
	s.t.Helper()
	s.keys("Tab")
	s.waitFor(10*time.Second, "┃ "+next)
}

// e2eChanged waits until the pane differs from before.
func e2eChanged(s *tmuxSession, before string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.capture() == before {
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen did not change:\n%s", before)
		}
		time.Sleep(20 * time.Millisecond) // polling, as waitFor does
	}
}

// TestE2EAutomationsLifecycle drives issue #5's story against a standalone
// emulator the TUI syncs from: create a HIGHLIGHT automation with a
// colour, attach it to a workflow, edit its filter (the diff is shown
// before saving), detach it, delete it (the confirmation names it). After
// each step the test asks the emulator's API itself what changed.
func TestE2EAutomationsLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short")
	}
	bin := buildBinary(t)
	const tok = "e2e-automations-Tk-5b1d"
	url := startEmulatorProcess(t, bin, "--scale", "300", "--seed", "1", "--token", tok)
	api, err := veza.New(url, tok, veza.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	// The API cannot list workflows: their ids come from the seed.
	wf := emulator.New(emulator.Options{Seed: 1, Scale: 300}).ReviewWorkflows()[2].ID
	ctx := context.Background()
	upstream := func(name string) (veza.Automation, bool) {
		t.Helper()
		list, err := api.ListAutomations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range list {
			if rec.Value.Name == name {
				return rec.Value, true
			}
		}
		return veza.Automation{}, false
	}
	attached := func(id string) (optIn, ok bool) {
		t.Helper()
		list, err := api.AttachedAutomations(ctx, wf)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range list {
			if a.Automation.ID == id {
				return a.OptIn, true
			}
		}
		return false, false
	}

	dir := t.TempDir()
	s := startTmux(t, 160, 48, "env VEZA_URL="+url+" VEZA_TOKEN="+tok+" "+bin+" --cache "+filepath.Join(dir, "c.db"))
	s.waitFor(60*time.Second, "Jobs", "synced")
	e2eCommand(s, "automations")
	s.waitFor(30*time.Second, "Highlight inactive sources", "KIND")

	// Create: a HIGHLIGHT rule (the editor's default kind) with a colour.
	const name = "E2E flag stale accounts"
	s.keys("n")
	s.waitFor(10*time.Second, "New automation", "┃ name")
	e2eType(s, name)
	e2eNext(s, "description")
	e2eType(s, "made by the tmux test")
	e2eNext(s, "attach_to_new_workflows")
	e2eNext(s, "opt_in")
	e2eNext(s, "criteria.filter")
	e2eType(s, "source.is_active eq false")
	e2eNext(s, "criteria.mutable_filter")
	e2eNext(s, "action")
	e2eNext(s, "display_text")
	e2eType(s, "stale account")
	e2eNext(s, "highlight_color")
	e2eType(s, "#ff8800")
	s.waitFor(10*time.Second, "HIGHLIGHT ██ #FF8800 stale account", "✓ valid")
	s.keys("C-s")
	s.waitFor(10*time.Second, "Review: create automation "+name, `+    "highlight_color": "#ff8800"`)
	s.keys("y")
	s.waitFor(20*time.Second, `created automation "`+name+`"`)
	a, ok := upstream(name)
	if !ok || a.Action.DisplayStyle != "HIGHLIGHT" || a.Action.HighlightColor != "#ff8800" ||
		a.Action.DisplayText != "stale account" || a.Criteria.Filter != "source.is_active eq false" {
		t.Fatalf("the emulator holds %+v (found %v)", a, ok)
	}
	// The headless CLI against the same emulator sees it too.
	cli := exec.Command(bin, "automations", "list", "--remote", "-o", "jsonl", "--cache", filepath.Join(dir, "cli.db"))
	cli.Env = []string{"VEZA_URL=" + url, "VEZA_TOKEN=" + tok, "HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	if out, err := cli.CombinedOutput(); err != nil || !strings.Contains(string(out), name) || !strings.Contains(string(out), "#ff8800") {
		t.Fatalf("opsdeck automations list --remote: %v\n%s", err, out)
	}

	// Only the new automation in the list, so the keys below act on it.
	s.keys("/")
	e2eType(s, `name eq "`+name+`"`)
	s.keys("Enter")
	s.waitFor(10*time.Second, "row 1 of 1")

	// Attach it to a workflow the TUI has not seen: typed in, opt-in.
	s.keys("+")
	s.waitFor(10*time.Second, "Attach automation", "┃ workflow", "another workflow id…")
	// Workflows the cache knows come first: move down to the typed choice.
	for i := 0; ; i++ {
		screen := s.capture()
		if strings.Contains(screen, "> another workflow id…") {
			break
		}
		if i == 10 {
			t.Fatalf("cannot choose another workflow id:\n%s", screen)
		}
		s.keys("Down")
		e2eChanged(s, screen)
	}
	e2eNext(s, "workflow id")
	e2eType(s, wf)
	e2eNext(s, "opt_in")
	s.keys("Left") // yes
	s.keys("Enter")
	s.waitFor(10*time.Second, `Attach "`+name+`" to workflow `+wf[:8], "operators opt in")
	s.keys("y")
	s.waitFor(20*time.Second, "attached (workflow "+wf+")")
	if optIn, ok := attached(a.ID); !ok || !optIn {
		t.Fatalf("not attached opt-in upstream (attached %v, opt_in %v)", ok, optIn)
	}

	// Edit its filter: the diff shows the old and the new filter first.
	s.keys("e")
	s.waitFor(10*time.Second, "┃ name")
	e2eNext(s, "description")
	e2eNext(s, "attach_to_new_workflows")
	e2eNext(s, "opt_in")
	e2eNext(s, "criteria.filter")
	e2eType(s, ` and source.type ne "bot"`)
	s.keys("C-s")
	s.waitFor(10*time.Second, "Review changes to "+name,
		`-    "filter": "source.is_active eq false",`,
		`+    "filter": "source.is_active eq false and source.type ne \"bot\"",`)
	if a2, _ := upstream(name); a2.Criteria.Filter != a.Criteria.Filter {
		t.Fatal("the review already saved")
	}
	s.keys("y")
	s.waitFor(20*time.Second, `saved automation "`+name+`"`)
	if a2, _ := upstream(name); a2.Criteria.Filter != `source.is_active eq false and source.type ne "bot"` || a2.Action.HighlightColor != "#ff8800" {
		t.Fatalf("after the edit the emulator holds %+v", a2)
	}

	// Detach: the workflow it is attached to is offered first.
	s.keys("-")
	s.waitFor(10*time.Second, "Detach automation", "> "+wf+" (attached)")
	s.keys("Enter")
	s.waitFor(10*time.Second, `Detach "`+name+`" from workflow `+wf[:8])
	s.keys("y")
	s.waitFor(20*time.Second, "detached (workflow "+wf+")")
	if _, ok := attached(a.ID); ok {
		t.Fatal("still attached upstream")
	}

	// Delete: the confirmation names it and its attachments.
	s.keys("D")
	s.waitFor(10*time.Second, `Delete automation "`+name+`"?`, "attached to 0 workflows", "cannot be undone")
	s.keys("y")
	s.waitFor(20*time.Second, `deleted automation "`+name+`"`, "0 rows")
	if _, err := api.GetAutomation(ctx, a.ID); !veza.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("still upstream: %v", err)
	}
	s.keys("q")
}
