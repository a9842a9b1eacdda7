package main

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func (s *tmuxSession) format(f string) string {
	out, _ := exec.Command("tmux", "-S", s.socket, "display", "-p", "-t", s.name, f).Output()
	return strings.TrimSpace(string(out))
}

// TestE2ESignalsRestoreTerminal: SIGTERM and SIGHUP end the TUI cleanly
// (exit status 0): the pane leaves the alternate screen and shows the
// cursor again, as after q.
func TestE2ESignalsRestoreTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short")
	}
	if _, err := exec.LookPath("pgrep"); err != nil {
		t.Skip("pgrep not installed")
	}
	bin := buildBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "sig-cache.db")
			s := startTmux(t, 100, 30, bin+" --offline --cache "+cache+"; echo EXIT=$?")
			s.waitFor(20*time.Second, "offline", "Jobs")
			if alt := s.format("#{alternate_on}"); alt != "1" {
				t.Fatalf("the TUI is not on the alternate screen (alternate_on=%q)", alt)
			}
			// The opsdeck process itself, not the shell running it.
			out, err := exec.Command("pgrep", "-f", "^"+bin+" --offline --cache "+cache).Output()
			if err != nil {
				t.Fatalf("pgrep: %v", err)
			}
			if f := strings.Fields(string(out)); len(f) != 1 {
				t.Fatalf("pgrep found %q", out)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
			if err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(pid, sig); err != nil {
				t.Fatal(err)
			}
			screen := s.waitFor(20*time.Second, "EXIT=")
			if !strings.Contains(screen, "EXIT=0") {
				t.Fatalf("exit after %s:\n%s", sig, screen)
			}
			if alt, cur := s.format("#{alternate_on}"), s.format("#{cursor_flag}"); alt != "0" || cur != "1" {
				t.Fatalf("after %s: alternate_on=%s cursor_flag=%s (want 0 and 1):\n%s", sig, alt, cur, screen)
			}
		})
	}
}

// TestE2EDumbTerminal: TERM=dumb still gets a usable TUI with no colour or
// attribute escapes beyond the cursor handling.
func TestE2EDumbTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short")
	}
	bin := buildBinary(t)
	_, url := emuServer(t, 200, nil)
	cache := filepath.Join(t.TempDir(), "c.db")
	if code, _, stderr := runMain(t, map[string]string{"VEZA_URL": url, "VEZA_TOKEN": emuToken}, "sync", "--cache", cache, "--sources", "jobs"); code != 0 {
		t.Fatalf("sync: %s", stderr)
	}
	s := startTmux(t, 100, 30, "env TERM=dumb "+bin+" --offline --cache "+cache)
	s.waitFor(20*time.Second, "offline", "Jobs", "row 1 of 200")
	s.keys("j")
	s.waitFor(10*time.Second, "row 2 of 200")
	if screen := s.captureEscapes(); strings.Contains(screen, "\x1b[3") || strings.Contains(screen, "\x1b[9") || strings.Contains(screen, ";5;") || strings.Contains(screen, ";2;") {
		t.Fatalf("colour under TERM=dumb:\n%q", screen)
	}
	s.keys("q")
	s.waitGone(20*time.Second, "row 2 of 200")
}
