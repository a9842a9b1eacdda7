package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// failedCount reads "failed jobs N │" off the failed list's header.
var failedCount = regexp.MustCompile(`failed jobs ([0-9,]+) │`)

// TestE2EDemoSocotraResume is issue #6's story: in the demo, switch to the
// Socotra tenant's profile, open the failed scheduled jobs, resume the one
// under the cursor (it asks first), and it leaves the list.
func TestE2EDemoSocotraResume(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short")
	}
	bin := buildBinary(t)
	s := startTmux(t, 160, 48, bin+" demo --scale 2000 --cache "+filepath.Join(t.TempDir(), "demo.db"))
	s.waitFor(60*time.Second, "Jobs (ERRORED)", "│ demo │")

	e2eCommand(s, "profile demo-socotra")
	s.waitFor(30*time.Second, "│ demo-socotra │", "socotra events")
	e2eCommand(s, "failed")
	// The list may open before the sync has filled it: wait for a row
	// under the cursor and the count of the snapshot it belongs to.
	screen := e2eWaitMatch(s, 30*time.Second, regexp.MustCompile(`failed jobs [1-9][0-9,]* │[^\n]*\n(.*\n)*❯ (queued|quit) `))
	m := failedCount.FindStringSubmatch(screen)
	before, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))

	// The row under the cursor: its trigger (cut with … when long).
	trigger := ""
	for _, l := range strings.Split(screen, "\n") {
		if f := strings.Fields(strings.TrimSpace(l)); len(f) >= 4 && f[0] == "❯" {
			trigger = strings.TrimSuffix(f[3], "…")
		}
	}
	if trigger == "" || !rowHas(screen, trigger) {
		t.Fatalf("no row under the cursor:\n%s", screen)
	}
	s.keys("R")
	screen = s.waitFor(10*time.Second, "Resume failed job ", "y/n")
	if !strings.Contains(screen, "Resume failed job "+trigger[:min(len(trigger), 30)]) {
		t.Fatalf("the confirmation does not name %s:\n%s", trigger, screen)
	}
	s.keys("y")
	s.waitFor(20*time.Second, "resume: 1 failed job done")
	// The message comes with the reload of the list, whose rows may still
	// be the old ones for a frame or two on a loaded machine.
	deadline := time.Now().Add(20 * time.Second)
	for screen = s.capture(); rowHas(screen, trigger) || strings.Contains(screen, "loading…"); screen = s.capture() {
		if time.Now().After(deadline) {
			t.Fatalf("%s is still listed after its resume:\n%s", trigger, screen)
		}
		time.Sleep(100 * time.Millisecond) // polling, as waitFor does
	}
	// A background sync that read the failed list just before the resume
	// may write the old snapshot back; the next sync settles it.
	s.keys("C-r")
	s.waitFor(30*time.Second, "failed jobs "+thousands(before-1)+" │")
	s.keys("q")
}

// e2eWaitMatch polls the pane until re matches it.
func e2eWaitMatch(s *tmuxSession, timeout time.Duration, re *regexp.Regexp) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var screen string
	for time.Now().Before(deadline) {
		if screen = s.capture(); re.MatchString(screen) {
			return screen
		}
		time.Sleep(100 * time.Millisecond) // polling, as waitFor does
	}
	s.t.Fatalf("timed out waiting for %s; screen:\n%s", re, screen)
	return ""
}

// rowHas reports whether a row of the failed list on screen is trigger's
// (or, cut with …, starts like it).
func rowHas(screen, trigger string) bool {
	for _, l := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "❯"))
		if len(f) >= 3 && (f[0] == "queued" || f[0] == "quit") && strings.TrimSuffix(f[2], "…") == trigger {
			return true
		}
	}
	return false
}
