package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/opsdeck/opsdeck/keymap"
)

// bombView panics in Update on the key "x" and in View once armed.
type bombView struct {
	title string
	armed *bool
}

func (v bombView) Init() tea.Cmd { return nil }
func (v bombView) Update(m tea.Msg) (View, tea.Cmd) {
	if k, ok := m.(tea.KeyMsg); ok && k.String() == "x" {
		var rows []string
		_ = rows[3] // index out of range
	}
	return v, nil
}
func (v bombView) View() string {
	if v.armed != nil && *v.armed {
		panic("cannot draw " + v.title)
	}
	return "body of " + v.title
}
func (v bombView) SetSize(int, int) View    { return v }
func (v bombView) Title() string            { return v.title }
func (v bombView) Capturing() bool          { return false }
func (v bombView) Status() string           { return "" }
func (v bombView) HelpCategories() []string { return nil }

func reports(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "opsdeck-crash-*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// onlyReport is the text of the one crash report in dir.
func onlyReport(t *testing.T, dir string) string {
	t.Helper()
	rs := reports(t, dir)
	if len(rs) != 1 {
		t.Fatalf("%d crash reports", len(rs))
	}
	b, err := os.ReadFile(rs[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPanicsAreRecovered: a panic in a view's Update or View never leaves
// the App; it becomes a flash naming the crash report, a 0600 report with
// the stack and the breadcrumbs but no environment, and (for View) the
// view that cannot draw is closed.
func TestPanicsAreRecovered(t *testing.T) {
	t.Setenv("OPSDECK_SECRET_FOR_TEST", "hunter2-not-in-reports")
	dir := t.TempDir()
	armed := false
	a := NewApp(NewTheme(renderer(termenv.Ascii)), keymap.Default(), bombView{title: "Root"}, nil)
	a.Timer = func(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }
	a.CrashDir = dir
	a.Update(tea.WindowSizeMsg{Width: 100, Height: 20})
	a.Update(PushMsg{View: bombView{title: "Detail", armed: &armed}})

	// Update.
	a.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("x")})
	frame := a.View()
	if !strings.Contains(frame, "internal error in Root › Detail (Update)") || !strings.Contains(frame, "body of Detail") {
		t.Fatalf("after a panic in Update:\n%s", frame)
	}
	report := onlyReport(t, dir)
	for _, want := range []string{"where:    App.Update", "message:  tea.KeyMsg", "views:    Root › Detail", "index out of range", "crash_test.go", "goroutine"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "hunter2") || strings.Contains(report, "OPSDECK_SECRET") {
		t.Fatal("the environment is in the report")
	}
	if fi, _ := os.Stat(reports(t, dir)[0]); fi.Mode().Perm() != 0o600 {
		t.Fatalf("report mode %04o", fi.Mode().Perm())
	}
	// The same panic again: no second report.
	a.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("x")})
	if n := len(reports(t, dir)); n != 1 {
		t.Fatalf("%d reports for one repeated panic", n)
	}

	// View: the detail cannot draw; it is closed and the root drawn.
	armed = true
	frame = a.View()
	if !strings.Contains(frame, "body of Root") || !strings.Contains(frame, "(View): cannot draw Detail") {
		t.Fatalf("after a panic in View:\n%s", frame)
	}
	checkSize(t, frame, 100, 20)
	if n := len(reports(t, dir)); n != 2 {
		t.Fatalf("%d reports after the View panic", n)
	}
	// The app goes on: keys still work, q quits.
	if _, cmd := a.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")}); cmd == nil {
		t.Fatal("q does not quit after a recovered panic")
	}

	// A root view that cannot draw is replaced by a stand-in.
	b2 := NewApp(NewTheme(renderer(termenv.Ascii)), keymap.Default(), bombView{title: "Only", armed: &armed}, nil)
	b2.CrashDir = dir
	b2.Update(tea.WindowSizeMsg{Width: 60, Height: 10})
	frame = b2.View()
	checkSize(t, frame, 60, 10)
	if !strings.Contains(frame, "this view failed") || !strings.Contains(frame, "Only") {
		t.Fatalf("root that cannot draw:\n%s", frame)
	}
	// An unwritable crash directory: still no panic, the flash says so.
	b3 := NewApp(NewTheme(renderer(termenv.Ascii)), keymap.Default(), bombView{title: "R"}, nil)
	b3.CrashDir = filepath.Join(dir, "missing", "dir")
	b3.Update(tea.WindowSizeMsg{Width: 200, Height: 10})
	b3.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("x")})
	if f := b3.View(); !strings.Contains(f, "crash report not written") {
		t.Fatalf("unwritable crash dir:\n%s", f)
	}
}

func checkSize(t *testing.T, frame string, w, h int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) != h {
		t.Fatalf("%d lines, want %d", len(lines), h)
	}
	for _, l := range lines {
		if ansi.StringWidth(l) > w {
			t.Fatalf("line wider than %d: %q", w, l)
		}
	}
}
