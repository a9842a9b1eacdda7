package views

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/internal/automation"
	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// AutomationEditor creates or edits an automation with a huh form: the
// fields validate as you type (internal/automation, the rules the server
// applies), the action section changes with its kind, and a highlight
// colour is previewed. Saving an edit first shows the diff of the old and
// new object and asks; the API then gets the full object (PUT). A save
// that fails (network, server error) keeps the draft in the cache, reopened
// by the next edit of that automation, and each field violation of a 400
// lands on its field.
type AutomationEditor struct {
	c      *Common
	id     int64
	autoID string // "" creates
	w, h   int

	mode    editorMode
	loadErr error
	orig    veza.Automation // as the cache holds it: the diff's old side, the PUT's base
	d       *autoDraft
	form    *huh.Form
	fields  map[string]*autoField // by violation field (automation.Field*)
	groupOf map[huh.Field]int     // the group each field is in
	banner  []string              // why the last save did not happen
	note    string                // restored draft, etc.
	pending veza.Automation       // what review would save
	diff    []string
	top     int
}

type editorMode int

const (
	editorLoading editorMode = iota
	editorEditing
	editorReview
	editorSaving
)

// autoDraft holds the form's values; the form binds to its fields.
type autoDraft struct {
	Name, Description               string
	AttachToNew, OptIn              bool
	Filter, MutableFilter           string
	Kind                            automation.Kind
	Decision, SignedOffState, Notes string
	DisplayText, HighlightColor     string
}

func draftOf(a veza.Automation) *autoDraft {
	d, _ := cleanDraftOf(a)
	return d
}

// cleanDraftOf is draftOf, with the text the form cannot show or hold
// safely (escape sequences, control and invisible characters, line breaks)
// removed; changed names the fields that lost something. A save then sends
// the cleaned text, which the diff shows.
func cleanDraftOf(a veza.Automation) (d *autoDraft, changed []string) {
	d = rawDraftOf(a)
	for _, f := range []struct {
		name string
		v    *string
	}{{"name", &d.Name}, {"description", &d.Description}, {"criteria.filter", &d.Filter},
		{"criteria.mutable_filter", &d.MutableFilter}, {"notes", &d.Notes}, {"display_text", &d.DisplayText},
		{"decision", &d.Decision}, {"signed_off_state", &d.SignedOffState}, {"highlight_color", &d.HighlightColor}} {
		c := sanitize.Line(lineBreaks.Replace(*f.v))
		if c != *f.v {
			*f.v = c
			changed = append(changed, f.name)
		}
	}
	return d, changed
}

var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ")

func rawDraftOf(a veza.Automation) *autoDraft {
	d := &autoDraft{
		Name: a.Name, Description: a.Description,
		AttachToNew: a.AttachmentBehavior.AttachToNewWorkflows, OptIn: a.AttachmentBehavior.OptIn,
		Filter: a.Criteria.Filter, MutableFilter: a.Criteria.MutableFilter,
		Kind:     automation.KindOf(a),
		Decision: string(a.Action.Decision), SignedOffState: string(a.Action.SignedOffState), Notes: a.Action.Notes,
		DisplayText: a.Action.DisplayText, HighlightColor: a.Action.HighlightColor,
	}
	if d.Kind == automation.KindNone || !(d.Kind == automation.KindModification || d.Kind.IsDisplay()) {
		d.Kind = automation.KindModification
	}
	return d
}

// automation is the full object the draft describes, on top of base (id,
// priority and anything else the form does not edit). The kind decides
// which half of the action is sent.
func (d *autoDraft) automation(base veza.Automation) veza.Automation {
	a := base
	a.Name, a.Description = d.Name, d.Description
	a.AttachmentBehavior = veza.AutomationAttachmentBehavior{AttachToNewWorkflows: d.AttachToNew, OptIn: d.OptIn}
	a.Criteria = veza.AutomationCriteria{Filter: strings.TrimSpace(d.Filter), MutableFilter: strings.TrimSpace(d.MutableFilter)}
	act := veza.AutomationAction{ReviewerAssignment: base.Action.ReviewerAssignment}
	if d.Kind.IsDisplay() {
		act = veza.AutomationAction{DisplayStyle: veza.EnumValue(d.Kind), DisplayText: d.DisplayText}
		if d.Kind == automation.KindHighlight {
			act.HighlightColor = strings.TrimSpace(d.HighlightColor)
		}
	} else {
		act.Decision = veza.EnumValue(strings.TrimSpace(d.Decision))
		act.SignedOffState = veza.EnumValue(strings.TrimSpace(d.SignedOffState))
		act.Notes = d.Notes
	}
	a.Action = act
	return a
}

// openAutomationEditor opens the editor for id ("" creates), or says why
// it cannot.
func openAutomationEditor(c *Common, id string) tea.Cmd {
	verb := "edit"
	if id == "" {
		verb = "create"
	}
	if ok, why := c.CanWrite(); !ok {
		return ui.Flash(ui.FlashWarn, "cannot %s automations: %s", verb, why)
	}
	return ui.Push(NewAutomationEditor(c, id))
}

// NewAutomationEditor edits automation id from the cache, or creates one
// when id is "".
func NewAutomationEditor(c *Common, id string) *AutomationEditor {
	return &AutomationEditor{c: c, id: c.nextID(), autoID: id}
}

type editorLoadedMsg struct {
	id    int64
	obj   veza.Automation
	draft *store.AutomationDraft
	err   error
}

type editorSubmitMsg struct{ id int64 }

type editorSavedMsg struct {
	id  int64
	row store.AutomationRow
	err error
}

func (v *AutomationEditor) Init() tea.Cmd {
	st, id, auto := v.c.Store, v.id, v.autoID
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		msg := editorLoadedMsg{id: id}
		if auto != "" {
			if _, msg.obj, msg.err = loadAutomation(ctx, st, auto); msg.err != nil {
				return msg
			}
		}
		if d, ok, err := st.GetAutomationDraft(ctx, auto); err == nil && ok {
			msg.draft = &d
		}
		return msg
	}
}

func (v *AutomationEditor) Title() string {
	if v.autoID == "" {
		return "New automation"
	}
	return "Edit " + ansi.Truncate(sanitize.Line(v.orig.Name), 30, "…")
}

func (v *AutomationEditor) Capturing() bool { return true }

func (v *AutomationEditor) HelpCategories() []string { return []string{keymap.Automations} }

func (v *AutomationEditor) Status() string {
	switch v.mode {
	case editorReview:
		return "y: save · n/esc: back to editing · j/k: scroll"
	case editorSaving:
		return "saving…"
	}
	return "tab/enter: next · shift+tab: back · ctrl+s: review & save · esc: cancel"
}

func (v *AutomationEditor) SetSize(w, h int) ui.View {
	v.w, v.h = w, h
	v.sizeForm()
	return v
}

// layout: the preview sits right of the form on wide terminals, under it
// on narrow ones.
func (v *AutomationEditor) wide() bool { return v.w >= 110 }

// previewWidth is the preview column's width on a wide terminal.
func (v *AutomationEditor) previewWidth() int { return min(max(v.w/3, 40), 64) }

func (v *AutomationEditor) formSize() (int, int) {
	head := 1 + len(v.bannerLines())
	if v.wide() {
		return max(v.w-v.previewWidth()-2, 20), max(v.h-head, 3)
	}
	return max(v.w, 20), max(v.h-head-4, 3)
}

func (v *AutomationEditor) sizeForm() {
	if v.form == nil {
		return
	}
	w, h := v.formSize()
	v.form = v.form.WithWidth(w).WithHeight(h)
}

func (v *AutomationEditor) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	switch msg := msg.(type) {
	case editorLoadedMsg:
		if msg.id != v.id {
			return v, nil
		}
		if msg.err != nil {
			v.loadErr = msg.err
			return v, nil
		}
		v.orig = msg.obj
		var changed []string
		v.d, changed = cleanDraftOf(msg.obj)
		if v.autoID == "" {
			v.d.Kind = automation.KindHighlight // the most common new rule
		}
		if len(changed) > 0 {
			v.note = "control or invisible characters were removed from " + strings.Join(changed, ", ") + "; saving sends the cleaned text (see the diff)"
		}
		if msg.draft != nil {
			var a veza.Automation
			if json.Unmarshal(msg.draft.Draft, &a) == nil {
				v.d = draftOf(a)
				v.note = fmt.Sprintf("reopened your unsaved draft from %s (%s)", v.c.fmtAgo(msg.draft.SavedAt), sanitize.Line(msg.draft.Reason))
			}
		}
		v.mode = editorEditing
		return v, v.buildForm()
	case editorSubmitMsg:
		if msg.id != v.id || v.mode != editorEditing {
			return v, nil
		}
		return v, v.review()
	case editorSavedMsg:
		if msg.id != v.id {
			return v, nil
		}
		return v, v.saved(msg)
	case tea.KeyMsg:
		return v, v.handleKey(msg)
	case tea.WindowSizeMsg:
		return v, nil // sized by SetSize: the form must not take the whole terminal
	}
	if v.form != nil && v.mode == editorEditing {
		return v, v.updateForm(msg)
	}
	return v, nil
}

func (v *AutomationEditor) updateForm(msg tea.Msg) tea.Cmd {
	m, cmd := v.form.Update(msg)
	if f, ok := m.(*huh.Form); ok {
		v.form = f
	}
	return v.settleFocus(cmd)
}

// huhFocusMoves are huh's commands that move the focus: each only returns
// a message (huh.NextField's nextFieldMsg…), so running one here is free.
var huhFocusMoves = map[string]bool{
	"github.com/charmbracelet/huh.NextField": true,
	"github.com/charmbracelet/huh.PrevField": true,
	"github.com/charmbracelet/huh.nextGroup": true,
	"github.com/charmbracelet/huh.prevGroup": true,
}

// settleFocus makes a focus move the form asked for (tab, shift+tab, enter)
// happen now rather than when bubbletea gets round to running the command:
// keys that arrived in the same read (fast typing, tmux send-keys, a paste
// split by the shell) are handled before that, and would land in the field
// being left (or flip a Confirm with y/n). The move's own follow-ups (the
// next group after a group's last field) settle the same way; any other
// command is returned for bubbletea to run.
func (v *AutomationEditor) settleFocus(cmd tea.Cmd) tea.Cmd {
	for range 16 { // a move leads to at most a couple more
		if cmd == nil || !huhFocusMoves[funcName(cmd)] {
			return cmd
		}
		var m tea.Model
		m, cmd = v.form.Update(cmd())
		if f, ok := m.(*huh.Form); ok {
			v.form = f
		}
	}
	return cmd
}

func funcName(fn tea.Cmd) string {
	if f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()); f != nil {
		return f.Name()
	}
	return ""
}

func (v *AutomationEditor) handleKey(k tea.KeyMsg) tea.Cmd {
	keys := v.c.Keys
	switch v.mode {
	case editorLoading:
		if k.Type == tea.KeyEsc {
			return ui.Pop()
		}
		return nil
	case editorSaving:
		return nil
	case editorReview:
		switch {
		case k.String() == "y" || k.String() == "Y":
			return v.save()
		case k.String() == "n" || k.Type == tea.KeyEsc:
			v.mode = editorEditing
			return v.rebuildIfDone()
		case key.Matches(k, keys.Get("down")):
			v.scrollDiff(1)
		case key.Matches(k, keys.Get("up")):
			v.scrollDiff(-1)
		case key.Matches(k, keys.Get("page_down"), keys.Get("half_down")):
			v.scrollDiff(v.h / 2)
		case key.Matches(k, keys.Get("page_up"), keys.Get("half_up")):
			v.scrollDiff(-v.h / 2)
		}
		return nil
	}
	switch {
	case k.Type == tea.KeyEsc:
		return v.cancel()
	case key.Matches(k, keys.Get("auto_save")):
		return v.review()
	}
	return v.updateForm(k)
}

// cancel leaves the editor, asking first when something was changed.
func (v *AutomationEditor) cancel() tea.Cmd {
	if v.d == nil || automation.Pretty(v.d.automation(v.orig)) == automation.Pretty(draftOf(v.orig).automation(v.orig)) {
		return ui.Pop()
	}
	return ui.Confirmed(v.c.Theme, v, "Discard your changes?", "Nothing has been sent. Leaving now drops what you typed in this editor.", "Discard", ui.Pop)
}

// review checks the whole automation and, when it is valid, shows what a
// save would change.
func (v *AutomationEditor) review() tea.Cmd {
	if v.d == nil {
		return nil
	}
	n, vs := automation.Normalize(v.d.automation(v.orig))
	if len(vs) > 0 {
		v.showProblems(vs, "not saved: fix the marked fields first")
		cmd := v.rebuildIfDone()
		if cmd != nil { // a fresh form: take the user to the problem
			v.focusField(vs[0].Field)
		}
		return tea.Batch(cmd, ui.Flash(ui.FlashError, "not saved: %d problem%s (%s: %s)", len(vs), plural(len(vs)),
			vs[0].Field, sanitize.Line(vs[0].Description)))
	}
	old, _ := automation.Normalize(v.orig)
	if v.autoID == "" {
		old = veza.Automation{}
	}
	d := automation.Diff(old, n)
	if d == "" {
		return tea.Batch(v.rebuildIfDone(), ui.Flash(ui.FlashInfo, "no changes to save"))
	}
	v.pending, v.diff, v.top, v.banner = n, strings.Split(strings.TrimRight(d, "\n"), "\n"), 0, nil
	v.mode = editorReview
	return nil
}

// showProblems puts each violation on its field and the rest in the banner.
func (v *AutomationEditor) showProblems(vs []veza.FieldViolation, headline string) {
	v.banner = []string{headline}
	for _, p := range vs {
		if f, ok := v.fields[p.Field]; ok {
			f.SetProblem(p.Description)
			continue
		}
		v.banner = append(v.banner, p.Field+": "+p.Description)
	}
	for _, f := range v.fields {
		f.Touch()
	}
	v.sizeForm()
}

// focusField moves the form's focus to the field of violation key (from the
// first group on, as a fresh form starts): huh moves one group or field at
// a time, and a group with errors keeps the focus, as it should.
func (v *AutomationEditor) focusField(key string) {
	target, ok := v.fields[key]
	if !ok || v.form == nil || target.Skip() {
		return
	}
	for steps := 0; steps < 32; steps++ {
		cur := v.form.GetFocusedField()
		if cur == huh.Field(target) {
			return
		}
		g, tg := v.groupOf[cur], v.groupOf[target]
		switch {
		case g < tg:
			if v.form.NextGroup(); v.form.GetFocusedField() == cur {
				return // the group did not let go
			}
		case g == tg:
			v.form.NextField()
		default:
			return
		}
	}
}

// rebuildIfDone makes a new form on the same values when huh's form has
// completed (a completed huh form takes no more input).
func (v *AutomationEditor) rebuildIfDone() tea.Cmd {
	if v.form != nil && v.form.State == huh.StateNormal {
		return nil
	}
	return v.buildForm()
}

func (v *AutomationEditor) scrollDiff(d int) {
	v.top = max(min(v.top+d, len(v.diff)-max(v.h-3, 1)), 0)
}

// save sends the reviewed object: PUT for an edit, POST for a create; then
// reads it back into the cache.
func (v *AutomationEditor) save() tea.Cmd {
	if ok, why := v.c.CanWrite(); !ok {
		return ui.Flash(ui.FlashWarn, "cannot save: %s", why)
	}
	v.mode = editorSaving
	cl, st, id, auto, a, log := v.c.Veza, v.c.Store, v.id, v.autoID, v.pending, v.c.Log
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), autoTimeout)
		defer cancel()
		target := auto
		var err error
		if auto == "" {
			target, err = cl.CreateAutomation(ctx, a)
		} else {
			err = cl.UpdateAutomation(ctx, a)
		}
		if err != nil {
			// Keep what the user typed: the next edit reopens it.
			b, _ := json.Marshal(a)
			if derr := st.SaveAutomationDraft(ctx, store.AutomationDraft{AutomationID: auto, Draft: b, Reason: autoErrText(err)}); derr != nil && log != nil {
				log.Warn("keeping the automation draft failed", "err", derr)
			}
			return editorSavedMsg{id: id, err: err}
		}
		_ = st.DeleteAutomationDraft(ctx, auto)
		row, err := opsync.RefreshAutomation(ctx, cl, st, target)
		if err != nil {
			return editorSavedMsg{id: id, row: store.AutomationRow{ID: target, Name: a.Name},
				err: fmt.Errorf("saved, but reading it back failed (the next sync will): %w", err)}
		}
		if log != nil {
			log.Info("automation saved", "id", target, "created", auto == "")
		}
		return editorSavedMsg{id: id, row: row}
	}
}

func (v *AutomationEditor) saved(msg editorSavedMsg) tea.Cmd {
	if msg.err == nil {
		verb := "saved"
		if v.autoID == "" {
			verb = "created"
		}
		return tea.Batch(ui.Pop(), Reload, ui.Flash(ui.FlashInfo, "%s automation %q; the cache has it", verb, sanitize.Line(msg.row.Name)))
	}
	if msg.row.ID != "" { // saved upstream; only the read-back failed
		return tea.Batch(ui.Pop(), Reload, ui.Flash(ui.FlashWarn, "%s", autoErrText(msg.err)))
	}
	v.mode = editorEditing
	headline := "not saved: " + autoErrText(msg.err) + " — your draft is kept"
	vs := veza.FieldViolations(msg.err)
	v.showProblems(vs, headline)
	cmd := v.buildForm()
	if len(vs) > 0 {
		v.focusField(vs[0].Field)
	}
	return tea.Batch(cmd, ui.Flash(ui.FlashError, "%s", headline))
}

// buildForm makes the huh form over v.d.
func (v *AutomationEditor) buildForm() tea.Cmd {
	d := v.d
	problems := map[string]string{}
	for k, f := range v.fields {
		if f.problem != "" {
			problems[k] = f.problem
		}
	}
	name := newAutoField("name", "name", &d.Name).Validate(automation.CheckName)
	desc := newAutoField("description", "description", &d.Description).Placeholder("what it is for")
	filterF := newAutoField("filter", "criteria.filter", &d.Filter).
		Description("SCIM over source.*, destination.* or a joined node alias (idp.*)").
		Placeholder(`source.is_active eq false`).Validate(automation.CheckFilter)
	mutable := newAutoField("mutable_filter", "criteria.mutable_filter", &d.MutableFilter).
		Description("previous.decision / previous.notes / previous.signed_off_state").
		Placeholder(`previous.decision eq "RESULT_DECISION_ACCEPTED"`).Validate(automation.CheckMutableFilter)
	decision := newAutoField("decision", "decision", &d.Decision).
		Description("UNKNOWN NONE ACCEPTED REJECTED FIXED, or 0-4").
		Validate(func(s string) error { _, _, err := automation.ParseDecision(s); return err }).
		Hint(func(s string) string { return enumHint(automation.ParseDecision, s) })
	signed := newAutoField("signed_off_state", "signed_off_state", &d.SignedOffState).
		Description("UNKNOWN NOT_SIGNED_OFF SIGNED_OFF, or 0-2").
		Validate(func(s string) error { _, _, err := automation.ParseSignedOffState(s); return err }).
		Hint(func(s string) string { return enumHint(automation.ParseSignedOffState, s) })
	notes := newAutoField("notes", "notes", &d.Notes).Placeholder("added to each matching row")
	text := newAutoField("display_text", "display_text", &d.DisplayText).Placeholder("shown to reviewers")
	color := newAutoField("highlight_color", "highlight_color", &d.HighlightColor).
		Description("#RRGGBB; empty: the default colour").Placeholder("#FF6B35").
		Validate(automation.CheckColor).
		Hint(func(s string) string {
			if s == "" {
				return ""
			}
			return swatch(v.c.Theme, strings.ToUpper(s)) + " preview"
		}).
		SkipWhen(func() bool { return d.Kind != automation.KindHighlight }, "only HIGHLIGHT takes a colour")
	v.fields = map[string]*autoField{
		automation.FieldName: name, automation.FieldDescription: desc,
		automation.FieldFilter: filterF, automation.FieldMutableFilter: mutable,
		automation.FieldDecision: decision, automation.FieldSignedOffState: signed, automation.FieldNotes: notes,
		automation.FieldDisplayText: text, automation.FieldHighlightColor: color,
	}
	for k, p := range problems {
		v.fields[k].SetProblem(p)
	}
	kinds := []huh.Option[automation.Kind]{
		huh.NewOption("modification: decision / sign-off / notes", automation.KindModification),
		huh.NewOption("HIGHLIGHT the row", automation.KindHighlight),
		huh.NewOption("SUGGEST_ACCEPT", automation.KindSuggestAccept),
		huh.NewOption("SUGGEST_REJECT", automation.KindSuggestReject),
	}
	groups := [][]huh.Field{
		{name, desc,
			huh.NewConfirm().Key("attach").Title("attach_to_new_workflows ").Inline(true).Affirmative("yes").Negative("no").Value(&d.AttachToNew),
			huh.NewConfirm().Key("opt_in").Title("opt_in (operators choose it) ").Inline(true).Affirmative("yes").Negative("no").Value(&d.OptIn)},
		{filterF, mutable},
		{huh.NewSelect[automation.Kind]().Key("kind").Title("action").Options(kinds...).Value(&d.Kind)},
		{decision, signed, notes},
		{text, color},
	}
	v.groupOf = map[huh.Field]int{}
	for g, fs := range groups {
		for _, f := range fs {
			v.groupOf[f] = g
		}
	}
	v.form = huh.NewForm(
		huh.NewGroup(groups[0]...).Title("Automation"),
		huh.NewGroup(groups[1]...).Title("Criteria"),
		huh.NewGroup(groups[2]...).Title("Action").Description("a display action may not change decisions, and the other way round"),
		huh.NewGroup(groups[3]...).Title("Modification").WithHideFunc(func() bool { return d.Kind.IsDisplay() }),
		huh.NewGroup(groups[4]...).Title("Display").WithHideFunc(func() bool { return !d.Kind.IsDisplay() }),
	).WithTheme(huhTheme(v.c.Theme)).WithKeyMap(huhKeys()).WithShowHelp(false).WithShowErrors(false)
	id := v.id
	v.form.SubmitCmd = func() tea.Msg { return editorSubmitMsg{id} }
	v.sizeForm()
	return v.form.Init()
}

func enumHint(parse func(string) (string, int, error), s string) string {
	if strings.TrimSpace(s) == "" {
		return "unset"
	}
	name, n, err := parse(s)
	if err != nil {
		return ""
	}
	if name == "" {
		return "→ unset (0)"
	}
	return fmt.Sprintf("→ %s (%d)", name, n)
}

// bannerLines are the note and the banner wrapped to the width (a server
// message and its request id must be readable whole), at most 6 lines.
func (v *AutomationEditor) bannerLines() []string {
	var src []string
	if v.note != "" {
		src = append(src, v.note)
	}
	var out []string
	for _, l := range append(src, v.banner...) {
		out = append(out, strings.Split(ansi.Wrap(sanitize.Line(l), max(v.w, 20), " "), "\n")...)
	}
	if len(out) > 6 {
		out = append(out[:5], "…")
	}
	return out
}

func (v *AutomationEditor) View() string {
	t := v.c.Theme
	switch {
	case v.loadErr != nil:
		return ui.Fit(t.FlashErr.Render("cannot edit: "+sanitize.Line(v.loadErr.Error())), v.w, v.h)
	case v.mode == editorLoading:
		return ui.Fit(t.Dim.Render("loading…"), v.w, v.h)
	case v.mode == editorReview || v.mode == editorSaving:
		return v.reviewView()
	}
	var b strings.Builder
	b.WriteString(ansi.Truncate(t.Title.Render(v.heading()), v.w, "…"))
	st := t.FlashWarn
	if len(v.banner) > 0 {
		st = t.FlashErr
	}
	for _, l := range v.bannerLines() {
		b.WriteString("\n" + ansi.Truncate(st.Render(l), v.w, "…"))
	}
	fw, fh := v.formSize()
	form := ui.Fit(v.form.View(), fw, fh)
	if v.wide() {
		pw := v.previewWidth()
		prev := ui.Fit(v.preview(pw), pw, fh)
		fl, pl := strings.Split(form, "\n"), strings.Split(prev, "\n")
		for i := range fl {
			b.WriteString("\n" + padCells(fl[i], fw) + "  " + pl[i])
		}
	} else {
		b.WriteString("\n" + form)
		b.WriteString("\n" + ui.Fit(v.preview(v.w), v.w, 4))
	}
	return ui.Fit(b.String(), v.w, v.h)
}

func (v *AutomationEditor) heading() string {
	if v.autoID == "" {
		return "New automation"
	}
	return "Edit automation " + sanitize.Line(v.orig.Name)
}

// preview is what the automation will look like and what is still wrong
// with it, recomputed on every frame (a few microseconds).
func (v *AutomationEditor) preview(w int) string {
	t := v.c.Theme
	a := v.d.automation(v.orig)
	var lines []string
	lines = append(lines, t.Label.Render("preview"))
	switch k := v.d.Kind; {
	case k == automation.KindHighlight:
		c := strings.ToUpper(strings.TrimSpace(v.d.HighlightColor))
		l := "HIGHLIGHT"
		switch {
		case c == "":
			l += " (default colour)"
		case automation.CheckColor(c) == nil:
			l += " " + swatch(t, c) + " " + c
			if text := sanitize.Line(a.Action.DisplayText); text != "" {
				l += " " + t.R.NewStyle().Foreground(lipgloss.Color(c)).Render(text)
			}
		default:
			l += " ?? " + sanitize.Line(c)
		}
		lines = append(lines, l)
	case k.IsDisplay():
		lines = append(lines, string(k)+" "+sanitize.Line(a.Action.DisplayText))
	default:
		n, _ := automation.Normalize(a)
		row := store.AutomationRow{Kind: string(automation.KindModification), Decision: string(n.Action.Decision),
			SignedOffState: string(n.Action.SignedOffState), Notes: n.Action.Notes}
		lines = append(lines, "sets "+sanitize.Line(kindCell(row)))
	}
	if vs := automation.Validate(a); len(vs) == 0 {
		lines = append(lines, t.Flash.Render("✓ valid"))
	} else {
		lines = append(lines, t.FlashErr.Render(fmt.Sprintf("%d problem%s:", len(vs), plural(len(vs)))))
		for _, p := range vs {
			lines = append(lines, t.FlashErr.Render(sanitize.Line(p.Field+": "+p.Description)))
		}
	}
	if v.wide() {
		// Room to spare: the object a save would send.
		n, _ := automation.Normalize(a)
		lines = append(lines, "", t.Label.Render("to be sent"))
		for _, l := range strings.Split(strings.TrimRight(automation.Pretty(n), "\n"), "\n") {
			lines = append(lines, t.Dim.Render(sanitize.Line(l)))
		}
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "…")
	}
	return strings.Join(lines, "\n")
}

func (v *AutomationEditor) reviewView() string {
	t := v.c.Theme
	var b strings.Builder
	title := "Review: create automation " + sanitize.Line(v.pending.Name)
	if v.autoID != "" {
		title = "Review changes to " + sanitize.Line(v.orig.Name)
	}
	b.WriteString(ansi.Truncate(t.Title.Render(title), v.w, "…"))
	body := max(v.h-2, 1)
	end := min(v.top+body, len(v.diff))
	for _, l := range v.diff[v.top:end] {
		l = sanitize.Line(l)
		st := t.Cell
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"), strings.HasPrefix(l, "@@"):
			st = t.Dim
		case strings.HasPrefix(l, "+"):
			st = t.State("COMPLETED")
		case strings.HasPrefix(l, "-"):
			st = t.State("ERRORED")
		}
		b.WriteString("\n" + st.Render(ansi.Truncate(l, v.w, "…")))
	}
	for i := end - v.top; i < body; i++ {
		b.WriteString("\n")
	}
	verb := "PUT the full object to " + hostOf(v.c)
	if v.autoID == "" {
		verb = "create it on " + hostOf(v.c)
	}
	foot := "y: save (" + verb + ") · n/esc: back to editing"
	if v.mode == editorSaving {
		foot = "saving…"
	}
	b.WriteString("\n" + ansi.Truncate(t.HelpKey.Render(foot), v.w, "…"))
	return ui.Fit(b.String(), v.w, v.h)
}
