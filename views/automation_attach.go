package views

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// AttachForm picks the workflow(s) to attach an automation to (or detach it
// from) and, for an attach, its opt_in; then it asks before calling the API.
// The API cannot list workflows, so the choices are the workflows seen so
// far (their attached lists are cached), another id typed in, or all.
type AttachForm struct {
	c      *Common
	id     int64
	under  ui.View
	autoID string
	attach bool
	w, h   int

	row    store.AutomationRow
	known  []store.Workflow
	atts   []store.Attachment
	err    error
	form   *huh.Form
	choice string
	typed  string
	optIn  bool
	// asked: the confirmation is up; when it goes (either answer) this
	// form leaves too. Pushing the question and popping the form in one
	// batch would race: the runtime may run the pop after the push.
	asked bool
}

const (
	choiceOther = "\x00other"
	choiceAll   = "\x00all"
)

// openAttachForm opens the attach (or detach) form for automation id.
func openAttachForm(c *Common, under ui.View, id string, attach bool) tea.Cmd {
	if ok, why := c.CanWrite(); !ok {
		verb := "attach"
		if !attach {
			verb = "detach"
		}
		return ui.Flash(ui.FlashWarn, "cannot %s: %s", verb, why)
	}
	return ui.Push(NewAttachForm(c, under, id, attach))
}

// NewAttachForm returns the form; attach false detaches.
func NewAttachForm(c *Common, under ui.View, id string, attach bool) *AttachForm {
	return &AttachForm{c: c, id: c.nextID(), under: under, autoID: id, attach: attach}
}

type attachLoadedMsg struct {
	id    int64
	row   store.AutomationRow
	known []store.Workflow
	atts  []store.Attachment
	err   error
}

type attachSubmitMsg struct{ id int64 }

func (v *AttachForm) Init() tea.Cmd {
	st, id, auto := v.c.Store, v.id, v.autoID
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m := attachLoadedMsg{id: id}
		if m.row, m.err = st.Automation(ctx, auto); m.err != nil {
			return m
		}
		if m.known, m.err = st.Workflows(ctx); m.err != nil {
			return m
		}
		m.atts, m.err = st.Attachments(ctx, auto)
		return m
	}
}

func (v *AttachForm) verb() string {
	if v.attach {
		return "Attach"
	}
	return "Detach"
}

func (v *AttachForm) Title() string            { return v.verb() }
func (v *AttachForm) Capturing() bool          { return true }
func (v *AttachForm) HelpCategories() []string { return nil }
func (v *AttachForm) Status() string           { return "enter: next · shift+tab: back · esc: cancel" }

func (v *AttachForm) SetSize(w, h int) ui.View {
	v.w, v.h = w, h
	if v.form != nil {
		v.form = v.form.WithWidth(min(w, 100)).WithHeight(max(h-2, 3))
	}
	return v
}

func (v *AttachForm) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	switch msg := msg.(type) {
	case attachLoadedMsg:
		if msg.id != v.id {
			return v, nil
		}
		v.row, v.known, v.atts, v.err = msg.row, msg.known, msg.atts, msg.err
		if v.err != nil {
			return v, nil
		}
		return v, v.buildForm()
	case attachSubmitMsg:
		if msg.id != v.id {
			return v, nil
		}
		return v, v.confirm()
	case ui.RevealedMsg:
		if v.asked {
			return v, ui.Pop()
		}
		return v, nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyEsc {
			return v, ui.Pop()
		}
	case tea.WindowSizeMsg:
		return v, nil
	}
	if v.form == nil {
		return v, nil
	}
	m, cmd := v.form.Update(msg)
	if f, ok := m.(*huh.Form); ok {
		v.form = f
	}
	return v, cmd
}

func (v *AttachForm) buildForm() tea.Cmd {
	var opts []huh.Option[string]
	attached := map[string]bool{}
	for _, a := range v.atts {
		attached[a.WorkflowID] = true
	}
	for _, w := range v.known {
		label := sanitize.Line(w.ID)
		switch {
		case attached[w.ID]:
			label += " (attached)"
		case !v.attach:
			continue // detach offers what it is attached to
		}
		opts = append(opts, huh.NewOption(label, w.ID))
	}
	opts = append(opts, huh.NewOption("another workflow id…", choiceOther))
	if v.attach {
		opts = append(opts, huh.NewOption("every workflow (all)", choiceAll))
	} else {
		opts = append(opts, huh.NewOption("every workflow it is attached to (all)", choiceAll))
	}
	v.choice = opts[0].Value
	v.optIn = v.row.OptIn
	typed := newAutoField("workflow_id", "workflow id", &v.typed).
		Description("the access-review workflow (review configuration) id").
		Validate(func(s string) error {
			switch s = strings.TrimSpace(s); {
			case s == "":
				return errors.New("type the workflow id")
			case strings.ContainsAny(s, " \t/"):
				return errors.New("a workflow id has no spaces or slashes")
			}
			return nil
		}).
		SkipWhen(func() bool { return v.choice != choiceOther }, "(choose \"another workflow id…\" to type one)")
	fields := []huh.Field{
		huh.NewSelect[string]().Key("workflow").Title("workflow").Options(opts...).Value(&v.choice),
		typed,
	}
	if v.attach {
		fields = append(fields, huh.NewConfirm().Key("opt_in").Title("opt_in").
			Description("yes: operators pick it when creating a certification; no: it runs by default").
			Affirmative("yes").Negative("no").Value(&v.optIn))
	}
	v.form = huh.NewForm(huh.NewGroup(fields...)).
		WithTheme(huhTheme(v.c.Theme)).WithKeyMap(huhKeys()).WithShowHelp(false).WithShowErrors(false).
		WithWidth(min(max(v.w, 20), 100)).WithHeight(max(v.h-2, 3))
	id := v.id
	v.form.SubmitCmd = func() tea.Msg { return attachSubmitMsg{id} }
	return v.form.Init()
}

// target is the request the form describes.
func (v *AttachForm) target() (wf string, all bool) {
	switch v.choice {
	case choiceAll:
		return "", true
	case choiceOther:
		return strings.TrimSpace(v.typed), false
	}
	return v.choice, false
}

// confirm asks, naming the automation and the workflow; the form leaves
// when the question does.
func (v *AttachForm) confirm() tea.Cmd {
	wf, all := v.target()
	name := sanitize.Line(v.row.Name)
	where := "workflow " + sanitize.Line(wf)
	if all {
		where = "every workflow"
		if !v.attach {
			where = "every workflow it is attached to"
		}
	}
	var title, body string
	if v.attach {
		title = fmt.Sprintf("Attach %q to %s?", name, where)
		mode := "it runs by default on new certifications"
		if v.optIn {
			mode = "operators opt in to it when creating a certification"
		}
		body = fmt.Sprintf("On %s, %q will be eligible to run on the certifications of %s; %s.", hostOf(v.c), name, where, mode)
	} else {
		title = fmt.Sprintf("Detach %q from %s?", name, where)
		body = fmt.Sprintf("On %s, %q will no longer run on the certifications of %s.", hostOf(v.c), name, where)
	}
	c, auto, attach, optIn := v.c, v.autoID, v.attach, v.optIn
	v.asked = true
	return ui.Confirmed(c.Theme, v.under, title, body, v.verb(), func() tea.Cmd {
		return attachCmd(c, auto, wf, all, attach, optIn)
	})
}

// attachCmd calls attach or detach, then re-reads the affected workflows'
// attached lists into the cache and reports the automation's attachments.
func attachCmd(c *Common, auto, wf string, all, attach, optIn bool) tea.Cmd {
	cl, st, now := c.Veza, c.Store, c.Now
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), autoTimeout)
		defer cancel()
		verb := "attach"
		var err error
		if attach {
			err = cl.AttachAutomation(ctx, veza.AttachRequest{ID: auto, WorkflowID: wf, All: all, OptIn: optIn})
		} else {
			verb = "detach"
			err = cl.DetachAutomation(ctx, veza.DetachRequest{ID: auto, WorkflowID: wf, All: all})
		}
		if err != nil {
			return ui.FlashMsg{Level: ui.FlashError, Text: verb + " failed: " + autoErrText(err)}
		}
		var refreshErr error
		if wf != "" {
			_, refreshErr = opsync.RefreshAttached(ctx, cl, st, wf, now())
		}
		att := attachmentsNow(ctx, st, cl, now(), auto, true) // re-ask every known workflow: a few calls
		att.err = errors.Join(refreshErr, att.err)
		text := verb + "ed"
		if wf != "" {
			text += " (workflow " + sanitize.Line(wf) + ")"
		} else {
			text += " (all workflows)"
		}
		flash := ui.FlashMsg{Level: ui.FlashInfo, Text: text + "; the cache has the new attachments"}
		if att.err != nil {
			flash = ui.FlashMsg{Level: ui.FlashWarn, Text: text + ", but re-reading the attachments failed: " + sanitize.Line(att.err.Error())}
		}
		return tea.BatchMsg{
			func() tea.Msg { return flash },
			func() tea.Msg { return att },
		}
	}
}

func (v *AttachForm) View() string {
	t := v.c.Theme
	if v.err != nil {
		return ui.Fit(t.FlashErr.Render(sanitize.Line(v.err.Error())), v.w, v.h)
	}
	if v.form == nil {
		return ui.Fit(t.Dim.Render("loading…"), v.w, v.h)
	}
	head := t.Title.Render(v.verb()+" automation ") + sanitize.Line(v.row.Name)
	return ui.Fit(ansi.Truncate(head, v.w, "…")+"\n\n"+v.form.View(), v.w, v.h)
}
