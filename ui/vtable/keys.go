package vtable

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
)

// KeyMap is the table's navigation. It satisfies help.KeyMap so the shell's
// help overlay can be generated from it, and callers remap by replacing
// bindings (keymap/ owns user overrides and conflict checks).
type KeyMap struct {
	Up, Down         key.Binding
	PageUp, PageDown key.Binding
	HalfUp, HalfDown key.Binding
	Top, Bottom      key.Binding
}

// DefaultKeyMap returns vim- and less-style bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup/ctrl+b", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn/ctrl+f", "page down")),
		HalfUp:   key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "half page up")),
		HalfDown: key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "half page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/home", "first row")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "last row")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Top, k.Bottom}
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom},
		{k.PageUp, k.PageDown, k.HalfUp, k.HalfDown},
	}
}

// matches is key.Matches for a key string computed once per message: it saves
// a KeyMsg.String allocation per binding on the keypress hot path.
func matches(s string, b key.Binding) bool {
	if !b.Enabled() {
		return false
	}
	for _, k := range b.Keys() {
		if k == s {
			return true
		}
	}
	return false
}

// Styles colour the table. Only colours and text attributes are used: the
// table lays out cells itself, so width, padding, margins, borders and
// alignment set on these styles are ignored.
type Styles struct {
	Header   lipgloss.Style
	Cell     lipgloss.Style
	Selected lipgloss.Style
	Dim      lipgloss.Style // loading hints, "no rows match", the status line
	Error    lipgloss.Style
	// RowTag styles rows by Row.Style (e.g. "ERRORED"); the selected row
	// always uses Selected so the cursor stays visible on every row.
	RowTag map[string]lipgloss.Style
	// Cursor marks the selected row in a one-glyph gutter, so the cursor is
	// visible without colour (NO_COLOR, ASCII profile, screen readers).
	Cursor string
	// Mark flags rows the caller marked (SetMarked) in the same gutter;
	// it should be as wide as Cursor.
	Mark string
}

// DefaultStyles returns styles that read on light and dark terminals.
func DefaultStyles() Styles {
	return Styles{
		Header: lipgloss.NewStyle().Bold(true).
			Foreground(lipgloss.AdaptiveColor{Light: "#3a3a3a", Dark: "#d0d0d0"}),
		Cell: lipgloss.NewStyle(),
		Selected: lipgloss.NewStyle().Bold(true).
			Foreground(lipgloss.AdaptiveColor{Light: "#000000", Dark: "#ffffff"}).
			Background(lipgloss.AdaptiveColor{Light: "#c6d8f5", Dark: "#2d4f7c"}),
		Dim:    lipgloss.NewStyle().Faint(true),
		Error:  lipgloss.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "#b00020", Dark: "#ff6b6b"}),
		RowTag: map[string]lipgloss.Style{},
		Cursor: "❯",
		Mark:   "●",
	}
}
