package ui

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// A panic in a view's Update or View, or in a command a view returned
// (cmdguard.go), must not take the terminal down with it (raw mode,
// alternate screen) or lose the user's place: the shell recovers it, writes
// a crash report next to the log and says so in the flash line. A view that panics while drawing is closed, since it would
// panic again on the next frame.
//
// The report holds what a developer needs and nothing a user would not
// want to send: the time, where it happened, the message type (not its
// content), the breadcrumbs, the panic and the stack. No environment, no
// configuration, no token, no row data.

// crashState is the App's memory of recovered panics.
type crashState struct {
	reported map[string]string // panic signature -> report path (one report each)
}

// recovered handles a panic caught in where ("Update" or "View"): it
// writes the report (once per distinct panic) and sets the flash line.
func (a *App) recovered(where string, msg tea.Msg, r any) {
	msgType := ""
	if msg != nil {
		msgType = fmt.Sprintf("%T", msg)
	}
	a.report(where, msgType, r, debug.Stack())
}

// commandPanicked handles a panic recovered while a command ran
// (cmdguard.go): the same report and flash, with the command's stack.
func (a *App) commandPanicked(p cmdPanicMsg) tea.Cmd {
	origin := ""
	if p.origin != nil {
		origin = p.origin.String()
	}
	a.report("command", origin, p.value, p.stack)
	seq := a.flashSeq
	return a.Timer(10*time.Second, func(time.Time) tea.Msg { return clearFlash{seq} })
}

// report writes the crash report of a panic r caught in where (once per
// distinct panic) and sets the flash line. msgType is the type of the
// message being handled ("" for none), stack the panicking goroutine's.
func (a *App) report(where, msgType string, r any, stack []byte) {
	var titles []string
	for _, v := range a.stack {
		titles = append(titles, sanitize.Line(safeTitle(v)))
	}
	what := sanitize.Line(fmt.Sprint(r))
	key := where + "\x00" + strings.Join(titles, "\x00") + "\x00" + what
	if a.crash.reported == nil {
		a.crash.reported = map[string]string{}
	}
	path, seen := a.crash.reported[key]
	if !seen {
		var err error
		path, err = writeCrashReport(a.CrashDir, where, msgType, titles, what, stack)
		if err != nil {
			path = "not written: " + sanitize.Line(err.Error())
		}
		a.crash.reported[key] = path
	}
	a.flash = FlashMsg{Text: fmt.Sprintf("internal error in %s (%s): %s · crash report %s", strings.Join(titles, " › "), where, what, path), Level: FlashError}
	a.flashSeq++
}

// safeTitle is v.Title(), which may itself be what panics.
func safeTitle(v View) (t string) {
	defer func() {
		if recover() != nil {
			t = fmt.Sprintf("%T", v)
		}
	}()
	return v.Title()
}

// writeCrashReport writes the report to a new 0600 file in dir ("" means
// the temporary directory) and returns its path.
func writeCrashReport(dir, where, msgType string, titles []string, what string, stack []byte) (string, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "opsdeck-crash-"+time.Now().Format("20060102-150405")+"-*.txt")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	loc := "App." + where
	if where == "command" {
		loc = "a command (tea.Cmd) the App issued"
	}
	fmt.Fprintf(&b, "opsdeck crash report\n\ntime:     %s\nwhere:    %s\n", time.Now().Format(time.RFC3339), loc)
	switch {
	case msgType != "" && where == "command":
		fmt.Fprintf(&b, "issued:   while handling %s\n", msgType)
	case msgType != "":
		fmt.Fprintf(&b, "message:  %s\n", msgType)
	}
	fmt.Fprintf(&b, "views:    %s\npanic:    %s\n\n%s", strings.Join(titles, " › "), what, stack)
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return f.Name(), nil
}

// crashedView stands in for a root view that panicked while drawing: it
// keeps the title and draws nothing, so the user can still quit, open
// another view with `:` or read the flash.
type crashedView struct{ v View }

func (c crashedView) Init() tea.Cmd                  { return nil }
func (c crashedView) Update(tea.Msg) (View, tea.Cmd) { return c, nil }
func (c crashedView) View() string                   { return "this view failed; see the crash report (: opens another)" }
func (c crashedView) SetSize(int, int) View          { return c }
func (c crashedView) Title() string                  { return safeTitle(c.v) }
func (c crashedView) Capturing() bool                { return false }
func (c crashedView) Status() string                 { return "" }
func (c crashedView) HelpCategories() []string       { return nil }

// tryView draws the frame; after a panic it closes the view on top (or
// stands in for the root) and reports ok false.
func (a *App) tryView() (s string, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			a.recovered("View", nil, r)
			if len(a.stack) > 1 {
				a.stack = a.stack[:len(a.stack)-1]
			} else if _, done := a.stack[0].(crashedView); !done {
				a.stack[0] = crashedView{a.stack[0]}
			}
			s, ok = "", false
		}
	}()
	return a.view(), true
}
