package views

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/opsdeck/opsdeck/internal/automation"
	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/sanitize"
	"github.com/opsdeck/opsdeck/ui/vtable"
)

// The access-review Automations screens (seed 003, issue #5): this list,
// the detail (automation_detail.go), the editor (automation_editor.go) and
// the attach/detach form (automation_attach.go). Reads come from the cache;
// every write goes through the client, is refused with the reason when the
// app is read-only or offline (Common.CanWrite), and is written back to the
// cache.

func init() {
	commandSets = append(commandSets, func(c *Common) []ui.Command {
		return []ui.Command{{
			Name: "automations", Help: "access-review automations [SCIM filter]",
			Run: func(args string) (ui.View, error) {
				v, err := NewAutomations(c, args)
				if err != nil {
					return nil, err
				}
				return v, nil
			},
			Complete: filterCompleter(filter.Automations),
		}}
	})
}

// automationKinds orders the counts line.
var automationKinds = []string{"MODIFICATION", "HIGHLIGHT", "SUGGEST_ACCEPT", "SUGGEST_REJECT"}

var automationColumns = []vtable.Column{
	{Title: "NAME", Width: 0, Min: 12, SortKey: "name"},
	{Title: "KIND", Width: 20, Min: 20, SortKey: "kind"},
	{Title: "FILTER", Width: 0, Min: 10, SortKey: "filter"},
	{Title: "ATTACH", Width: 8, SortKey: "attach_to_new_workflows"},
	{Title: "OPT-IN", Width: 8, SortKey: "opt_in"},
}

var automationsSpec = &listSpec{
	entity:  store.EntityAutomations,
	noun:    "automations",
	title:   "Automations",
	schema:  filter.Automations,
	columns: automationColumns,
	sortCol: 0,
	states:  automationKinds,
	page: func(ctx context.Context, c *Common, q store.Query, after *store.Key, backward bool, n int) ([]vtable.Row, error) {
		rows, err := c.Store.Automations(ctx, q, after, backward, n)
		if err != nil {
			return nil, err
		}
		out := make([]vtable.Row, len(rows))
		for i, r := range rows {
			out[i] = vtable.Row{
				Key: store.AutomationKey(q, r),
				ID:  r.ID,
				Cells: []string{r.Name, kindCell(r), oneLine(r.Filter),
					map[bool]string{true: "new", false: "manual"}[r.AttachToNewWorkflows],
					map[bool]string{true: "yes", false: "no"}[r.OptIn]},
			}
		}
		return out, nil
	},
	open: func(v *List, row vtable.Row) tea.Cmd { return ui.Push(NewAutomationDetail(v.c, row.ID)) },
	keys: func(v *List, k tea.KeyMsg) (tea.Cmd, bool) {
		row, ok := v.Selected()
		id := ""
		if ok {
			id = row.ID
		}
		return automationKeys(v.c, v, v.id, k, id)
	},
	help:    []string{keymap.Automations},
	records: recordsOf((*store.Store).Automations, store.AutomationKey),
}

// Automations is the automations list: the generic keyset list, plus the
// highlight colour of each HIGHLIGHT row drawn as a swatch.
type Automations struct {
	*List
}

// NewAutomations opens the list with an initial filter (SCIM or free text).
func NewAutomations(c *Common, filterText string) (*Automations, error) {
	l, err := newList(c, automationsSpec, nil, "", automationFreeText(filterText))
	if err != nil {
		return nil, err
	}
	l.desc = false // A to Z
	return &Automations{List: l}, nil
}

func (v *Automations) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	if cmd, ok := handleAutomationMsg(v.c, v.id, msg); ok {
		return v, cmd
	}
	if k, ok := msg.(tea.KeyMsg); ok && k.Type == tea.KeyEnter && v.prompt.Active() {
		// Plain words search name, description and filter: spelled out as
		// the SCIM filter they become, which the filter line then shows.
		if t := automationFreeText(v.prompt.Value()); t != v.prompt.Value() {
			v.prompt, _ = v.prompt.Open(t)
		}
	}
	_, cmd := v.List.Update(msg)
	return v, cmd
}

func (v *Automations) SetSize(w, h int) ui.View {
	v.List.SetSize(w, h)
	return v
}

func (v *Automations) View() string { return paintSwatches(v.c.Theme, v.List.View()) }

// automationFreeText turns plain words (text that is not a SCIM filter and
// has no operator words or quotes) into a search of name, description and
// filter; anything else is returned as is.
func automationFreeText(text string) string {
	text = strings.TrimSpace(text)
	if text == "" || filterOpWord.MatchString(text) || strings.ContainsAny(text, `"()`) {
		return text
	}
	if _, err := filter.ParseFor(text, filter.Automations); err == nil {
		return text
	}
	return fmt.Sprintf("name co %q or description co %q or filter co %q", text, text, text)
}

// kindCell is the KIND column: the display style (with the colour's swatch
// and code for HIGHLIGHT) or what a modification sets.
func kindCell(r store.AutomationRow) string {
	switch {
	case r.Kind == string(automation.KindModification):
		var parts []string
		if r.Decision != "" {
			parts = append(parts, r.Decision)
		}
		if r.SignedOffState != "" {
			parts = append(parts, r.SignedOffState)
		}
		if r.Notes != "" {
			parts = append(parts, "notes")
		}
		return strings.Join(parts, " · ")
	case r.Kind == string(automation.KindHighlight) && automation.CheckColor(r.HighlightColor) == nil && r.HighlightColor != "":
		return r.Kind + " " + swatchGlyph + " " + strings.ToUpper(r.HighlightColor)
	case r.Kind == "":
		return "(no action)"
	}
	return r.Kind
}

// swatchGlyph is drawn in the highlight colour; in a terminal without
// colour it is a plain block next to the #RRGGBB code.
const swatchGlyph = "██"

var swatchRe = regexp.MustCompile(swatchGlyph + ` (#[0-9A-F]{6})`)
var sgrRe = regexp.MustCompile("\x1b\\[[0-9;]*m")

// paintSwatches colours each swatch glyph of a rendered frame with the
// colour written after it. The table sanitises its cells (no escape codes
// get in), so the colour is applied to the finished frame; the colour text
// next to the glyph was itself validated (#RRGGBB) before it was drawn. The
// style that was active before the swatch (the selected row's) is restored
// after it.
func paintSwatches(t *ui.Theme, frame string) string {
	if !strings.Contains(frame, swatchGlyph) {
		return frame
	}
	lines := strings.Split(frame, "\n")
	for i, l := range lines {
		locs := swatchRe.FindAllStringSubmatchIndex(l, -1)
		if locs == nil {
			continue
		}
		var b strings.Builder
		last := 0
		for _, m := range locs {
			b.WriteString(l[last:m[0]])
			active := ""
			if sgr := sgrRe.FindAllString(l[:m[0]], -1); len(sgr) > 0 {
				active = sgr[len(sgr)-1]
			}
			b.WriteString(swatch(t, l[m[2]:m[3]]))
			b.WriteString(active)
			last = m[0] + len(swatchGlyph)
		}
		b.WriteString(l[last:])
		lines[i] = b.String()
	}
	return strings.Join(lines, "\n")
}

// swatch is a block in colour hex (#RRGGBB, already validated), or a plain
// block when hex is not a colour.
func swatch(t *ui.Theme, hex string) string {
	if automation.CheckColor(hex) != nil || hex == "" {
		return swatchGlyph
	}
	return t.R.NewStyle().Foreground(lipgloss.Color(hex)).Render(swatchGlyph)
}

// automationKeys handles the automation keys of the list and the detail
// for the automation id ("" when none is selected). owner is the id of the
// view asking: replies are broadcast, and only the owner acts on them.
func automationKeys(c *Common, under ui.View, owner int64, k tea.KeyMsg, id string) (tea.Cmd, bool) {
	keys := c.Keys
	switch {
	case key.Matches(k, keys.Get("auto_new")):
		return openAutomationEditor(c, ""), true
	case key.Matches(k, keys.Get("auto_edit")):
		if id == "" {
			return nil, true
		}
		return openAutomationEditor(c, id), true
	case key.Matches(k, keys.Get("auto_delete")):
		if id == "" {
			return nil, true
		}
		return askDeleteAutomation(c, under, owner, id), true
	case key.Matches(k, keys.Get("auto_attach")):
		if id == "" {
			return nil, true
		}
		return openAttachForm(c, under, id, true), true
	case key.Matches(k, keys.Get("auto_detach")):
		if id == "" {
			return nil, true
		}
		return openAttachForm(c, under, id, false), true
	case key.Matches(k, keys.Get("auto_workflows")):
		return refreshWorkflowsCmd(c), true
	}
	return nil, false
}

// refreshWorkflowsCmd asks the tenant again for the attached automations of
// every known workflow and says how it went.
func refreshWorkflowsCmd(c *Common) tea.Cmd {
	if c.Veza == nil {
		return ui.Flash(ui.FlashWarn, "offline: the cached attachments are all there is")
	}
	st, cl, now := c.Store, c.Veza, c.Now
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), autoTimeout)
		defer cancel()
		m := attachmentsNow(ctx, st, cl, now(), "", true)
		switch {
		case m.err != nil:
			return ui.FlashMsg{Level: ui.FlashError, Text: "re-reading attachments failed: " + sanitize.Line(m.err.Error())}
		case len(m.known) == 0:
			return ui.FlashMsg{Level: ui.FlashWarn, Text: "no workflow known yet: attach an automation to one first"}
		}
		return ui.FlashMsg{Level: ui.FlashInfo, Text: fmt.Sprintf("re-read the attached automations of %d workflow%s", len(m.known), plural(len(m.known)))}
	}
}

// autoTimeout bounds one automation write with its write-back.
const autoTimeout = 60 * time.Second

// autoErrText is a failed call as the user needs it: the server's message,
// each field violation and the request id (APIError is already sanitised
// and token-free).
func autoErrText(err error) string {
	var ae *veza.APIError
	if !errors.As(err, &ae) {
		return sanitize.Line(err.Error())
	}
	s := fmt.Sprintf("HTTP %d", ae.Status)
	switch {
	case ae.Message != "":
		s += " " + ae.Message
	case ae.Code != "":
		s += " " + ae.Code
	}
	for _, v := range ae.Violations {
		s += "; " + v.Field + ": " + v.Description
	}
	if ae.RequestID != "" {
		s += " (request_id " + ae.RequestID + ")"
	}
	return sanitize.Line(s)
}

// loadAutomation reads an automation from the cache and decodes the object
// the server sent (the full object a PUT needs).
func loadAutomation(ctx context.Context, st *store.Store, id string) (store.AutomationRow, veza.Automation, error) {
	row, err := st.Automation(ctx, id)
	if err != nil {
		return row, veza.Automation{}, err
	}
	var a veza.Automation
	if err := json.Unmarshal(row.Raw, &a); err != nil {
		return row, a, fmt.Errorf("automation %s: cached object: %w", id, err)
	}
	if a.ID == "" {
		a.ID = id
	}
	return row, a, nil
}

// autoAttachmentsMsg reports a fresh (or cached) answer to "which known
// workflows is this automation attached to".
type autoAttachmentsMsg struct {
	automationID string
	atts         []store.Attachment
	known        []store.Workflow
	fetched      bool  // the answer came from the tenant just now
	refreshed    bool  // the tenant was asked (fetched says whether it all worked)
	err          error // fetching failed: atts are the cached answer
}

// loadAttachments reads the cached attachments of id and, when online and
// refresh is set, first asks the tenant again for every known workflow.
func loadAttachments(c *Common, id string, refresh bool) tea.Cmd {
	st, cl, now := c.Store, c.Veza, c.Now
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), autoTimeout)
		defer cancel()
		return attachmentsNow(ctx, st, cl, now(), id, refresh)
	}
}

func attachmentsNow(ctx context.Context, st *store.Store, cl *veza.Client, now time.Time, id string, refresh bool) autoAttachmentsMsg {
	msg := autoAttachmentsMsg{automationID: id, refreshed: refresh && cl != nil}
	known, err := st.Workflows(ctx)
	if err != nil {
		msg.err = err
		return msg
	}
	if refresh && cl != nil && len(known) > 0 {
		var errs []error
		for _, w := range known {
			if _, err := opsync.RefreshAttached(ctx, cl, st, w.ID, now); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s", w.ID, autoErrText(err)))
			}
		}
		msg.err = errors.Join(errs...)
		msg.fetched = len(errs) == 0
		if known, err = st.Workflows(ctx); err != nil {
			msg.err = err
		}
	}
	msg.known = known
	atts, err := st.Attachments(ctx, id)
	if err != nil {
		msg.err = errors.Join(msg.err, err)
	}
	msg.atts = atts
	return msg
}

// autoDeleteAsk carries what the delete confirmation names.
type autoDeleteAsk struct {
	owner int64
	under ui.View
	row   store.AutomationRow
	att   autoAttachmentsMsg
	err   error
}

// askDeleteAutomation counts the workflows the automation is attached to
// (asking the tenant first, when online) and then asks, naming both.
func askDeleteAutomation(c *Common, under ui.View, owner int64, id string) tea.Cmd {
	if ok, why := c.CanWrite(); !ok {
		return ui.Flash(ui.FlashWarn, "cannot delete: %s", why)
	}
	st, cl, now := c.Store, c.Veza, c.Now
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), autoTimeout)
		defer cancel()
		row, err := st.Automation(ctx, id)
		if err != nil {
			return autoDeleteAsk{owner: owner, err: err}
		}
		return autoDeleteAsk{owner: owner, under: under, row: row, att: attachmentsNow(ctx, st, cl, now(), id, true)}
	}
}

// deleteQuestion is the confirmation's title and body.
func deleteQuestion(c *Common, m autoDeleteAsk) (title, body string) {
	name := sanitize.Line(m.row.Name)
	title = fmt.Sprintf("Delete automation %q?", name)
	n := len(m.att.atts)
	var b strings.Builder
	fmt.Fprintf(&b, "%q is attached to %d workflow%s", name, n, plural(n))
	switch {
	case len(m.att.known) == 0:
		b.WriteString(" (no workflow checked yet: attach or detach once to learn one)")
	case m.att.fetched:
		fmt.Fprintf(&b, " of the %d known, checked just now", len(m.att.known))
	default:
		oldest := int64(0)
		for _, w := range m.att.known {
			if oldest == 0 || w.FetchedAt < oldest {
				oldest = w.FetchedAt
			}
		}
		fmt.Fprintf(&b, " of the %d known (cached, %s)", len(m.att.known), c.fmtAgo(oldest))
	}
	b.WriteString(".")
	if n > 0 {
		var ids []string
		for i, a := range m.att.atts {
			if i == 3 {
				ids = append(ids, fmt.Sprintf("+%d more", n-3))
				break
			}
			ids = append(ids, a.WorkflowID)
		}
		b.WriteString("\nWorkflows: " + strings.Join(ids, ", "))
	}
	if m.row.AttachToNewWorkflows {
		b.WriteString("\nIt is also attached to every new workflow (attach_to_new_workflows).")
	}
	fmt.Fprintf(&b, "\nDeleting it on %s detaches it everywhere and cannot be undone.", hostOf(c))
	if m.att.err != nil {
		b.WriteString("\n(could not re-check every workflow: " + sanitize.Line(m.att.err.Error()) + ")")
	}
	return title, b.String()
}

// autoDeletedMsg reports a finished delete.
type autoDeletedMsg struct {
	owner    int64
	id, name string
	err      error
}

func deleteAutomationCmd(c *Common, owner int64, id, name string) tea.Cmd {
	cl, st, log := c.Veza, c.Store, c.Log
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), autoTimeout)
		defer cancel()
		if err := cl.DeleteAutomation(ctx, id); err != nil {
			return autoDeletedMsg{owner: owner, id: id, name: name, err: err}
		}
		if err := st.DeleteAutomation(ctx, id); err != nil {
			return autoDeletedMsg{owner: owner, id: id, name: name, err: fmt.Errorf("deleted upstream, but the cache was not updated: %w", err)}
		}
		if log != nil {
			log.Info("automation deleted", "id", id)
		}
		return autoDeletedMsg{owner: owner, id: id, name: name}
	}
}

// handleAutomationMsg handles the replies every automation screen shares
// (delete question and result) for the view owner; handled is false for
// other messages and for replies to another view.
func handleAutomationMsg(c *Common, owner int64, msg tea.Msg) (tea.Cmd, bool) {
	switch m := msg.(type) {
	case autoDeleteAsk:
		if m.owner != owner {
			return nil, false
		}
		if m.err != nil {
			return ui.Flash(ui.FlashError, "cannot delete: %s", sanitize.Line(m.err.Error())), true
		}
		title, body := deleteQuestion(c, m)
		id, name := m.row.ID, m.row.Name
		return ui.Confirmed(c.Theme, m.under, title, body, "Delete", func() tea.Cmd {
			return deleteAutomationCmd(c, owner, id, name)
		}), true
	case autoDeletedMsg:
		if m.owner != owner {
			return nil, false
		}
		if m.err != nil {
			return ui.Flash(ui.FlashError, "delete %q failed: %s", sanitize.Line(m.name), autoErrText(m.err)), true
		}
		return tea.Batch(ui.Flash(ui.FlashInfo, "deleted automation %q", sanitize.Line(m.name)), Reload), true
	}
	return nil, false
}
