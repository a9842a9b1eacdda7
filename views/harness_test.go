package views

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/ui"
)

var update = flag.Bool("update", false, "rewrite golden files")

// harness drives an App the way bubbletea would, synchronously: every
// command is run and its message fed back, except timers (ticks), which are
// dropped so tests never sleep.
type harness struct {
	t      *testing.T
	app    *ui.App
	common *Common
	copied []string
}

func newHarness(t *testing.T, st *store.Store, root func(*Common) ui.View, w, h int) *harness {
	t.Helper()
	r := lipgloss.NewRenderer(os.Stdout)
	r.SetColorProfile(termenv.Ascii)
	hs := &harness{t: t}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	hs.common = &Common{Theme: ui.NewTheme(r), Keys: keymap.Default(), Store: st,
		Now: func() time.Time { return now }, Loc: time.UTC,
		Copy:  func(s string) error { hs.copied = append(hs.copied, s); return nil },
		Timer: noTimer}
	hs.app = ui.NewApp(hs.common.Theme, hs.common.Keys, root(hs.common), Commands(hs.common))
	hs.app.Timer = noTimer
	hs.run(hs.app.Init())
	hs.send(tea.WindowSizeMsg{Width: w, Height: h})
	return hs
}

func (h *harness) send(msg tea.Msg) {
	_, cmd := h.app.Update(msg)
	h.run(cmd)
}

// noTimer never fires: the harness does not wait for timers.
func noTimer(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }

// run executes cmd and feeds back what it returns, breadth-first.
func (h *harness) run(cmd tea.Cmd) {
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0 && steps < 10000; steps++ {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		ch := make(chan tea.Msg, 1)
		go func() { ch <- c() }()
		var msg tea.Msg
		select {
		case msg = <-ch:
		case <-time.After(20 * time.Second):
			h.t.Fatal("a command did not return within 20s")
		}
		switch m := msg.(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, m...)
		case tea.QuitMsg:
		case cursor.BlinkMsg:
			// A text field's blinking cursor re-arms itself forever; one
			// blink is enough to know it works.
		default:
			_, next := h.app.Update(m)
			queue = append(queue, next)
		}
	}
}

func (h *harness) key(keys ...string) {
	for _, k := range keys {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		case "tab":
			msg = tea.KeyMsg{Type: tea.KeyTab}
		case "backspace":
			msg = tea.KeyMsg{Type: tea.KeyBackspace}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case "up":
			msg = tea.KeyMsg{Type: tea.KeyUp}
		case "left":
			msg = tea.KeyMsg{Type: tea.KeyLeft}
		case "right":
			msg = tea.KeyMsg{Type: tea.KeyRight}
		case "pgup":
			msg = tea.KeyMsg{Type: tea.KeyPgUp}
		case "shift+tab":
			msg = tea.KeyMsg{Type: tea.KeyShiftTab}
		case "ctrl+r":
			msg = tea.KeyMsg{Type: tea.KeyCtrlR}
		case "pgdown":
			msg = tea.KeyMsg{Type: tea.KeyPgDown}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		h.send(msg)
	}
}

// typeText types s rune by rune (as a terminal would deliver it).
func (h *harness) typeText(s string) {
	for _, r := range s {
		if r == ' ' {
			h.send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
			continue
		}
		h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func (h *harness) view() string { return h.app.View() }

// checkFrame asserts the frame is exactly w×h cells and free of any escape
// or control byte (the ASCII profile emits no styling).
func checkFrame(t *testing.T, frame string, w, hgt int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) != hgt {
		t.Fatalf("frame has %d lines, want %d:\n%s", len(lines), hgt, frame)
	}
	for i, l := range lines {
		if sw := ansi.StringWidth(l); sw > w {
			t.Fatalf("line %d is %d cells wide (> %d): %q", i, sw, w, l)
		}
		for _, r := range l {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x202e {
				t.Fatalf("line %d holds control rune %U: %q", i, r, l)
			}
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./views -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs from the golden file (go test ./views -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
