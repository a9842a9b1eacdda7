package views

import (
	"errors"
	"io"
	"reflect"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// autoField is a one-line text field for huh forms, written for the
// automation editor because huh.Input does two things the editor cannot
// have: it checks its Validate func only when the user leaves the field
// (the editor validates as you type, on every key), and its cursor blinks,
// which wakes the program twice a second (opsdeck's inputs use a steady
// cursor, like ui.Prompt). Everything else is huh's: the form, the groups,
// navigation, the theme, Select and Confirm.
type autoField struct {
	key, title, desc string
	value            *string
	input            textinput.Model
	validate         func(string) error
	// hint says something about a valid value (the canonical name of a
	// typed number, a colour swatch); nil: nothing.
	hint func(string) string
	// skip hides the field from navigation (and dims it) when it does not
	// apply, e.g. the colour of a display style other than HIGHLIGHT.
	skip     func() bool
	skipNote string

	err     error  // from validate, for the current value
	problem string // from the server or a save attempt; cleared by an edit
	touched bool   // errors show once the user typed here (or tried to save)

	focused bool
	width   int
	theme   *huh.Theme
	keymap  huh.InputKeyMap
}

// maxMessageLines bounds the lines of a field's error message.
const maxMessageLines = 3

func newAutoField(key, title string, value *string) *autoField {
	in := textinput.New()
	in.Prompt = "> "
	in.CharLimit = 4096
	in.Cursor.SetMode(cursor.CursorStatic)
	in.SetValue(*value)
	f := &autoField{key: key, title: title, value: value, input: in}
	return f
}

func (f *autoField) Description(d string) *autoField { f.desc = d; return f }
func (f *autoField) Placeholder(p string) *autoField { f.input.Placeholder = p; return f }

// Validate sets the check run on every change.
func (f *autoField) Validate(fn func(string) error) *autoField {
	f.validate = fn
	f.revalidate()
	return f
}

func (f *autoField) Hint(fn func(string) string) *autoField { f.hint = fn; return f }

func (f *autoField) SkipWhen(fn func() bool, note string) *autoField {
	f.skip, f.skipNote = fn, note
	return f
}

// SetProblem puts a message from outside (a server field violation) on the
// field until it is edited.
func (f *autoField) SetProblem(msg string) { f.problem, f.touched = msg, true }

// Touch makes the field show its error even if the user never typed there.
func (f *autoField) Touch() { f.touched = true }

func (f *autoField) revalidate() {
	f.err = nil
	if f.validate != nil {
		f.err = f.validate(*f.value)
	}
}

func (f *autoField) Init() tea.Cmd { return nil }

func (f *autoField) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok || !f.focused {
		return f, nil
	}
	switch {
	case key.Matches(k, f.keymap.Prev):
		return f, huh.PrevField
	case key.Matches(k, f.keymap.Next, f.keymap.Submit):
		f.touched = true
		f.revalidate()
		if f.err != nil {
			return f, nil // like huh.Input: an invalid field keeps the focus
		}
		return f, huh.NextField
	}
	before := f.input.Value()
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(k)
	if v := f.input.Value(); v != before {
		*f.value = v
		f.touched = true
		f.problem = ""
		f.revalidate()
	}
	return f, cmd
}

func (f *autoField) styles() *huh.FieldStyles {
	t := f.theme
	if t == nil {
		t = huh.ThemeBase()
	}
	if f.focused {
		return &t.Focused
	}
	return &t.Blurred
}

func (f *autoField) View() string {
	st := f.styles()
	inner := max(f.width-st.Base.GetHorizontalFrameSize(), 1)
	var b strings.Builder
	b.WriteString(st.Title.Render(ansi.Truncate(f.title, inner, "…")))
	if f.skip != nil && f.skip() {
		b.WriteString("\n" + st.Description.Render(ansi.Truncate(f.skipNote, inner, "…")))
		return st.Base.Width(f.width).Render(b.String())
	}
	if f.desc != "" {
		b.WriteString("\n" + st.Description.Render(ansi.Truncate(f.desc, inner, "…")))
	}
	f.input.PromptStyle = st.TextInput.Prompt
	f.input.TextStyle = st.TextInput.Text
	f.input.PlaceholderStyle = st.TextInput.Placeholder
	f.input.Cursor.Style = st.TextInput.Cursor
	f.input.Width = max(inner-lipgloss.Width(f.input.Prompt)-1, 1)
	// The value may come from a server: the input shows it as typed, so it
	// is sanitised for display only when not being edited.
	if f.focused {
		b.WriteString("\n" + f.input.View())
	} else {
		b.WriteString("\n" + st.TextInput.Prompt.Render(f.input.Prompt) +
			st.TextInput.Text.Render(ansi.Truncate(sanitize.Line(*f.value), f.input.Width, "…")))
	}
	switch msg := f.message(); {
	case msg != "":
		// Messages say what to do ("use idp.department"): wrap, do not cut,
		// up to a few lines.
		lines := strings.Split(ansi.Wrap("✗ "+sanitize.Line(msg), inner, " "), "\n")
		if len(lines) > maxMessageLines {
			lines = append(lines[:maxMessageLines-1], ansi.Truncate(strings.Join(lines[maxMessageLines-1:], " "), inner, "…"))
		}
		for _, l := range lines {
			b.WriteString("\n" + st.ErrorMessage.UnsetString().Render(ansi.Truncate(l, inner, "…")))
		}
	case f.hint != nil:
		if h := f.hint(*f.value); h != "" {
			b.WriteString("\n" + st.Description.Render(ansi.Truncate(h, inner, "…")))
		}
	}
	return st.Base.Width(f.width).Render(b.String())
}

// message is what the field shows under its input: the server's problem,
// else the validation error once touched.
func (f *autoField) message() string {
	if f.problem != "" {
		return f.problem
	}
	if f.err != nil && f.touched {
		return f.err.Error()
	}
	return ""
}

func (f *autoField) Blur() tea.Cmd {
	f.focused = false
	f.input.Blur()
	f.revalidate()
	return nil
}

func (f *autoField) Focus() tea.Cmd {
	f.focused = true
	f.input.SetValue(*f.value)
	f.input.CursorEnd()
	return f.input.Focus()
}

// Error blocks leaving the group (and submitting the form) while the value
// is invalid, as huh fields do. A skipped field never blocks.
func (f *autoField) Error() error {
	if f.skip != nil && f.skip() {
		return nil
	}
	if f.err != nil {
		return f.err
	}
	if f.problem != "" {
		return errors.New(f.problem)
	}
	return nil
}

func (f *autoField) Run() error { return errors.New("autoField runs inside a form") }
func (f *autoField) RunAccessible(io.Writer, io.Reader) error {
	return errors.New("autoField runs inside a form")
}
func (f *autoField) Skip() bool                    { return f.skip != nil && f.skip() }
func (f *autoField) Zoom() bool                    { return false }
func (f *autoField) WithAccessible(bool) huh.Field { return f }
func (f *autoField) WithHeight(int) huh.Field      { return f }
func (f *autoField) GetKey() string                { return f.key }
func (f *autoField) GetValue() any                 { return *f.value }

func (f *autoField) KeyBinds() []key.Binding {
	return []key.Binding{f.keymap.Prev, f.keymap.Submit, f.keymap.Next}
}

func (f *autoField) WithTheme(t *huh.Theme) huh.Field {
	if f.theme == nil {
		f.theme = t
	}
	return f
}

func (f *autoField) WithKeyMap(k *huh.KeyMap) huh.Field {
	f.keymap = k.Input
	return f
}

func (f *autoField) WithWidth(w int) huh.Field {
	f.width = w
	return f
}

func (f *autoField) WithPosition(p huh.FieldPosition) huh.Field {
	f.keymap.Prev.SetEnabled(!p.IsFirst())
	f.keymap.Next.SetEnabled(!p.IsLast())
	f.keymap.Submit.SetEnabled(p.IsLast())
	return f
}

var _ huh.Field = (*autoField)(nil)

// huhTheme is huh's base theme drawn with the app theme's renderer (so the
// colour profile pinned for golden files applies to forms too) and colours.
func huhTheme(t *ui.Theme) *huh.Theme {
	h := huh.ThemeBase()
	rebindStyles(reflect.ValueOf(h).Elem(), t.R)
	h.Focused.Title = h.Focused.Title.Inherit(t.Title)
	h.Focused.Description = h.Focused.Description.Inherit(t.Dim)
	h.Focused.ErrorMessage = h.Focused.ErrorMessage.Inherit(t.FlashErr)
	h.Focused.ErrorIndicator = h.Focused.ErrorIndicator.Inherit(t.FlashErr)
	h.Focused.TextInput.Prompt = h.Focused.TextInput.Prompt.Inherit(t.Prompt)
	h.Focused.SelectSelector = h.Focused.SelectSelector.Inherit(t.Prompt)
	h.Focused.Base = h.Focused.Base.BorderForeground(t.Accent)
	h.Blurred.Title = h.Blurred.Title.Inherit(t.Label)
	h.Blurred.Description = h.Blurred.Description.Inherit(t.Dim)
	h.Blurred.ErrorMessage = h.Blurred.ErrorMessage.Inherit(t.FlashErr)
	h.Group.Title = h.Group.Title.Inherit(t.Title).Underline(true)
	h.Group.Description = h.Group.Description.Inherit(t.Dim)
	h.Help.ShortKey = h.Help.ShortKey.Inherit(t.HelpKey)
	h.Help.ShortDesc = h.Help.ShortDesc.Inherit(t.Dim)
	h.Help.ShortSeparator = h.Help.ShortSeparator.Inherit(t.Dim)
	// Mark the chosen button with brackets too: without colour (NO_COLOR,
	// the ASCII golden files) both buttons would otherwise look the same.
	for _, fs := range []*huh.FieldStyles{&h.Focused, &h.Blurred} {
		fs.FocusedButton = fs.FocusedButton.Transform(func(s string) string { return "[" + s + "]" }).Inherit(t.Selected)
		fs.BlurredButton = fs.BlurredButton.Transform(func(s string) string { return " " + s + " " })
	}
	return h
}

var styleType = reflect.TypeOf(lipgloss.Style{})

// rebindStyles moves every lipgloss.Style reachable in v to renderer r.
func rebindStyles(v reflect.Value, r *lipgloss.Renderer) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == styleType {
			if v.CanSet() {
				v.Set(reflect.ValueOf(v.Interface().(lipgloss.Style).Renderer(r)))
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				rebindStyles(v.Field(i), r)
			}
		}
	}
}

// huhKeys are huh's default keys without select filtering (its filter
// input blinks) and with esc left to the view (cancel).
func huhKeys() *huh.KeyMap {
	k := huh.NewDefaultKeyMap()
	k.Select.Filter.SetEnabled(false)
	k.Select.SetFilter.SetEnabled(false)
	k.Select.ClearFilter.SetEnabled(false)
	return k
}
