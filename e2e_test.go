package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives the real binary in a detached tmux server of its own.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

func startTmux(t *testing.T, w, h int, command string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (CI installs it)")
	}
	s := &tmuxSession{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock"), name: "opsdeck"}
	// Never the user's config or caches: empty XDG directories unless the
	// command sets its own (a later env assignment wins).
	xdg := "XDG_CONFIG_HOME=" + t.TempDir() + " XDG_DATA_HOME=" + t.TempDir() + " "
	out, err := exec.Command("tmux", "-S", s.socket, "new-session", "-d", "-s", s.name,
		"-x", itoa(w), "-y", itoa(h), "env TERM=xterm-256color "+xdg+command+"; sleep 30").CombinedOutput()
	if err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-S", s.socket, "kill-server").Run() })
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	args := append([]string{"-S", s.socket, "send-keys", "-t", s.name}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		s.t.Fatalf("send-keys %v: %v: %s", keys, err, out)
	}
}

func (s *tmuxSession) capture() string {
	out, _ := exec.Command("tmux", "-S", s.socket, "capture-pane", "-p", "-t", s.name).Output()
	return string(out)
}

// captureEscapes is the pane with its colours and attributes as SGR
// escape sequences.
func (s *tmuxSession) captureEscapes() string {
	out, _ := exec.Command("tmux", "-S", s.socket, "capture-pane", "-p", "-e", "-t", s.name).Output()
	return string(out)
}

// waitFor polls the pane until every want string is on screen.
func (s *tmuxSession) waitFor(timeout time.Duration, want ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var screen string
	for time.Now().Before(deadline) {
		screen = s.capture()
		ok := true
		for _, w := range want {
			if !strings.Contains(screen, w) {
				ok = false
				break
			}
		}
		if ok {
			return screen
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("timed out waiting for %q; screen:\n%s", want, screen)
	return ""
}

// waitGone polls the pane until text is no longer on screen.
func (s *tmuxSession) waitGone(timeout time.Duration, text string) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !strings.Contains(s.capture(), text) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("timed out waiting for %q to go; screen:\n%s", text, s.capture())
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "opsdeck")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func TestE2EDemoOpenJobPayload(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	s := startTmux(t, 160, 48, bin+" demo --scale 4000 --cache "+filepath.Join(dir, "demo.db"))

	// The demo opens on ERRORED jobs; rows appear while the sync runs.
	s.waitFor(60*time.Second, "Jobs (ERRORED)", "ERRORED", "IDENTITY")
	s.waitFor(60*time.Second, "synced")

	s.keys("j", "Enter")
	screen := s.waitFor(20*time.Second, "request", "data_source", "input_entities")
	if !strings.Contains(screen, "ERRORED") {
		t.Fatalf("job detail should show the job's state:\n%s", screen)
	}
	// The result payload (with the error) is at the end of the tree.
	s.keys("G")
	s.waitFor(10*time.Second, "result", "error_messages")

	// Help is generated from the keymap.
	s.keys("?")
	s.waitFor(10*time.Second, "copy JSON path")
	s.keys("Escape")

	// Esc back to the list, then quit: the pane must show the shell's
	// sentinel, i.e. the program exited and restored the terminal.
	// The breadcrumb shows "Jobs (ERRORED)" in the detail view too: wait
	// until the tree is gone, or q would follow esc within one read and
	// arrive as alt+q.
	s.keys("Escape")
	s.waitGone(10*time.Second, "input_entities")
	s.waitFor(10*time.Second, "Jobs (ERRORED)")
	s.keys("q")
	deadline := time.Now().Add(30 * time.Second) // generous: CI machines are shared
	for time.Now().Before(deadline) {
		if !strings.Contains(s.capture(), "Jobs (ERRORED)") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("q did not quit:\n%s", s.capture())
}

func TestE2EOfflineCacheSaysOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	cache := filepath.Join(dir, "c.db")
	// Fill a cache through the headless sync against the emulator.
	em := exec.Command(bin, "emulator", "--addr", "127.0.0.1:0", "--scale", "500", "--token", "t0k3n-e2e")
	stdout, _ := em.StdoutPipe()
	if err := em.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Process.Kill(); em.Wait() })
	buf := make([]byte, 4096)
	var banner string
	for !strings.Contains(banner, "VEZA_TOKEN=") {
		n, err := stdout.Read(buf)
		if err != nil {
			t.Fatalf("emulator banner: %v (%q)", err, banner)
		}
		banner += string(buf[:n])
	}
	var url string
	for _, l := range strings.Split(banner, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "VEZA_URL="); ok {
			url = v
		}
	}
	sync := exec.Command(bin, "sync", "--cache", cache)
	sync.Env = append(os.Environ(), "VEZA_URL="+url, "VEZA_TOKEN=t0k3n-e2e")
	if out, err := sync.CombinedOutput(); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	} else if strings.Contains(string(out), "t0k3n-e2e") {
		t.Fatalf("token leaked to sync output:\n%s", out)
	}
	em.Process.Kill()

	s := startTmux(t, 100, 30, "env -u VEZA_URL -u VEZA_TOKEN "+bin+" --cache "+cache)
	s.waitFor(20*time.Second, "offline", "Jobs", "COMPLETED")
	// A SCIM filter typed with / is applied to the cache.
	s.keys("/")
	s.keys("-l", `state eq "ERRORED"`)
	s.keys("Enter")
	// Applied: every listed row is ERRORED (polling, since the prompt
	// shows the text before the filter is applied).
	onlyErrored := func(screen string) bool {
		rows := 0
		for _, l := range strings.Split(screen, "\n") {
			f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "❯"))
			if len(f) == 0 {
				continue
			}
			switch f[0] {
			case "ERRORED":
				rows++
			case "COMPLETED", "RUNNING", "PENDING", "SCHEDULED", "BLOCKED", "INITIAL", "SKIPPED", "ABANDONED":
				return false
			}
		}
		return rows > 0
	}
	deadline := time.Now().Add(10 * time.Second)
	for !onlyErrored(s.capture()) {
		if time.Now().After(deadline) {
			t.Fatalf("filter not applied:\n%s", s.capture())
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.keys("q")

	// The token never reaches the cache or the log.
	for _, f := range []string{cache, cache + "-wal", filepath.Join(dir, "opsdeck.log")} {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), "t0k3n-e2e") {
			t.Fatalf("token found in %s", f)
		}
	}
}

// TestE2EConfigKeysAndNoColor: a config file remaps keys (a conflict is
// reported with its file:line as the TUI starts, the remap works) and
// NO_COLOR leaves no colour on screen while the selection stays visible
// in reverse video.
func TestE2EConfigKeysAndNoColor(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short")
	}
	bin := buildBinary(t)
	emu, url := emuServer(t, 300, nil)
	cache := filepath.Join(t.TempDir(), "c.db")
	if code, _, stderr := runMain(t, map[string]string{"VEZA_URL": url, "VEZA_TOKEN": emuToken}, "sync", "--cache", cache, "--sources", "jobs"); code != 0 {
		t.Fatalf("sync: %s", stderr)
	}
	_, _, jobs := emu.Counts()
	cfgDir := writeConfig(t, "theme: light\nkeys:\n  down: [j, down, ctrl+n]\n  bottom: [G, j]\n")
	s := startTmux(t, 120, 30, "env NO_COLOR=1 XDG_CONFIG_HOME="+cfgDir+" "+bin+" --offline --cache "+cache)
	s.waitFor(20*time.Second, "config.yaml:4: keys: key \"j\" is bound to both \"down\" and \"bottom\"")
	s.waitFor(10*time.Second, "row 1 of "+thousands(jobs))
	s.keys("C-n")
	s.waitFor(10*time.Second, "row 2 of "+thousands(jobs))

	screen := s.captureEscapes()
	if !strings.Contains(screen, "\x1b[7m") {
		t.Fatalf("no reverse video for the selection under NO_COLOR:\n%q", screen)
	}
	for _, m := range regexp.MustCompile("\x1b\\[([0-9;]*)m").FindAllStringSubmatch(screen, -1) {
		for _, p := range strings.Split(m[1], ";") {
			// 39 and 49 are "default colour": the terminal's own resets.
			if n, _ := strconv.Atoi(p); n != 39 && n != 49 && (n >= 30 && n <= 49 || n >= 90 && n <= 107) {
				t.Fatalf("colour (SGR %s) on screen under NO_COLOR:\n%q", m[1], screen)
			}
		}
	}
	s.keys("q")
}
