package views

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// burst feeds msgs to the App one after another without running the
// commands in between (keys that arrive in one read, faster than the
// program runs its commands), then runs the commands.
func (h *harness) burst(msgs ...tea.Msg) {
	var cmds []tea.Cmd
	for _, m := range msgs {
		_, cmd := h.app.Update(m)
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		h.run(c)
	}
}

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

// TestAutomationEditorTypingRightAfterTab: text typed right after tab
// (shift+tab) goes to the field tab moved to, even when the keys arrive
// before the program has run the form's focus change: within a group,
// across a group boundary, past the Confirm fields (where y/n would flip
// the answer), and backwards.
func TestAutomationEditorTypingRightAfterTab(t *testing.T) {
	w := newAutoWorld(t)
	h := w.harness(t, automationsRoot(""), 120, 40, true)
	h.key("n")
	frameHas(t, h, "New automation")
	ed, ok := h.app.Top().(*AutomationEditor)
	if !ok {
		t.Fatalf("top view is %T", h.app.Top())
	}
	tab, shiftTab := tea.KeyMsg{Type: tea.KeyTab}, tea.KeyMsg{Type: tea.KeyShiftTab}

	// Name, then tab and the description in the same read (one message
	// of several runes, split by the shell).
	h.typeText("Stale")
	h.burst(tab, runes("idle ones"))
	if ed.d.Name != "Stale" || ed.d.Description != "idle ones" {
		t.Fatalf("after tab+text: name %q, description %q", ed.d.Name, ed.d.Description)
	}
	// Description → attach → opt_in → (next group) criteria.filter, typed
	// rune by rune, "y" and "n" first: the confirms must not take them.
	attach, optIn := ed.d.AttachToNew, ed.d.OptIn
	h.burst(tab, tab, tab, runes("y"), runes("n"))
	if ed.d.Filter != "yn" || ed.d.Description != "idle ones" || ed.d.AttachToNew != attach || ed.d.OptIn != optIn {
		t.Fatalf("after three tabs and text: filter %q, description %q, attach %v→%v, opt_in %v→%v",
			ed.d.Filter, ed.d.Description, attach, ed.d.AttachToNew, optIn, ed.d.OptIn)
	}
	// Edit the filter, tab to the mutable filter and type, shift+tab back
	// and type: all in one burst.
	bs := tea.KeyMsg{Type: tea.KeyBackspace}
	h.burst(bs, bs, runes(`idp.employee_type eq "Contractor"`), tab, runes(`previous.decision eq "RESULT_DECISION_ACCEPTED"`),
		shiftTab, runes(" and source.is_active eq false"))
	if ed.d.Filter != `idp.employee_type eq "Contractor" and source.is_active eq false` ||
		ed.d.MutableFilter != `previous.decision eq "RESULT_DECISION_ACCEPTED"` {
		t.Fatalf("after tab and shift+tab with text: filter %q, mutable %q", ed.d.Filter, ed.d.MutableFilter)
	}
	frameHas(t, h, "and source.is_active eq false")
}
