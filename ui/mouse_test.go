package ui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/opsdeck/opsdeck/keymap"
)

// keyView records the keys it is given.
type keyView struct{ keys *[]tea.KeyType }

func (v keyView) Init() tea.Cmd { return nil }
func (v keyView) Update(m tea.Msg) (View, tea.Cmd) {
	if k, ok := m.(tea.KeyMsg); ok {
		*v.keys = append(*v.keys, k.Type)
	}
	return v, nil
}
func (v keyView) View() string             { return "" }
func (v keyView) SetSize(int, int) View    { return v }
func (v keyView) Title() string            { return "k" }
func (v keyView) Capturing() bool          { return false }
func (v keyView) Status() string           { return "" }
func (v keyView) HelpCategories() []string { return nil }

func TestMouseWheelScrollsLikeArrows(t *testing.T) {
	var got []tea.KeyType
	a := NewApp(NewTheme(renderer(termenv.Ascii)), keymap.Default(), keyView{&got}, nil)
	a.Update(tea.MouseMsg{Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	a.Update(tea.MouseMsg{Button: tea.MouseButtonWheelUp, Action: tea.MouseActionPress})
	a.Update(tea.MouseMsg{Button: tea.MouseButtonLeft, Action: tea.MouseActionPress}) // ignored
	if len(got) != 2 || got[0] != tea.KeyDown || got[1] != tea.KeyUp {
		t.Fatalf("keys from the wheel: %v", got)
	}
}
