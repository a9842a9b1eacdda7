package ui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/opsdeck/opsdeck/keymap"
)

func testTheme() *Theme {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.Ascii)
	return NewTheme(r)
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func TestConfirmDefaultsToNo(t *testing.T) {
	ran := false
	c := NewConfirm(testTheme(), nil, "Delete automation \"x\"?", "It is attached to 3 workflows.", "Delete", func() tea.Cmd { ran = true; return nil })
	c.SetSize(60, 12)
	_, cmd := c.Update(keyMsg("enter"))
	if ran {
		t.Fatal("enter on the default selection confirmed")
	}
	if cmd == nil {
		t.Fatal("enter should close the dialog")
	}
	if _, ok := cmd().(PopMsg); !ok {
		t.Fatalf("enter on No: want PopMsg, got %T", cmd())
	}
	for _, k := range []string{"esc", "n", "q", "x"} {
		c.Update(keyMsg(k))
	}
	if ran {
		t.Fatal("a cancel key confirmed")
	}
	c.Update(keyMsg("right"))
	c.Update(keyMsg("enter"))
	if !ran {
		t.Fatal("enter on Yes did not confirm")
	}
	ran = false
	c.Update(keyMsg("y"))
	if !ran {
		t.Fatal("y did not confirm")
	}
}

func TestConfirmViewFitsAndNamesAction(t *testing.T) {
	c := NewConfirm(testTheme(), nil, "Restart task abc\x1b]0;pwned\x07?", strings.Repeat("long body ", 50), "Restart", nil)
	for _, sz := range [][2]int{{80, 24}, {20, 5}, {10, 3}, {1, 1}} {
		c.SetSize(sz[0], sz[1])
		v := c.View()
		lines := strings.Split(v, "\n")
		if len(lines) != sz[1] {
			t.Fatalf("%v: %d lines", sz, len(lines))
		}
		for _, l := range lines {
			if w := lipgloss.Width(l); w > sz[0] {
				t.Fatalf("%v: line width %d: %q", sz, w, l)
			}
		}
		if strings.Contains(v, "\x1b]") || strings.Contains(v, "\x07") {
			t.Fatalf("%v: control sequence reached the screen", sz)
		}
	}
	c.SetSize(80, 24)
	if v := c.View(); !strings.Contains(v, "Restart task abc") || !strings.Contains(v, "Restart") {
		t.Fatalf("dialog does not name the action:\n%s", v)
	}
}

func TestBurstOfRunesIsTypedKeyByKey(t *testing.T) {
	th := testTheme()
	keys := keymap.Default()
	opened := ""
	root := NewConfirm(th, nil, "root", "", "", nil)
	app := NewApp(th, keys, root, []Command{{Name: "errors", Action: func(args string) tea.Cmd { opened = "errors " + args; return nil }}})
	app.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	// The root view captures keys, so use a non-capturing one: pop to a
	// plain view is not possible; instead check the command line directly.
	_ = root
	app.stack[0] = plainView{}
	app.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(":errors x")})
	app.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if opened != "errors x" {
		t.Fatalf("a burst of runes did not type the command: opened %q", opened)
	}
}

type plainView struct{}

func (plainView) Init() tea.Cmd                  { return nil }
func (plainView) Update(tea.Msg) (View, tea.Cmd) { return plainView{}, nil }
func (plainView) View() string                   { return "" }
func (plainView) SetSize(int, int) View          { return plainView{} }
func (plainView) Title() string                  { return "plain" }
func (plainView) Capturing() bool                { return false }
func (plainView) Status() string                 { return "" }
func (plainView) HelpCategories() []string       { return nil }
