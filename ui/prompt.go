package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// PromptResult says what a key did to an open prompt.
type PromptResult int

const (
	PromptEditing PromptResult = iota
	PromptAccepted
	PromptCancelled
)

// Prompt is a one-line input with live validation, history and word
// completion: the `:` command line and the `/` filter line are both one.
type Prompt struct {
	input    textinput.Model
	keys     *keymap.Map
	theme    *Theme
	active   bool
	err      error
	history  []string
	hpos     int
	Validate func(string) error
	// Complete returns candidates for the word being typed (prefix match is
	// done here); nil disables completion.
	Complete func(line string) []string
}

// NewPrompt returns a closed prompt showing prefix (":" or "/").
func NewPrompt(th *Theme, keys *keymap.Map, prefix string) Prompt {
	in := textinput.New()
	in.Prompt = prefix
	in.CharLimit = 4096
	in.PromptStyle = th.Prompt
	// A steady cursor: no blink timer waking the program while typing.
	in.Cursor.SetMode(cursor.CursorStatic)
	return Prompt{input: in, keys: keys, theme: th}
}

// Open focuses the prompt with initial text.
func (p Prompt) Open(initial string) (Prompt, tea.Cmd) {
	p.active = true
	p.input.SetValue(initial)
	p.input.CursorEnd()
	p.hpos = len(p.history)
	p.revalidate()
	return p, p.input.Focus()
}

// Close blurs the prompt.
func (p Prompt) Close() Prompt {
	p.active = false
	p.input.Blur()
	return p
}

func (p Prompt) Active() bool  { return p.active }
func (p Prompt) Value() string { return p.input.Value() }
func (p Prompt) Err() error    { return p.err }

func (p *Prompt) revalidate() {
	p.err = nil
	if p.Validate != nil {
		p.err = p.Validate(p.input.Value())
	}
}

// Update handles a message while the prompt is open.
func (p Prompt) Update(msg tea.Msg) (Prompt, tea.Cmd, PromptResult) {
	if !p.active {
		return p, nil, PromptEditing
	}
	if km, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(km, p.keys.Get("cancel")):
			return p.Close(), nil, PromptCancelled
		case key.Matches(km, p.keys.Get("accept")):
			p.revalidate()
			if p.err != nil {
				return p, nil, PromptEditing
			}
			v := strings.TrimSpace(p.input.Value())
			if v != "" && (len(p.history) == 0 || p.history[len(p.history)-1] != v) {
				p.history = append(p.history, v)
			}
			return p.Close(), nil, PromptAccepted
		case key.Matches(km, p.keys.Get("history_prev")):
			if p.hpos > 0 {
				p.hpos--
				p.input.SetValue(p.history[p.hpos])
				p.input.CursorEnd()
				p.revalidate()
			}
			return p, nil, PromptEditing
		case key.Matches(km, p.keys.Get("history_next")):
			if p.hpos < len(p.history)-1 {
				p.hpos++
				p.input.SetValue(p.history[p.hpos])
			} else {
				p.hpos = len(p.history)
				p.input.SetValue("")
			}
			p.input.CursorEnd()
			p.revalidate()
			return p, nil, PromptEditing
		case key.Matches(km, p.keys.Get("complete")):
			p.complete()
			p.revalidate()
			return p, nil, PromptEditing
		}
	}
	var cmd tea.Cmd
	before := p.input.Value()
	p.input, cmd = p.input.Update(msg)
	if p.input.Value() != before {
		p.revalidate()
	}
	return p, cmd, PromptEditing
}

// complete extends the last word to the longest common prefix of the
// candidates that start with it.
func (p *Prompt) complete() {
	if p.Complete == nil {
		return
	}
	line := p.input.Value()
	start := strings.LastIndexAny(line, " (") + 1
	word := line[start:]
	var match []string
	for _, c := range p.Complete(line) {
		if strings.HasPrefix(strings.ToLower(c), strings.ToLower(word)) {
			match = append(match, c)
		}
	}
	if len(match) == 0 {
		return
	}
	common := match[0]
	for _, m := range match[1:] {
		for !strings.HasPrefix(strings.ToLower(m), strings.ToLower(common)) {
			common = common[:len(common)-1]
		}
	}
	if len(match) == 1 {
		common += " "
	}
	if len(common) > len(word) || len(match) == 1 {
		p.input.SetValue(line[:start] + common)
		p.input.CursorEnd()
	}
}

// View renders the prompt on one line of width w, with the validation error
// (if any) after the input.
func (p Prompt) View(w int) string {
	p.input.Width = max(1, w-len(p.input.Prompt)-2)
	line := p.input.View()
	if p.err != nil {
		room := w - ansi.StringWidth(line) - 3
		if room < 20 {
			// Too narrow for both: the error matters more than the text.
			return ansi.Truncate(p.theme.PromptErr.Render("✗ "+sanitize.Line(p.err.Error())), w, "…")
		}
		line += "  " + p.theme.PromptErr.Render(ansi.Truncate("✗ "+sanitize.Line(p.err.Error()), room, "…"))
	}
	return ansi.Truncate(line, w, "…")
}
