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

// palette is one set of colours. The dark one is tuned for light text on a
// dark background; the light one keeps the same hues dark enough to read on
// white.
type palette struct{ red, yellow, green, blue, grey, cyan, magenta string }

var (
	darkPalette  = palette{"#e06c75", "#e5c07b", "#98c379", "#61afef", "#7f848e", "#56b6c2", "#c678dd"}
	lightPalette = palette{"#b42318", "#8a5a00", "#1a7f37", "#0550ae", "#5f6670", "#0b6e7f", "#8250df"}
)

// Theme modes for NewThemeMode (and --theme).
const (
	ThemeAuto  = "auto"  // light or dark from the terminal background
	ThemeDark  = "dark"  // dark palette whatever the terminal says
	ThemeLight = "light" // light palette
	ThemeNone  = "none"  // NO_COLOR: no colour at all, attributes only
)

// NewTheme builds the default theme on r: each colour has a light and a
// dark variant, and r picks one from the terminal background (termenv's
// detection, or r.SetHasDarkBackground).
func NewTheme(r *lipgloss.Renderer) *Theme {
	c := func(light, dark string) lipgloss.TerminalColor {
		return lipgloss.AdaptiveColor{Light: light, Dark: dark}
	}
	l, d := lightPalette, darkPalette
	return newTheme(r, c(l.red, d.red), c(l.yellow, d.yellow), c(l.green, d.green), c(l.blue, d.blue),
		c(l.grey, d.grey), c(l.cyan, d.cyan), c(l.magenta, d.magenta))
}

// NewThemeMode builds the theme for mode (ThemeAuto, ThemeDark, ThemeLight
// or ThemeNone). Dark and light tell r which background to assume, so they
// never query the terminal.
func NewThemeMode(r *lipgloss.Renderer, mode string) *Theme {
	switch mode {
	case ThemeNone:
		return NewMonoTheme(r)
	case ThemeDark:
		r.SetHasDarkBackground(true)
	case ThemeLight:
		r.SetHasDarkBackground(false)
	}
	return NewTheme(r)
}

func newTheme(r *lipgloss.Renderer, red, yellow, green, blue, grey, cyan, magenta lipgloss.TerminalColor) *Theme {
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
		"INFO":      r.NewStyle().Foreground(blue),
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

// NewMonoTheme is the NO_COLOR theme (https://no-color.org): not one
// colour, but bold, underline and reverse video still mark what matters, so
// the selection, failures and matches stay visible. Render it with a profile
// that allows attributes (termenv.ANSI); termenv's Ascii drops them too.
func NewMonoTheme(r *lipgloss.Renderer) *Theme {
	plain := r.NewStyle()
	bold := r.NewStyle().Bold(true)
	t := &Theme{R: r, Accent: lipgloss.NoColor{}}
	t.Header, t.HeaderAccent, t.HeaderDim = bold, bold, plain
	t.Status, t.StatusKey = plain, bold
	t.Crumb, t.CrumbActive = plain, bold.Underline(true)
	t.Flash, t.FlashErr, t.FlashWarn = plain, bold, bold
	t.Prompt, t.PromptErr = plain, bold
	t.Title, t.Label, t.Value, t.Dim = bold, plain, plain, plain
	t.TableHeader, t.Cell, t.Selected = bold.Underline(true), plain, r.NewStyle().Reverse(true)
	t.HelpKey, t.HelpDesc, t.HelpTitle = bold, plain, bold.Underline(true)
	t.States = map[string]lipgloss.Style{
		"ERRORED": bold,
		"ERROR":   bold,
		"BLOCKED": r.NewStyle().Underline(true),
		"WARNING": r.NewStyle().Underline(true),
	}
	t.JSONKey, t.JSONString, t.JSONNumber, t.JSONBool, t.JSONNull, t.JSONPunct = bold, plain, plain, plain, plain, plain
	t.Match = r.NewStyle().Reverse(true).Underline(true)
	return t
}

// State returns the style of a state name, or the plain cell style.
func (t *Theme) State(s string) lipgloss.Style {
	if st, ok := t.States[s]; ok {
		return st
	}
	return t.Cell
}
