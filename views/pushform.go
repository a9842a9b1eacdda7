package views

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// pushableTypes are the action types whose jobs report their result through
// the push endpoint (webhook-based integrations, seed 000 `:push`).
var pushableTypes = map[string]bool{"SEND_REST_PAYLOAD": true}

// PushForm collects a job result (any_changes, any_created, output
// entities) for a webhook-based job, then confirms and pushes it.
type PushForm struct {
	c     *Common
	id    int64
	job   store.JobRow
	under ui.View
	form  *huh.Form
	w, h  int

	anyChanges, anyCreated bool
	entities               string
}

type pushSubmitted struct{ id int64 }

func openPushForm(c *Common, under ui.View, j store.JobRow) tea.Cmd {
	if ok, why := c.CanWrite(); !ok {
		return ui.Flash(ui.FlashWarn, "cannot push a result: %s", why)
	}
	if !pushableTypes[j.ActionType] {
		return ui.Flash(ui.FlashWarn, "only webhook jobs (SEND_REST_PAYLOAD) take a pushed result; this job is %s", sanitize.Line(j.ActionType))
	}
	return ui.Push(newPushForm(c, under, j))
}

func newPushForm(c *Common, under ui.View, j store.JobRow) *PushForm {
	v := &PushForm{c: c, id: c.nextID(), job: j, under: under, entities: "[]"}
	id := v.id
	v.form = huh.NewForm(huh.NewGroup(
		huh.NewConfirm().Key("any_changes").Title("any_changes").
			Description("Did the integration change anything?").Value(&v.anyChanges),
		huh.NewConfirm().Key("any_created").Title("any_created").
			Description("Did it create anything?").Value(&v.anyCreated),
		huh.NewText().Key("output_entities").Title("output_entities").
			Description(`JSON array of {"entity_type","entity_id","attributes"}`).
			Lines(6).Value(&v.entities).Validate(func(s string) error {
			_, err := parseEntities(s)
			return err
		}),
	)).WithShowHelp(true).WithShowErrors(true)
	v.form.SubmitCmd = func() tea.Msg { return pushSubmitted{id} }
	v.form.CancelCmd = ui.Pop()
	return v
}

// parseEntities validates the output entities text.
func parseEntities(s string) ([]veza.Entity, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return []veza.Entity{}, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var es []veza.Entity
	if err := dec.Decode(&es); err != nil {
		return nil, fmt.Errorf("not a JSON array of entities: %v", err)
	}
	if dec.More() {
		return nil, errors.New("text after the JSON array")
	}
	for i, e := range es {
		if e.EntityType == "" || e.EntityID == "" {
			return nil, fmt.Errorf("entity %d: entity_type and entity_id are required", i)
		}
	}
	return es, nil
}

func (v *PushForm) Init() tea.Cmd            { return v.form.Init() }
func (v *PushForm) Title() string            { return "Push result" }
func (v *PushForm) Capturing() bool          { return true }
func (v *PushForm) HelpCategories() []string { return nil }
func (v *PushForm) Status() string           { return "tab: next field · enter: submit · esc: cancel" }

func (v *PushForm) SetSize(w, h int) ui.View {
	v.w, v.h = w, h
	v.form = v.form.WithWidth(min(w, 100))
	return v
}

func (v *PushForm) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	switch msg := msg.(type) {
	case pushSubmitted:
		if msg.id != v.id {
			return v, nil
		}
		return v, v.confirm()
	case tea.KeyMsg:
		if msg.Type == tea.KeyEsc {
			return v, ui.Pop()
		}
	}
	m, cmd := v.form.Update(msg)
	if f, ok := m.(*huh.Form); ok {
		v.form = f
	}
	return v, cmd
}

func (v *PushForm) confirm() tea.Cmd {
	es, err := parseEntities(v.entities)
	if err != nil {
		return ui.Flash(ui.FlashError, "%v", err)
	}
	j, c := v.job, v.c
	body := veza.PushBody{JobID: j.JobID, ActionType: j.ActionType, OutputEntities: es, AnyChanges: v.anyChanges, AnyCreated: v.anyCreated}
	title := "Push this result for job " + shortID(j.JobID) + "?"
	desc := fmt.Sprintf("%s · %s · %s\nany_changes=%v any_created=%v, %d output entit%s.\nThe tenant %s records it as the job's result; this cannot be undone.",
		sanitize.Line(j.ActionName), sanitize.Line(j.IdentityName), j.State, v.anyChanges, v.anyCreated, len(es), map[bool]string{true: "y", false: "ies"}[len(es) == 1], hostOf(c))
	// Pop the form, then ask over the view the form was opened from.
	return ui.Replace(ui.NewConfirm(c.Theme, v.under, title, desc, "Push", func() tea.Cmd {
		return pushCmd(c, body)
	}))
}

func pushCmd(c *Common, body veza.PushBody) tea.Cmd {
	cl, st := c.Veza, c.Store
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		if err := cl.PushResult(ctx, body.JobID, body); err != nil {
			return actionResult("push", 0, 1, []string{shortID(body.JobID) + ": " + apiErrText(err)}, "job")
		}
		if rec, err := cl.GetJob(ctx, body.JobID); err == nil {
			if _, err := st.WriteJobs(ctx, []store.JobRow{opsync.JobRow(rec)}, nil); err != nil {
				return actionResult("push", 1, 1, []string{"writing the new state to the cache: " + err.Error()}, "job")
			}
		}
		return actionResult("push", 1, 1, nil, "job")
	}
}

func (v *PushForm) View() string {
	t := v.c.Theme
	head := t.Title.Render("Push a result for job "+shortID(v.job.JobID)) + "  " +
		t.Dim.Render(sanitize.Line(v.job.ActionName+" · "+v.job.IdentityName+" · "+v.job.State))
	return ui.Fit(ansi.Truncate(head, v.w, "…")+"\n\n"+v.form.View(), v.w, v.h)
}
