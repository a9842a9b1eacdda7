package ui

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/opsdeck/opsdeck/keymap"
)

type okMsg string

// cmdView returns commands that panic: from Init when initPanics, on "b" a
// batch with one, on "s" a sequence with one, on "n" a batch whose member
// is a sequence with one. It remembers the okMsgs it receives.
type cmdView struct {
	title      string
	initPanics bool
	got        *[]string
}

func panicCmd(what string) tea.Cmd {
	return func() tea.Msg {
		var m map[string]int
		m[what]++ // assignment to entry in nil map
		return nil
	}
}

func okCmd(s string) tea.Cmd { return func() tea.Msg { return okMsg(s) } }

func (v cmdView) Init() tea.Cmd {
	if v.initPanics {
		return panicCmd("init")
	}
	return nil
}

func (v cmdView) Update(m tea.Msg) (View, tea.Cmd) {
	switch m := m.(type) {
	case okMsg:
		*v.got = append(*v.got, string(m))
	case tea.KeyMsg:
		switch m.String() {
		case "b":
			return v, tea.Batch(okCmd("batch"), panicCmd("batch"))
		case "s":
			return v, tea.Sequence(okCmd("sequence"), panicCmd("sequence"), okCmd("after"))
		case "n":
			return v, tea.Batch(okCmd("outer"), func() tea.Msg {
				return tea.Sequence(okCmd("inner"), panicCmd("nested"))()
			})
		}
	}
	return v, nil
}
func (v cmdView) View() string             { return "body of " + v.title }
func (v cmdView) SetSize(int, int) View    { return v }
func (v cmdView) Title() string            { return v.title }
func (v cmdView) Capturing() bool          { return false }
func (v cmdView) Status() string           { return "" }
func (v cmdView) HelpCategories() []string { return nil }

// runCmds runs cmd the way bubbletea does (batch and sequence members
// too, synchronously, in order) and feeds every message to the App. A
// panic that escapes a command fails the test: in the program it would
// kill the TUI.
func runCmds(t *testing.T, a *App, cmd tea.Cmd) {
	t.Helper()
	for depth := 0; cmd != nil && depth < 20; depth++ {
		var msg tea.Msg
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("a panic escaped a command: %v", r)
				}
			}()
			msg = cmd()
		}()
		if v := reflect.ValueOf(msg); msg != nil && v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeFor[tea.Cmd]() {
			for i := range v.Len() {
				runCmds(t, a, v.Index(i).Interface().(tea.Cmd))
			}
			return
		}
		if msg == nil {
			return
		}
		_, cmd = a.Update(msg)
	}
}

// TestCommandPanicsAreRecovered: a panic in a command (plain, a member of
// a tea.Batch or a tea.Sequence, nested, from Init) never leaves the App:
// it becomes the flash naming the crash report and a 0600 report with the
// stack and no environment, like a panic in Update; the other commands of
// the batch still deliver their messages.
func TestCommandPanicsAreRecovered(t *testing.T) {
	t.Setenv("OPSDECK_SECRET_FOR_TEST", "hunter2-not-in-reports")
	dir := t.TempDir()
	var got []string
	a := NewApp(NewTheme(renderer(termenv.Ascii)), keymap.Default(), cmdView{title: "Root", got: &got, initPanics: true}, nil)
	a.Timer = func(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }
	a.CrashDir = dir
	a.Update(tea.WindowSizeMsg{Width: 120, Height: 20})

	runCmds(t, a, a.Init())
	frame := a.View()
	if !strings.Contains(frame, "internal error in Root (command): assignment to entry in nil map") {
		t.Fatalf("after a panic in Init's command:\n%s", frame)
	}
	report := onlyReport(t, dir)
	for _, want := range []string{"where:    a command (tea.Cmd) the App issued", "views:    Root", "nil map", "cmdguard_test.go", "panicCmd"} {
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

	var detail []string // the okMsgs broadcast to the view on top
	a.Update(PushMsg{View: cmdView{title: "Detail", got: &detail}})
	for _, k := range []string{"b", "s", "n"} {
		_, cmd := a.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
		runCmds(t, a, cmd)
		frame := a.View()
		if !strings.Contains(frame, "internal error in Root › Detail (command)") || !strings.Contains(frame, "body of Detail") {
			t.Fatalf("after a panic in the command of %q:\n%s", k, frame)
		}
	}
	// The same panic site, several times: one report for the stacked views.
	if n := len(reports(t, dir)); n != 2 {
		t.Fatalf("%d crash reports, want 2 (Init's, then Root › Detail's)", n)
	}
	if r := reportsContaining(t, dir, "issued:   while handling tea.KeyMsg"); r != 1 {
		t.Fatalf("%d reports name the key that issued the command", r)
	}
	// A sequence goes on after its member that panicked.
	if want := []string{"batch", "sequence", "after", "outer", "inner"}; fmt.Sprint(detail) != fmt.Sprint(want) {
		t.Fatalf("messages of the commands that did not panic: %v, want %v", detail, want)
	}
	// Guarding keeps a batch a batch and a sequence a sequence (bubbletea
	// runs the one concurrently, the other in order).
	for _, c := range []tea.Cmd{tea.Batch(okCmd("1"), okCmd("2")), tea.Sequence(okCmd("1"), okCmd("2"))} {
		if g, u := reflect.TypeOf(guard(c, nil)()), reflect.TypeOf(c()); g != u {
			t.Errorf("a guarded %v runs as a %v", u, g)
		}
	}
	// The App goes on: q still quits.
	if _, cmd := a.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")}); cmd == nil {
		t.Fatal("q does not quit after a recovered command panic")
	} else if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("q's command is not quit")
	}
}

func reportsContaining(t *testing.T, dir, s string) int {
	t.Helper()
	n := 0
	for _, r := range reports(t, dir) {
		b, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), s) {
			n++
		}
	}
	return n
}

// TestCommandPanicKeepsProgramRunning runs the App in a real bubbletea
// program: the root view's Init command panics on bubbletea's goroutine.
// Unguarded, bubbletea kills the program (ErrProgramPanic); guarded, the
// panic arrives as a message, and the program quits cleanly when asked.
func TestCommandPanicKeepsProgramRunning(t *testing.T) {
	dir := t.TempDir()
	var got []string
	a := NewApp(NewTheme(renderer(termenv.Ascii)), keymap.Default(), cmdView{title: "Root", got: &got, initPanics: true}, nil)
	a.Timer = func(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }
	a.CrashDir = dir
	var p *tea.Program
	p = tea.NewProgram(a, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithoutRenderer(), tea.WithoutSignalHandler(),
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			if _, ok := msg.(cmdPanicMsg); ok {
				go p.Quit() // handled after this message
			}
			return msg
		}))
	m, err := p.Run()
	if err != nil {
		t.Fatalf("the program ended with %v", err)
	}
	if f := m.(*App).flash.Text; !strings.Contains(f, "(command): assignment to entry in nil map") || !strings.Contains(f, "crash report "+dir) {
		t.Fatalf("flash after the command panic: %q", f)
	}
	if n := len(reports(t, dir)); n != 1 {
		t.Fatalf("%d crash reports", n)
	}
}
