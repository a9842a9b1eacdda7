package main

import (
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestE2ETriage is issue 4's walk through: demo → :errors → open the
// biggest group → open a job → acknowledge it → restart its task (with the
// confirmation) → the task's actions show the re-run after the next sync.
func TestE2ETriage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	s := startTmux(t, 160, 48, bin+" demo --scale 4000 --cache "+filepath.Join(dir, "demo.db"))
	s.waitFor(60*time.Second, "Jobs (ERRORED)", "IDENTITY")
	s.waitFor(90*time.Second, "synced")

	// Typed in one burst on purpose: the shell splits it into keys.
	s.keys(":errors", "Enter")
	// The counts line can arrive before the rows: wait for the cursor row.
	screen := s.waitFor(20*time.Second, "ERRORED jobs in", "groups", "SIGNATURE", "❯")
	// Groups are sorted by count: the first row is the biggest.
	if !regexp.MustCompile(`❯\s+\d+`).MatchString(screen) {
		t.Fatalf("no group under the cursor:\n%s", screen)
	}
	s.keys("Enter")
	s.waitFor(20*time.Second, "error_signature eq")
	s.keys("Enter")
	s.waitFor(20*time.Second, "request", "input_entities")

	// Acknowledge: a local mark, and the screen says so.
	s.keys("a")
	s.waitFor(10*time.Second, "acknowledged job", "not told")

	// Restart its task: a confirmation that names it, default No.
	s.keys("R")
	s.waitFor(10*time.Second, "Restart 1 task?", "Restart")
	s.keys("y")
	s.waitFor(30*time.Second, "restart: 1 task done")

	// The task's actions: after the next sync the re-run action is there.
	s.keys("T")
	s.waitFor(20*time.Second, "Actions of task")
	s.keys("C-r")
	s.waitFor(60*time.Second, "RUNNING")

	// Back out to the group list: the acknowledged job counts there.
	s.keys("Escape")
	s.waitGone(10*time.Second, "Actions of task")
	s.keys("Escape")
	s.waitGone(10*time.Second, "input_entities")
	s.keys("Escape")
	s.waitFor(20*time.Second, "SIGNATURE")
}
