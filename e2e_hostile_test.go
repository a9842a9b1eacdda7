package main

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/hostile"
)

// tmuxServer is a detached tmux server of the test's own, started with
// set-clipboard on and a first window "canary", so an OSC 52 that reaches
// tmux WOULD land in its paste buffers and an OSC 0/2 WOULD change a pane's
// title: the test below first proves both with a canary.
type tmuxServer struct {
	t      *testing.T
	socket string
}

func startTmuxServer(t *testing.T) *tmuxServer {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (CI installs it)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g set-clipboard on\nset -g allow-rename on\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &tmuxServer{t: t, socket: filepath.Join(dir, "tmux.sock")}
	if out, err := exec.Command("tmux", "-f", conf, "-S", s.socket, "new-session", "-d", "-s", "opsdeck", "-n", "canary",
		"-x", "160", "-y", "48", "sh").CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-S", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxServer) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

func (s *tmuxServer) title(target string) string {
	return strings.TrimSpace(s.tmux("display", "-p", "-t", target, "#{pane_title}"))
}

// buffers is the content of every tmux paste buffer.
func (s *tmuxServer) buffers() string {
	out, _ := exec.Command("tmux", "-S", s.socket, "list-buffers", "-F", "#{buffer_sample}").CombinedOutput()
	return string(out)
}

// poll waits until cond holds (tmux applies what a pane printed
// asynchronously).
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestE2EHostileTenantLeavesTerminalAlone browses a tenant whose every
// free-text field carries a terminal attack (`opsdeck emulator --hostile`)
// in the real binary under tmux, then checks the pane title is unchanged,
// no OSC 52 reached tmux's clipboard, the API token is in none of the
// cache, its WAL, the --debug log, a crash report or the screen, and
// --insecure left its warning on the terminal.
func TestE2EHostileTenantLeavesTerminalAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short")
	}
	bin := buildBinary(t)
	url := startEmulatorProcess(t, bin, "--scale", "400", "--seed", "8", "--token", emuToken, "--hostile")
	srv := startTmuxServer(t)

	// The canary: in this server a title sequence does change the title
	// and an OSC 52 does fill a buffer, so their absence later means
	// opsdeck stopped them.
	srv.tmux("send-keys", "-t", "opsdeck:canary", `printf '\033]2;canary-title\033\\'; printf '\033]52;c;`+base64.StdEncoding.EncodeToString([]byte("canary-clip"))+`\007'`, "Enter")
	poll(t, "the canary title", func() bool { return srv.title("opsdeck:canary") == "canary-title" })
	poll(t, "the canary clipboard", func() bool { return strings.Contains(srv.buffers(), "canary-clip") })
	srv.tmux("delete-buffer")

	cache := filepath.Join(t.TempDir(), "c.db")
	cmd := "env TERM=xterm-256color XDG_CONFIG_HOME=" + t.TempDir() + " XDG_DATA_HOME=" + t.TempDir() +
		" VEZA_URL=" + url + " VEZA_TOKEN=" + emuToken + " " + bin + " --debug --insecure --cache " + cache + "; sleep 60"
	srv.tmux("new-window", "-d", "-t", "opsdeck", "-n", "main", cmd)
	s := &tmuxSession{t: t, socket: srv.socket, name: "opsdeck:main"}
	titleBefore := srv.title("opsdeck:main")
	if titleBefore == "canary-title" {
		t.Fatal("the new pane inherited the canary title")
	}

	defer func() {
		if t.Failed() {
			t.Logf("pane title %q (was %q), tmux buffers %q", srv.title("opsdeck:main"), titleBefore, srv.buffers())
		}
	}()
	s.waitFor(60*time.Second, "last synced", "Jobs")
	// Jobs: scroll, open a few, unfold and page through their payloads.
	for i := 0; i < 3; i++ {
		s.keys("j", "j", "Enter")
		s.waitFor(20*time.Second, "input_entities")
		s.keys("E", "PageDown", "G", "g", "Escape")
		s.waitGone(10*time.Second, "input_entities")
	}
	s.keys("PageDown", "End", "Home")
	// System events and one event's detail.
	s.keys(":")
	s.keys("-l", "events")
	s.keys("Enter")
	s.waitFor(20*time.Second, "Jobs › Events")
	s.keys("j", "Enter")
	s.waitFor(20*time.Second, "Jobs › Events › ")
	s.keys("E", "PageDown", "Escape")
	// (A key sent right after Escape would arrive as alt+key.)
	s.waitGone(10*time.Second, "Events › Event")
	// Automations, a detail, back.
	s.keys(":")
	s.keys("-l", "automations")
	s.keys("Enter")
	s.waitFor(20*time.Second, "Events › Automations")
	s.keys("j", "Enter")
	s.waitFor(20*time.Second, "Automations › ")
	s.keys("PageDown", "Escape")
	s.waitGone(10*time.Second, "Automations › ")
	screen := s.capture()

	if got := srv.title("opsdeck:main"); got != titleBefore {
		t.Fatalf("pane title changed from %q to %q", titleBefore, got)
	}
	if b := srv.buffers(); b != "" {
		t.Fatalf("something reached tmux's clipboard: %q", b)
	}
	// What the hostile corpus wanted on the clipboard.
	for _, c := range hostile.Cases() {
		if c.Name == "osc52_clipboard" {
			if strings.Contains(screen, "cm0gLXJmIH4=") || !strings.Contains(c.Value, "cm0gLXJmIH4=") {
				t.Fatalf("OSC 52 payload handling: screen %q, case %q", screen, c.Value)
			}
		}
	}

	// While it runs, the WAL and shared-memory files exist: no token there.
	dir := filepath.Dir(cache)
	running := tokenFree(t, dir)
	if !contains(running, "c.db-wal") {
		t.Fatalf("no WAL while running: %v", running)
	}

	s.keys("q")
	poll(t, "opsdeck to quit", func() bool { return !strings.Contains(s.capture(), "Automations") })
	if got := srv.title("opsdeck:main"); got != titleBefore {
		t.Fatalf("pane title changed from %q to %q after quitting", titleBefore, got)
	}
	history, _ := exec.Command("tmux", "-S", srv.socket, "capture-pane", "-p", "-S", "-", "-t", "opsdeck:main").Output()

	// The token is nowhere: cache, WAL, debug log, crash reports, screen.
	checked := tokenFree(t, dir)
	if !contains(checked, "c.db") || !contains(checked, "opsdeck.log") {
		t.Fatalf("expected the cache and the log in %s, found %v", dir, checked)
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "opsdeck.log")); !strings.Contains(string(log), "level=DEBUG") {
		t.Fatalf("--debug wrote no debug lines:\n%s", log)
	}
	if strings.Contains(screen+string(history), emuToken) {
		t.Fatal("the token reached the screen")
	}
	// --insecure warned before the TUI took the screen, and the warning is
	// there again once it gave the screen back.
	if !strings.Contains(string(history), "opsdeck: warning: --insecure") {
		t.Fatalf("no --insecure warning on the terminal:\n%s", history)
	}
}

// tokenFree fails the test if a file in dir (cache, WAL, log, crash
// report…) holds the test token, and returns the names it read.
func tokenFree(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var checked []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		checked = append(checked, filepath.Base(f))
		if strings.Contains(string(b), emuToken) {
			t.Fatalf("the token is in %s", f)
		}
	}
	return checked
}
