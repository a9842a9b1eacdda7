package jsontree

import (
	"github.com/opsdeck/opsdeck/ui/celltext"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
)

// KeyMap is the tree's keys (jless/fx style). Copying (yp/yv in jless) is
// the caller's: it has SelectedPath and SelectedValue and owns the clipboard.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding

	// Toggle folds or unfolds the node under the cursor (e, enter, space).
	Toggle key.Binding
	// Expand unfolds a folded node, or on an unfolded one moves to its first
	// child (l, right).
	Expand key.Binding
	// Collapse folds an unfolded node, or on a leaf or folded node moves to
	// its parent (h, left).
	Collapse key.Binding
	// ToggleAll (E): if any node is folded, unfold everything; otherwise fold
	// every node below the document roots, leaving each document's top-level
	// members in view.
	ToggleAll key.Binding

	// Search opens the inline search input (/): enter searches, esc cancels.
	Search key.Binding
	// Next and Prev go to the next and previous match (n, N), wrapping
	// around and unfolding the match's ancestors.
	Next, Prev key.Binding
}

// DefaultKeyMap returns the default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:        key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "down")),
		PageUp:    key.NewBinding(key.WithKeys("pgup", "ctrl+b", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown", "ctrl+f", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:       key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:    key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Toggle:    key.NewBinding(key.WithKeys("e", "enter", " "), key.WithHelp("e/enter", "fold/unfold")),
		Expand:    key.NewBinding(key.WithKeys("l", "right"), key.WithHelp("→/l", "unfold / first child")),
		Collapse:  key.NewBinding(key.WithKeys("h", "left"), key.WithHelp("←/h", "fold / parent")),
		ToggleAll: key.NewBinding(key.WithKeys("E"), key.WithHelp("E", "unfold all / fold all")),
		Search:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		Next:      key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next match")),
		Prev:      key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "previous match")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Toggle, k.ToggleAll, k.Search, k.Next, k.Prev}
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Toggle, k.Expand, k.Collapse, k.ToggleAll},
		{k.Search, k.Next, k.Prev},
	}
}

// matches is key.Matches for a key string computed once per message.
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

// Styles colour the tree. Only colours and text attributes are used.
type Styles struct {
	Key, Index     lipgloss.Style // object keys and document titles; [i] of array elements
	String, Number lipgloss.Style
	Bool, Null     lipgloss.Style
	Punct          lipgloss.Style // fold marks, ':', brackets, counts, previews
	Selected       lipgloss.Style // the cursor line, drawn without syntax colours
	Match          lipgloss.Style // the key or value a search matched
	Error          lipgloss.Style // parse error notes
	Status         lipgloss.Style // the status line
	// Cursor marks the cursor line in a one-glyph gutter, so the cursor is
	// visible without colour (NO_COLOR, ASCII profile).
	Cursor string
}

// DefaultStyles returns styles that read on light and dark terminals.
func DefaultStyles() Styles {
	c := func(light, dark string) lipgloss.TerminalColor {
		return lipgloss.AdaptiveColor{Light: light, Dark: dark}
	}
	return Styles{
		Key:    lipgloss.NewStyle().Foreground(c("#1f5fbf", "#7aa2f7")),
		Index:  lipgloss.NewStyle().Foreground(c("#6a6a6a", "#8a8a8a")),
		String: lipgloss.NewStyle().Foreground(c("#2e7d32", "#9ece6a")),
		Number: lipgloss.NewStyle().Foreground(c("#00838f", "#7dcfff")),
		Bool:   lipgloss.NewStyle().Foreground(c("#b26a00", "#e0af68")),
		Null:   lipgloss.NewStyle().Foreground(c("#8e24aa", "#bb9af7")),
		Punct:  lipgloss.NewStyle().Foreground(c("#8a8a8a", "#6b7089")),
		Selected: lipgloss.NewStyle().Bold(true).
			Foreground(c("#000000", "#ffffff")).
			Background(c("#c6d8f5", "#2d4f7c")),
		Match:  lipgloss.NewStyle().Foreground(c("#000000", "#000000")).Background(c("#ffd54f", "#e0af68")),
		Error:  lipgloss.NewStyle().Foreground(c("#b00020", "#ff6b6b")),
		Status: lipgloss.NewStyle().Faint(true),
		Cursor: "❯",
	}
}

type painters struct {
	key, index, str, num, boolean, null, punct, selected, match, err, status celltext.Painter
}

func newPainters(s Styles) painters {
	return painters{
		key: celltext.NewPainter(s.Key), index: celltext.NewPainter(s.Index), str: celltext.NewPainter(s.String),
		num: celltext.NewPainter(s.Number), boolean: celltext.NewPainter(s.Bool), null: celltext.NewPainter(s.Null),
		punct: celltext.NewPainter(s.Punct), selected: celltext.NewPainter(s.Selected), match: celltext.NewPainter(s.Match),
		err: celltext.NewPainter(s.Error), status: celltext.NewPainter(s.Status),
	}
}
