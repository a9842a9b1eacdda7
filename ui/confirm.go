package ui

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// Confirm is a modal question pushed on the view stack before anything
// destructive or upstream-changing runs. It names what will happen; only an
// explicit "y" (or enter with Yes selected) runs it, and the default
// selection is No, so a stray enter never confirms. esc, n and q cancel.
// The view it was opened from stays visible, dimmed, behind the box.
type Confirm struct {
	theme    *Theme
	under    View
	title    string
	body     string
	yesLabel string
	onYes    func() tea.Cmd
	yes      bool // selection
	w, h     int
}

// NewConfirm returns the dialog. title is the question ("Restart task
// 3f2a…?"), body says what will happen (may be several lines; it is
// sanitized), yesLabel names the action on the button ("Restart"). under is
// the view to draw behind it (may be nil). onYes runs after the dialog is
// popped.
func NewConfirm(th *Theme, under View, title, body, yesLabel string, onYes func() tea.Cmd) *Confirm {
	if yesLabel == "" {
		yesLabel = "Yes"
	}
	return &Confirm{theme: th, under: under, title: title, body: body, yesLabel: yesLabel, onYes: onYes}
}

// Confirmed is a helper: a command that pushes the dialog.
func Confirmed(th *Theme, under View, title, body, yesLabel string, onYes func() tea.Cmd) tea.Cmd {
	return Push(NewConfirm(th, under, title, body, yesLabel, onYes))
}

func (c *Confirm) Init() tea.Cmd            { return nil }
func (c *Confirm) Title() string            { return "confirm" }
func (c *Confirm) Capturing() bool          { return true }
func (c *Confirm) Status() string           { return "y: " + strings.ToLower(c.yesLabel) + " · n/esc: cancel" }
func (c *Confirm) HelpCategories() []string { return nil }

func (c *Confirm) SetSize(w, h int) View {
	c.w, c.h = w, h
	if c.under != nil {
		c.under = c.under.SetSize(w, h)
	}
	return c
}

func (c *Confirm) Update(msg tea.Msg) (View, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return c, nil
	}
	switch k.String() {
	case "y", "Y":
		return c, c.accept()
	case "n", "N", "esc", "q", "ctrl+c":
		return c, Pop()
	case "left", "right", "tab", "shift+tab", "h", "l":
		c.yes = !c.yes
	case "enter":
		if c.yes {
			return c, c.accept()
		}
		return c, Pop()
	}
	return c, nil
}

func (c *Confirm) accept() tea.Cmd {
	var then tea.Cmd
	if c.onYes != nil {
		then = c.onYes()
	}
	return tea.Batch(Pop(), then)
}

func (c *Confirm) View() string {
	w, h := max(c.w, 1), max(c.h, 1)
	var bg []string
	if c.under != nil {
		for _, l := range strings.Split(c.under.View(), "\n") {
			bg = append(bg, c.theme.Dim.Render(ansi.Strip(l)))
		}
	}
	for len(bg) < h {
		bg = append(bg, "")
	}
	boxW := min(max(w-4, 10), 72)
	inner := max(boxW-4, 1)
	var lines []string
	lines = append(lines, c.theme.Title.Render(ansi.Truncate(sanitize.Line(c.title), inner, "…")))
	lines = append(lines, "")
	for _, l := range strings.Split(sanitize.Text(c.body), "\n") {
		for _, wl := range strings.Split(ansi.Wrap(l, inner, " "), "\n") {
			lines = append(lines, ansi.Truncate(wl, inner, "…"))
		}
	}
	lines = append(lines, "")
	no, yes := " No ", " "+c.yesLabel+" "
	if c.yes {
		yes = c.theme.Selected.Render(yes)
	} else {
		no = c.theme.Selected.Render(no)
	}
	lines = append(lines, no+"   "+yes+c.theme.Dim.Render("   y/n"))
	// Keep the box within the terminal: drop body lines from the end.
	maxLines := max(h-2, 1)
	if len(lines) > maxLines {
		lines = append(lines[:max(maxLines-1, 0)], lines[len(lines)-1])
	}
	box := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(c.theme.Accent).
		Padding(0, 1).Width(min(boxW, w) - 2).Render(strings.Join(lines, "\n"))
	if h < 4 || w < 12 {
		box = ansi.Truncate(ansi.Strip(c.title), w, "…") + "\ny/n"
	}
	bl := strings.Split(box, "\n")
	top := max((h-len(bl))/2, 0)
	left := max((w-lipgloss.Width(bl[0]))/2, 0)
	for i, l := range bl {
		if top+i >= len(bg) {
			break
		}
		bg[top+i] = strings.Repeat(" ", left) + l
	}
	return Fit(strings.Join(bg[:h], "\n"), w, h)
}

// Pop returns a command that pops the top view.
func Pop() tea.Cmd { return func() tea.Msg { return PopMsg{} } }
