package views

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/internal/automation"
	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// AutomationDetail shows one automation: every field, the filters laid out
// one comparison per line, and the workflows it is attached to. Those come
// from the cache; when online they are asked for again on opening (the API
// answers per workflow, for the workflows seen so far) and the cache keeps
// the answer, so offline the last answer shows with its age.
type AutomationDetail struct {
	c    *Common
	id   int64
	auto string // automation id
	w, h int

	row   *store.AutomationRow
	obj   veza.Automation
	err   error
	att   *autoAttachmentsMsg
	busy  bool // re-reading attachments from the tenant
	top   int  // first visible line
	lines []string
}

// NewAutomationDetail opens the detail of automation id (read from the cache).
func NewAutomationDetail(c *Common, id string) *AutomationDetail {
	return &AutomationDetail{c: c, id: c.nextID(), auto: id}
}

type autoLoadedMsg struct {
	id  int64
	row store.AutomationRow
	obj veza.Automation
	err error
}

func (v *AutomationDetail) Init() tea.Cmd {
	cmds := []tea.Cmd{v.load(), loadAttachments(v.c, v.auto, false)}
	if v.c.Veza != nil {
		v.busy = true
		cmds = append(cmds, loadAttachments(v.c, v.auto, true))
	}
	return tea.Batch(cmds...)
}

func (v *AutomationDetail) load() tea.Cmd {
	st, id, auto := v.c.Store, v.id, v.auto
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		row, obj, err := loadAutomation(ctx, st, auto)
		return autoLoadedMsg{id: id, row: row, obj: obj, err: err}
	}
}

func (v *AutomationDetail) Title() string {
	if v.row != nil {
		return "Automation " + ansi.Truncate(sanitize.Line(v.row.Name), 30, "…")
	}
	return "Automation " + shortID(v.auto)
}

func (v *AutomationDetail) Capturing() bool { return false }

func (v *AutomationDetail) HelpCategories() []string {
	return []string{keymap.Automations, keymap.Table}
}

func (v *AutomationDetail) Status() string {
	if v.busy {
		return "asking the tenant which workflows use it…"
	}
	if ok, why := v.c.CanWrite(); !ok {
		return why
	}
	return "e edit · D delete · + attach · - detach · w re-check workflows"
}

func (v *AutomationDetail) SetSize(w, h int) ui.View {
	v.w, v.h = w, h
	v.render()
	return v
}

func (v *AutomationDetail) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	if cmd, ok := handleAutomationMsg(v.c, v.id, msg); ok {
		if m, isDel := msg.(autoDeletedMsg); isDel && m.err == nil {
			return v, tea.Batch(cmd, ui.Pop())
		}
		return v, cmd
	}
	switch msg := msg.(type) {
	case autoLoadedMsg:
		if msg.id != v.id {
			return v, nil
		}
		if msg.err != nil {
			v.err = msg.err
		} else {
			v.row, v.obj, v.err = &msg.row, msg.obj, nil
		}
		v.render()
		return v, nil
	case autoAttachmentsMsg:
		if msg.automationID != v.auto {
			return v, nil
		}
		if msg.refreshed {
			v.busy = false
		}
		m := msg
		v.att = &m
		v.render()
		return v, nil
	case SyncedMsg:
		if msg.Entity == store.EntityAutomations {
			return v, v.load()
		}
		return v, nil
	case reloadMsg, ui.RevealedMsg:
		return v, tea.Batch(v.load(), loadAttachments(v.c, v.auto, false))
	case tea.KeyMsg:
		return v, v.handleKey(msg)
	}
	return v, nil
}

func (v *AutomationDetail) handleKey(k tea.KeyMsg) tea.Cmd {
	keys := v.c.Keys
	if key.Matches(k, keys.Get("auto_workflows")) {
		if v.c.Veza == nil {
			return ui.Flash(ui.FlashWarn, "offline: showing the cached answer")
		}
		v.busy = true
		return loadAttachments(v.c, v.auto, true)
	}
	if cmd, ok := automationKeys(v.c, v, v.id, k, v.auto); ok {
		return cmd
	}
	body := max(v.h, 1)
	switch {
	case key.Matches(k, keys.Get("down")):
		v.scroll(1)
	case key.Matches(k, keys.Get("up")):
		v.scroll(-1)
	case key.Matches(k, keys.Get("page_down"), keys.Get("half_down")):
		v.scroll(body / 2)
	case key.Matches(k, keys.Get("page_up"), keys.Get("half_up")):
		v.scroll(-body / 2)
	case key.Matches(k, keys.Get("top")):
		v.top = 0
	case key.Matches(k, keys.Get("bottom")):
		v.scroll(len(v.lines))
	}
	return nil
}

func (v *AutomationDetail) scroll(d int) {
	v.top = max(min(v.top+d, len(v.lines)-v.h), 0)
}

// render lays the automation out into v.lines (at the current width).
func (v *AutomationDetail) render() {
	t := v.c.Theme
	if v.row == nil {
		v.lines = nil
		return
	}
	r, a := v.row, v.obj
	w := max(v.w, 20)
	const labelW = 12
	var out []string
	field := func(label, value string) {
		first := true
		for _, l := range strings.Split(value, "\n") {
			lab := strings.Repeat(" ", labelW)
			if first {
				lab = fmt.Sprintf("%-*s", labelW, label)
			}
			out = append(out, ansi.Truncate(t.Label.Render(lab)+l, w, "…"))
			first = false
		}
	}
	text := func(s string) string {
		if strings.TrimSpace(s) == "" {
			return t.Dim.Render("—")
		}
		return sanitize.Line(s)
	}
	out = append(out, ansi.Truncate(t.Title.Render(sanitize.Line(r.Name)), w, "…"))
	field("id", sanitize.Line(r.ID))
	field("description", text(r.Description))
	field("kind", v.kindLine())
	field("attach", fmt.Sprintf("attach_to_new_workflows %s · opt_in %s · priority %d",
		yesNo(a.AttachmentBehavior.AttachToNewWorkflows), yesNo(a.AttachmentBehavior.OptIn), a.Priority))
	field("filter", prettyFilterText(t, a.Criteria.Filter))
	field("mutable", prettyFilterText(t, a.Criteria.MutableFilter))
	act := a.Action
	switch automation.KindOf(a) {
	case automation.KindModification, automation.KindNone:
		field("decision", enumText(t, automation.DecisionLabel(act.Decision), act.Decision))
		field("signed off", enumText(t, automation.SignedOffLabel(act.SignedOffState), act.SignedOffState))
		field("notes", text(act.Notes))
		if !act.ReviewerAssignment.IsZero() {
			field("reviewers", t.FlashWarn.Render("reviewer assignment set (the preview API does not support it)"))
		}
	default:
		field("display", sanitize.Line(automation.DisplayLabel(act.DisplayStyle)))
		field("text", text(act.DisplayText))
		if act.DisplayStyle != "" && automation.DisplayLabel(act.DisplayStyle) == "HIGHLIGHT" {
			c := act.HighlightColor
			if c == "" {
				field("colour", t.Dim.Render("default highlight colour"))
			} else {
				field("colour", swatch(t, strings.ToUpper(c))+" "+sanitize.Line(c))
			}
		}
	}
	if vs := automation.Validate(a); len(vs) > 0 {
		var msgs []string
		for _, p := range vs {
			msgs = append(msgs, t.FlashWarn.Render(sanitize.Line(p.Field+": "+p.Description)))
		}
		field("problems", strings.Join(msgs, "\n"))
	}
	field("workflows", v.workflowsText())
	if r.CreatedAt != 0 || r.UpdatedAt != 0 { // only when the tenant sends them
		field("created", v.c.fmtTime(r.CreatedAt))
		field("updated", v.c.fmtTime(r.UpdatedAt))
	}
	v.lines = out
	v.scroll(0)
}

func (v *AutomationDetail) kindLine() string {
	t := v.c.Theme
	k := automation.KindOf(v.obj)
	switch {
	case k == automation.KindNone:
		return t.FlashWarn.Render("no action")
	case k == automation.KindModification:
		return "modification: " + sanitize.Line(kindCell(*v.row))
	case k == automation.KindHighlight && v.obj.Action.HighlightColor != "":
		c := strings.ToUpper(v.obj.Action.HighlightColor)
		return "display: HIGHLIGHT " + swatch(t, c) + " " + sanitize.Line(c)
	}
	return "display: " + sanitize.Line(string(k))
}

// workflowsText says where the automation is attached and how fresh that is.
func (v *AutomationDetail) workflowsText() string {
	t := v.c.Theme
	m := v.att
	if m == nil {
		return t.Dim.Render("reading the cache…")
	}
	var b strings.Builder
	switch {
	case len(m.known) == 0:
		b.WriteString(t.Dim.Render("no workflow known yet: the API lists attachments per workflow; attach (+) to one to start"))
	default:
		fmt.Fprintf(&b, "attached to %d of %d known workflow%s", len(m.atts), len(m.known), plural(len(m.known)))
		switch {
		case v.busy:
			b.WriteString(t.Dim.Render(" · checking…"))
		case m.fetched:
			b.WriteString(t.Dim.Render(" · checked just now"))
		default:
			oldest := int64(0)
			for _, w := range m.known {
				if oldest == 0 || w.FetchedAt < oldest {
					oldest = w.FetchedAt
				}
			}
			b.WriteString(t.Dim.Render(" · cached, " + v.c.fmtAgo(oldest)))
		}
	}
	if m.err != nil {
		b.WriteString("\n" + t.FlashErr.Render(ansi.Truncate("could not ask the tenant: "+sanitize.Line(m.err.Error()), 200, "…")))
	}
	for _, a := range m.atts {
		opt := "runs by default"
		if a.OptIn {
			opt = "opt-in"
		}
		b.WriteString("\n" + sanitize.Line(a.WorkflowID) + "  " + t.Dim.Render(opt+" · "+v.c.fmtAgo(a.FetchedAt)))
	}
	return b.String()
}

func prettyFilterText(t *ui.Theme, src string) string {
	if strings.TrimSpace(src) == "" {
		return t.Dim.Render("— (every row)")
	}
	return strings.ReplaceAll(sanitize.Text(automation.PrettyFilter(src)), "\t", " ")
}

func enumText(t *ui.Theme, label string, raw veza.EnumValue) string {
	switch {
	case raw == "" || label == "":
		return t.Dim.Render("—")
	case string(raw) != label:
		return sanitize.Line(label) + t.Dim.Render(" (sent as "+sanitize.Line(string(raw))+")")
	}
	return sanitize.Line(label)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (v *AutomationDetail) View() string {
	t := v.c.Theme
	if v.err != nil {
		msg := v.err.Error()
		if errors.Is(v.err, store.ErrNotFound) {
			msg = fmt.Sprintf("automation %s is not in the cache (deleted upstream?)", v.auto)
		}
		return ui.Fit(t.FlashErr.Render(sanitize.Line(msg)), v.w, v.h)
	}
	if v.row == nil {
		return ui.Fit(t.Dim.Render("loading automation "+sanitize.Line(v.auto)+"…"), v.w, v.h)
	}
	end := min(v.top+v.h, len(v.lines))
	return ui.Fit(strings.Join(v.lines[v.top:end], "\n"), v.w, v.h)
}
