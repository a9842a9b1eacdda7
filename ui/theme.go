package ui

import (
	"github.com/charmbracelet/lipgloss"
)

// Theme is every style the shell and the views use, built from one renderer
// so tests can pin the colour profile (golden files are rendered in ASCII).
type Theme struct {
	R *lipgloss.Renderer

	Header, HeaderAccent, HeaderDim lipgloss.Style
	Status, StatusKey               lipgloss.Style
	Crumb, CrumbActive              lipgloss.Style
	Flash, FlashErr, FlashWarn      lipgloss.Style
	Prompt, PromptErr               lipgloss.Style
	Title, Label, Value, Dim        lipgloss.Style
	TableHeader, Cell, Selected     lipgloss.Style
	HelpKey, HelpDesc, HelpTitle    lipgloss.Style
	// Accent is the colour of borders and highlights (dialogs).
	Accent lipgloss.TerminalColor
	// States maps a state or severity name (ERRORED, RUNNING…) to its style.
	States map[string]lipgloss.Style
	// JSON tree styles.
	JSONKey, JSONString, JSONNumber, JSONBool, JSONNull, JSONPunct, Match lipgloss.Style
}

// NewTheme builds the default theme on r.
func NewTheme(r *lipgloss.Renderer) *Theme {
	c := func(s string) lipgloss.TerminalColor { return lipgloss.AdaptiveColor{Light: s, Dark: s} }
	red, yellow, green, blue, grey, cyan, magenta := c("#e06c75"), c("#e5c07b"), c("#98c379"), c("#61afef"), c("#7f848e"), c("#56b6c2"), c("#c678dd")
	t := &Theme{R: r, Accent: cyan}
	t.Header = r.NewStyle().Bold(true)
	t.HeaderAccent = r.NewStyle().Foreground(cyan).Bold(true)
	t.HeaderDim = r.NewStyle().Foreground(grey)
	t.Status = r.NewStyle().Foreground(grey)
	t.StatusKey = r.NewStyle().Foreground(blue).Bold(true)
	t.Crumb = r.NewStyle().Foreground(grey)
	t.CrumbActive = r.NewStyle().Foreground(blue).Bold(true)
	t.Flash = r.NewStyle().Foreground(green)
	t.FlashErr = r.NewStyle().Foreground(red).Bold(true)
	t.FlashWarn = r.NewStyle().Foreground(yellow)
	t.Prompt = r.NewStyle().Foreground(cyan)
	t.PromptErr = r.NewStyle().Foreground(red)
	t.Title = r.NewStyle().Bold(true).Foreground(blue)
	t.Label = r.NewStyle().Foreground(grey)
	t.Value = r.NewStyle()
	t.Dim = r.NewStyle().Foreground(grey)
	t.TableHeader = r.NewStyle().Bold(true).Foreground(blue)
	t.Cell = r.NewStyle()
	t.Selected = r.NewStyle().Reverse(true)
	t.HelpKey = r.NewStyle().Foreground(cyan).Bold(true)
	t.HelpDesc = r.NewStyle()
	t.HelpTitle = r.NewStyle().Bold(true).Underline(true)
	t.States = map[string]lipgloss.Style{
		"ERRORED":   r.NewStyle().Foreground(red),
		"ERROR":     r.NewStyle().Foreground(red),
		"RUNNING":   r.NewStyle().Foreground(blue),
		"PENDING":   r.NewStyle().Foreground(cyan),
		"SCHEDULED": r.NewStyle().Foreground(cyan),
		"INITIAL":   r.NewStyle().Foreground(cyan),
		"BLOCKED":   r.NewStyle().Foreground(yellow),
		"WARNING":   r.NewStyle().Foreground(yellow),
		"ABANDONED": r.NewStyle().Foreground(magenta),
		"SKIPPED":   r.NewStyle().Foreground(grey),
		"COMPLETED": r.NewStyle().Foreground(green),
	}
	t.JSONKey = r.NewStyle().Foreground(blue)
	t.JSONString = r.NewStyle().Foreground(green)
	t.JSONNumber = r.NewStyle().Foreground(yellow)
	t.JSONBool = r.NewStyle().Foreground(magenta)
	t.JSONNull = r.NewStyle().Foreground(grey)
	t.JSONPunct = r.NewStyle().Foreground(grey)
	t.Match = r.NewStyle().Reverse(true).Foreground(yellow)
	return t
}

// State returns the style of a state name, or the plain cell style.
func (t *Theme) State(s string) lipgloss.Style {
	if st, ok := t.States[s]; ok {
		return st
	}
	return t.Cell
}
