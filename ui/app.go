// Package ui is opsdeck's shell and its reusable widgets. It knows nothing of
// jobs or tasks: it stacks views, draws the header, breadcrumbs, status bar,
// flash messages, the `:` command line and the help overlay, and it owns the
// rule that nothing it draws is ever taller or wider than the terminal.
package ui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/ui/celltext"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// View is one screen on the stack.
type View interface {
	Init() tea.Cmd
	Update(tea.Msg) (View, tea.Cmd)
	// View renders the body: exactly the size last given to SetSize.
	View() string
	SetSize(w, h int) View
	// Title is this view's breadcrumb.
	Title() string
	// Capturing is true while the view has a text input focused: the shell
	// then forwards every key (q, :, esc) to it.
	Capturing() bool
	// Status is shown right-aligned in the status bar (position, filter…).
	Status() string
	// HelpCategories names the keymap categories shown by `?`.
	HelpCategories() []string
}

// Messages views send to the shell (return them from a tea.Cmd).
type (
	PushMsg struct{ View View }
	// ReplaceMsg pops the top view and pushes View in one step (a form
	// that hands over to its confirmation: two messages could be reordered).
	ReplaceMsg struct{ View View }
	PopMsg     struct{}
	FlashMsg   struct {
		Text  string
		Level FlashLevel
	}
	// SourceMsg updates the header's source and sync segments.
	SourceMsg struct {
		Profile, URL string
		Online       bool
		// State is a short human sentence: "syncing jobs 12,300", "synced 2m
		// ago", "offline: no source configured".
		State   string
		Syncing bool
		// Error marks State as a failure the user must act on (a refused
		// token, a missing permission): drawn like an error, not a warning.
		Error bool
	}
	// RevealedMsg is sent to a view when the view above it is popped.
	RevealedMsg struct{}
	clearFlash  struct{ seq int }
)

type FlashLevel int

const (
	FlashInfo FlashLevel = iota
	FlashWarn
	FlashError
)

// Flash returns a command that flashes text in the bottom line.
func Flash(level FlashLevel, format string, args ...any) tea.Cmd {
	msg := FlashMsg{Text: fmt.Sprintf(format, args...), Level: level}
	return func() tea.Msg { return msg }
}

// Replace returns a command that replaces the top view with v.
func Replace(v View) tea.Cmd { return func() tea.Msg { return ReplaceMsg{View: v} } }

// Push returns a command that pushes v on the stack.
func Push(v View) tea.Cmd { return func() tea.Msg { return PushMsg{View: v} } }

// Command opens a view from `:name args`.
type Command struct {
	Name string
	Help string
	Run  func(args string) (View, error)
	// Complete offers candidates for the arguments (may be nil).
	Complete func(args string) []string
	// Action, when set, is run instead of Run: a command that does
	// something other than open a view (switch profile, quit…).
	Action func(args string) tea.Cmd
}

// App is the root bubbletea model.
type App struct {
	theme    *Theme
	keys     *keymap.Map
	stack    []View
	w, h     int
	src      SourceMsg
	flash    FlashMsg
	flashSeq int
	help     bool
	cmdline  Prompt
	commands map[string]Command
	spinner  int
	ticking  bool
	// Timer schedules a message after d (tea.Tick); tests replace it so
	// they never sleep.
	Timer Timer
	// OnResync is called when the user asks for a sync now; nil = offline.
	OnResync func()
	// CrashDir is where the report of a recovered panic goes (next to the
	// log); "" means the temporary directory. See crash.go.
	CrashDir string
	crash    crashState
}

// NewApp returns the shell with root as its first view.
func NewApp(th *Theme, keys *keymap.Map, root View, cmds []Command) *App {
	a := &App{theme: th, keys: keys, stack: []View{root}, commands: map[string]Command{}, Timer: tea.Tick}
	for _, c := range cmds {
		a.commands[c.Name] = c
	}
	a.cmdline = NewPrompt(th, keys, ":")
	a.cmdline.Validate = a.validateCommand
	a.cmdline.Complete = a.completeCommand
	return a
}

// SetSource sets the header's source segment before the program starts.
func (a *App) SetSource(s SourceMsg) { a.src = s }

// Init guards the root view's first command like every other (cmdguard.go).
func (a *App) Init() tea.Cmd { return guard(a.top().Init(), nil) }

type tickMsg struct{}

// Timer is tea.Tick's signature.
type Timer func(d time.Duration, fn func(time.Time) tea.Msg) tea.Cmd

func (a *App) tick() tea.Cmd {
	return a.Timer(120*time.Millisecond, func(time.Time) tea.Msg { return tickMsg{} })
}

func (a *App) top() View { return a.stack[len(a.stack)-1] }

// chrome is the number of lines the shell itself uses: header, status, bottom line.
const chrome = 3

func (a *App) bodySize() (int, int) { return max(a.w, 1), max(a.h-chrome, 1) }

// Update is update with a recover: a view's panic becomes a crash report
// and a flash (crash.go). The command it returns is guarded: a panic while
// it runs comes back as a cmdPanicMsg, with the same report (cmdguard.go).
func (a *App) Update(msg tea.Msg) (m tea.Model, cmd tea.Cmd) {
	defer func() {
		if r := recover(); r != nil {
			a.recovered("Update", msg, r)
			seq := a.flashSeq
			m, cmd = a, a.Timer(10*time.Second, func(time.Time) tea.Msg { return clearFlash{seq} })
		}
		cmd = guard(cmd, msg)
	}()
	return a.update(msg)
}

func (a *App) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		a.w, a.h = msg.Width, msg.Height
		w, h := a.bodySize()
		var cmds []tea.Cmd
		for i, v := range a.stack {
			a.stack[i] = v.SetSize(w, h)
			var c tea.Cmd
			a.stack[i], c = a.stack[i].Update(msg)
			cmds = append(cmds, c)
		}
		return a, tea.Batch(cmds...)
	case tickMsg:
		// The spinner only ticks while a sync runs: an idle TUI never wakes.
		if !a.src.Syncing {
			a.ticking = false
			return a, nil
		}
		a.spinner++
		return a, a.tick()
	case PushMsg:
		w, h := a.bodySize()
		v := msg.View.SetSize(w, h)
		a.stack = append(a.stack, v)
		a.help = false
		return a, v.Init()
	case PopMsg:
		return a, a.pop()
	case ReplaceMsg:
		if len(a.stack) > 1 {
			a.stack = a.stack[:len(a.stack)-1]
		}
		w, h := a.bodySize()
		v := msg.View.SetSize(w, h)
		a.stack = append(a.stack, v)
		a.help = false
		return a, v.Init()
	case FlashMsg:
		a.flash = msg
		a.flashSeq++
		seq := a.flashSeq
		d := 4 * time.Second
		if msg.Level == FlashError {
			d = 10 * time.Second
		}
		return a, a.Timer(d, func(time.Time) tea.Msg { return clearFlash{seq} })
	case cmdPanicMsg:
		return a, a.commandPanicked(msg)
	case clearFlash:
		if msg.seq == a.flashSeq {
			a.flash = FlashMsg{}
		}
		return a, nil
	case SourceMsg:
		a.src = msg
		var spin tea.Cmd
		if msg.Syncing && !a.ticking {
			a.ticking = true
			spin = a.tick()
		}
		// Views want to know too (reload on new data); fall through to broadcast.
		return a, tea.Batch(spin, a.broadcast(msg))
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			// Keys typed faster than the terminal is read (or sent by
			// tmux/expect in one write) arrive as one message: ":errors"
			// must still open the command line and type "errors".
			var cmds []tea.Cmd
			for _, r := range msg.Runes {
				cmds = append(cmds, a.handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
			}
			return a, tea.Batch(cmds...)
		}
		return a, a.handleKey(msg)
	case tea.MouseMsg:
		// Only with --mouse: the wheel scrolls like the arrow keys.
		if a.cmdline.Active() || a.help || msg.Action != tea.MouseActionPress {
			return a, nil
		}
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			return a, a.handleKey(tea.KeyMsg{Type: tea.KeyUp})
		case tea.MouseButtonWheelDown:
			return a, a.handleKey(tea.KeyMsg{Type: tea.KeyDown})
		}
		return a, nil
	}
	// Everything else (async replies) goes to every view on the stack:
	// replies carry the id of the view that asked, others ignore them.
	return a, a.broadcast(msg)
}

func (a *App) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for i := range a.stack {
		var c tea.Cmd
		a.stack[i], c = a.stack[i].Update(msg)
		cmds = append(cmds, c)
	}
	return tea.Batch(cmds...)
}

func (a *App) pop() tea.Cmd {
	if len(a.stack) <= 1 {
		return nil
	}
	a.stack = a.stack[:len(a.stack)-1]
	var c tea.Cmd
	a.stack[len(a.stack)-1], c = a.top().Update(RevealedMsg{})
	return c
}

func (a *App) handleKey(k tea.KeyMsg) tea.Cmd {
	if k.Type == tea.KeyCtrlC {
		return tea.Quit
	}
	if a.cmdline.Active() {
		var cmd tea.Cmd
		var res PromptResult
		a.cmdline, cmd, res = a.cmdline.Update(k)
		if res == PromptAccepted {
			return a.runCommand(a.cmdline.Value())
		}
		if res == PromptEditing && k.Type == tea.KeyEnter && a.cmdline.Err() != nil {
			return Flash(FlashError, "%s", a.cmdline.Err())
		}
		return cmd
	}
	if a.help {
		if key.Matches(k, a.keys.Get("help"), a.keys.Get("back"), a.keys.Get("quit")) {
			a.help = false
		}
		return nil
	}
	if !a.top().Capturing() {
		switch {
		case key.Matches(k, a.keys.Get("quit")):
			return tea.Quit
		case key.Matches(k, a.keys.Get("help")):
			a.help = true
			return nil
		case key.Matches(k, a.keys.Get("command")):
			var cmd tea.Cmd
			a.cmdline, cmd = a.cmdline.Open("")
			return cmd
		case key.Matches(k, a.keys.Get("back")) && len(a.stack) > 1:
			return a.pop()
		case key.Matches(k, a.keys.Get("resync")):
			if a.OnResync == nil {
				return Flash(FlashWarn, "offline: no source configured, nothing to sync")
			}
			a.OnResync()
			return Flash(FlashInfo, "sync requested")
		}
	}
	var cmd tea.Cmd
	a.stack[len(a.stack)-1], cmd = a.top().Update(k)
	return cmd
}

func (a *App) parseCommand(line string) (Command, string, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return Command{}, "", nil
	}
	name, args, _ := strings.Cut(line, " ")
	c, ok := a.commands[name]
	if !ok {
		var names []string
		for n := range a.commands {
			if strings.HasPrefix(n, name) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		if len(names) == 1 {
			c = a.commands[names[0]]
		} else if len(names) > 1 {
			return Command{}, "", fmt.Errorf("ambiguous command %q: %s", name, strings.Join(names, ", "))
		} else {
			return Command{}, "", fmt.Errorf("unknown command %q (try %s)", name, strings.Join(a.commandNames(), ", "))
		}
	}
	return c, strings.TrimSpace(args), nil
}

func (a *App) commandNames() []string {
	var names []string
	for n := range a.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (a *App) validateCommand(line string) error {
	_, _, err := a.parseCommand(line)
	return err
}

func (a *App) completeCommand(line string) []string {
	name, args, hasArgs := strings.Cut(strings.TrimLeft(line, " "), " ")
	if !hasArgs {
		return a.commandNames()
	}
	if c, ok := a.commands[name]; ok && c.Complete != nil {
		return c.Complete(args)
	}
	return nil
}

func (a *App) runCommand(line string) tea.Cmd {
	c, args, err := a.parseCommand(line)
	if err != nil {
		return Flash(FlashError, "%s", err)
	}
	if c.Action != nil {
		return c.Action(args)
	}
	if c.Run == nil {
		return nil
	}
	v, err := c.Run(args)
	if err != nil {
		return Flash(FlashError, "%s", err)
	}
	if v == nil {
		return nil
	}
	return Push(v)
}

var spinFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// View is view with a recover: a view that panics while drawing is closed
// (it would panic on every frame) and the frame drawn again (crash.go).
func (a *App) View() string {
	for range 3 {
		if s, ok := a.tryView(); ok {
			return s
		}
	}
	return fit("opsdeck: internal error while drawing (see the crash report); q quits", a.w, a.h)
}

// view draws the whole screen: header, body, status bar, bottom line.
func (a *App) view() string {
	if a.w <= 0 || a.h <= 0 {
		return ""
	}
	if a.w < 20 || a.h < chrome+2 {
		return fit(fmt.Sprintf("terminal too small (%d×%d)", a.w, a.h), a.w, a.h)
	}
	w, h := a.bodySize()
	var b strings.Builder
	b.WriteString(a.headerLine())
	b.WriteByte('\n')
	if a.help {
		b.WriteString(a.helpView(w, h))
	} else {
		b.WriteString(fit(a.top().View(), w, h))
	}
	b.WriteByte('\n')
	b.WriteString(a.statusLine())
	b.WriteByte('\n')
	b.WriteString(a.bottomLine())
	return b.String()
}

func (a *App) headerLine() string {
	t := a.theme
	parts := []string{t.HeaderAccent.Render("opsdeck")}
	if a.src.Profile != "" {
		parts = append(parts, t.Header.Render(sanitize.Line(a.src.Profile)))
	}
	if a.src.URL != "" {
		parts = append(parts, t.HeaderDim.Render(sanitize.Line(a.src.URL)))
	}
	state := sanitize.Line(a.src.State)
	if a.src.Syncing {
		state = spinFrames[a.spinner%len(spinFrames)] + " " + state
	}
	if a.src.Error && a.src.State != "" {
		state = t.FlashErr.Render("● " + state)
	} else if !a.src.Online && a.src.State != "" {
		state = t.FlashWarn.Render("● " + state)
	} else if state != "" {
		state = t.HeaderDim.Render(state)
	}
	left := strings.Join(parts, t.HeaderDim.Render(" │ "))
	return joinLR(left, state, a.w)
}

func (a *App) statusLine() string {
	t := a.theme
	var crumbs []string
	for i, v := range a.stack {
		title := sanitize.Line(v.Title())
		if i == len(a.stack)-1 {
			crumbs = append(crumbs, t.CrumbActive.Render(title))
		} else {
			crumbs = append(crumbs, t.Crumb.Render(title))
		}
	}
	left := strings.Join(crumbs, t.Crumb.Render(" › "))
	return joinLR(left, t.Status.Render(sanitize.Line(a.top().Status())), a.w)
}

func (a *App) bottomLine() string {
	t := a.theme
	if a.cmdline.Active() {
		return a.cmdline.View(a.w)
	}
	if a.flash.Text != "" {
		st := t.Flash
		switch a.flash.Level {
		case FlashError:
			st = t.FlashErr
		case FlashWarn:
			st = t.FlashWarn
		}
		return ansi.Truncate(st.Render(sanitize.Line(a.flash.Text)), a.w, "…")
	}
	// Key hints: the few keys a newcomer needs, generated from the keymap.
	var hints []string
	for _, n := range []string{"help", "command", "quit"} {
		h := a.keys.Get(n).Help()
		hints = append(hints, t.StatusKey.Render(h.Key)+" "+t.Status.Render(h.Desc))
	}
	if len(a.stack) > 1 {
		h := a.keys.Get("back").Help()
		hints = append(hints, t.StatusKey.Render(h.Key)+" "+t.Status.Render("back"))
	}
	return ansi.Truncate(strings.Join(hints, "  "), a.w, "…")
}

func (a *App) helpView(w, h int) string {
	t := a.theme
	cats := append([]string{keymap.Global}, a.top().HelpCategories()...)
	var lines []string
	lines = append(lines, t.Title.Render("Keys")+t.Dim.Render("  (? or esc to close)"), "")
	for _, s := range a.keys.Help(cats...) {
		lines = append(lines, t.HelpTitle.Render(s.Title))
		for _, r := range s.Rows {
			lines = append(lines, fmt.Sprintf("  %s %s", t.HelpKey.Render(padRight(r[0], 8)), t.HelpDesc.Render(r[1])))
		}
		lines = append(lines, "")
	}
	lines = append(lines, t.HelpTitle.Render("commands"))
	for _, n := range a.commandNames() {
		lines = append(lines, fmt.Sprintf("  %s %s", t.HelpKey.Render(padRight(":"+n, 12)), t.HelpDesc.Render(a.commands[n].Help)))
	}
	// Lay the help out in as many columns as the width allows.
	colW := 0
	for _, l := range lines {
		colW = max(colW, ansi.StringWidth(l))
	}
	colW += 2
	ncol := max(1, w/max(colW, 1))
	if ncol > 1 && len(lines) > h {
		var cols [][]string
		for i := 0; i < len(lines); i += h {
			cols = append(cols, lines[i:min(i+h, len(lines))])
		}
		if len(cols) <= ncol {
			out := make([]string, h)
			for r := range h {
				var sb strings.Builder
				for _, c := range cols {
					if r < len(c) {
						sb.WriteString(padRight(c[r], colW))
					} else {
						sb.WriteString(strings.Repeat(" ", colW))
					}
				}
				out[r] = sb.String()
			}
			return fit(strings.Join(out, "\n"), w, h)
		}
	}
	return fit(strings.Join(lines, "\n"), w, h)
}

// joinLR puts left and right on one line of width w, truncating left first.
func joinLR(left, right string, w int) string {
	rw := ansi.StringWidth(right)
	if rw > w/2 {
		right = ansi.Truncate(right, w/2, "…")
		rw = ansi.StringWidth(right)
	}
	left = ansi.Truncate(left, max(0, w-rw-1), "…")
	gap := w - ansi.StringWidth(left) - rw
	if gap < 0 {
		gap = 0
	}
	return left + strings.Repeat(" ", gap) + right
}

func padRight(s string, w int) string {
	if d := w - ansi.StringWidth(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

// fit makes s exactly h lines of at most w cells: the shell's guarantee that
// a view can never push the header off screen or wrap.
func fit(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if celltext.StyledWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "")
		}
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// Fit is fit for views that compose their own bodies.
func Fit(s string, w, h int) string { return fit(s, w, h) }

// Top is the view on top of the stack (for tests and the main loop).
func (a *App) Top() View { return a.top() }
