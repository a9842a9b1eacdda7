package views

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/vtable"
)

// The Veza system events list (seed 002): newest first, severity counts,
// SCIM or free-text filter, and follow mode (F), which keeps the cursor on
// the newest event while the export tail keeps syncing, like tail -f.

func init() {
	commandSets = append(commandSets, func(c *Common) []ui.Command {
		open := func(args string) (ui.View, error) { return NewEvents(c, args) }
		return []ui.Command{
			{Name: "events", Help: "Veza system events [SCIM filter or text]", Run: open, Complete: filterCompleter(filter.Events)},
		}
	})
}

// eventColumns: TIME first (the row's identity), then what triage reads;
// columns drop from the right as the width runs out, so the message comes
// before the entity and name, and the category (which the event type
// implies) is last. At 80 cells: time, severity, event type, message.
var eventColumns = []vtable.Column{
	{Title: "TIME", Width: 19, Min: 19, SortKey: "timestamp"},
	{Title: "SEVERITY", Width: 8, Min: 7, SortKey: "severity"},
	{Title: "EVENT TYPE", Width: 24, Min: 14, SortKey: "event_type"},
	{Title: "MESSAGE", Width: 0, Min: 28, SortKey: "message"},
	{Title: "ENTITY", Width: 20, Min: 10, SortKey: "entity_name"},
	{Title: "NAME", Width: 22, Min: 10, SortKey: "name"},
	{Title: "CATEGORY", Width: 12, Min: 6, SortKey: "category"},
}

// severityOrder orders the counts line: what needs attention first.
var severityOrder = []string{"ERROR", "WARNING", "INFO"}

// eventTextFields are what free text searches.
var eventTextFields = []string{"message", "name", "entity_name", "event_type", "error_reason", "error_message"}

var eventsSpec = &listSpec{
	entity: store.EntityEvents, noun: "events", title: "Events", schema: filter.Events,
	columns: eventColumns, sortCol: 0, states: severityOrder,
	page: func(ctx context.Context, c *Common, q store.Query, after *store.Key, backward bool, n int) ([]vtable.Row, error) {
		rows, err := c.Store.Events(ctx, q, after, backward, n)
		if err != nil {
			return nil, err
		}
		out := make([]vtable.Row, len(rows))
		for i, r := range rows {
			style := r.Severity
			if strings.EqualFold(style, "INFO") {
				style = "" // plain: warnings and errors stand out
			}
			out[i] = vtable.Row{
				Key: store.EventKey(q, r), ID: r.ID, Style: strings.ToUpper(style),
				Cells: []string{c.fmtTime(r.Timestamp), r.Severity, r.EventType, oneLine(r.Message),
					r.EntityName, r.Name, r.Category},
			}
		}
		return out, nil
	},
	records: recordsOf((*store.Store).Events, store.EventKey),
	open:    func(v *List, row vtable.Row) tea.Cmd { return ui.Push(NewEventDetail(v.c, row.ID)) },
}

// Events is the system events list with follow mode.
type Events struct {
	*List
	follow bool
	// paused: following was on and a cursor move stopped it.
	paused bool
}

// NewEvents opens the events list with an initial filter: SCIM over
// filter.Events, or plain text searched in the message, name, entity,
// event type and error.
func NewEvents(c *Common, filterText string) (*Events, error) {
	v := &Events{}
	spec := *eventsSpec
	spec.keys = func(_ *List, k tea.KeyMsg) (tea.Cmd, bool) { return v.key(k) }
	_, scim, err := parseEventsFilter(filterText)
	if err != nil {
		return nil, err
	}
	l, err := newList(c, &spec, nil, "", scim)
	if err != nil {
		return nil, err
	}
	l.filterText = strings.TrimSpace(filterText)
	l.prompt.Validate = func(s string) error { _, _, err := parseEventsFilter(s); return err }
	v.List = l
	return v, nil
}

// parseEventsFilter parses SCIM, or turns plain text (no operator words,
// no quotes) into a search of eventTextFields; scim is the SCIM text.
func parseEventsFilter(text string) (n filter.Node, scim string, err error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, "", nil
	}
	n, err = filter.ParseFor(text, filter.Events)
	if err == nil {
		return n, text, nil
	}
	if filterOpWord.MatchString(text) || strings.ContainsAny(text, `"()`) {
		return nil, "", err
	}
	parts := make([]string, len(eventTextFields))
	for i, f := range eventTextFields {
		parts[i] = fmt.Sprintf("%s co %q", f, text)
	}
	scim = strings.Join(parts, " or ")
	n, err = filter.ParseFor(scim, filter.Events)
	return n, scim, err
}

// Following reports whether follow mode is on.
func (v *Events) Following() bool { return v.follow }

func (v *Events) Title() string { return "Events" }

func (v *Events) Status() string {
	s := v.List.Status()
	switch {
	case v.follow:
		return "FOLLOWING newest · " + s
	case v.paused:
		return "follow paused (F resumes) · " + s
	}
	return s
}

func (v *Events) SetSize(w, h int) ui.View {
	v.List.SetSize(w, h)
	return v
}

func (v *Events) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok && v.prompt.Active() && key.Matches(k, v.c.Keys.Get("accept")) {
		return v, v.acceptFilter(k)
	}
	_, cmd := v.List.Update(msg)
	return v, tea.Batch(cmd, v.stick())
}

// acceptFilter applies the prompt's text, translating plain text into
// its SCIM search; the text as typed stays what the filter line shows.
func (v *Events) acceptFilter(k tea.KeyMsg) tea.Cmd {
	text := v.prompt.Value()
	_, scim, err := parseEventsFilter(text)
	var res ui.PromptResult
	var cmd tea.Cmd
	v.prompt, cmd, res = v.prompt.Update(k)
	if res != ui.PromptAccepted {
		if err != nil {
			return ui.Flash(ui.FlashError, "%s", err)
		}
		return cmd
	}
	cmd = v.applyFilter(scim)
	v.filterText = strings.TrimSpace(text)
	return tea.Batch(cmd, v.stick())
}

// stick keeps a following list on its first row: a new filter or a reload
// that left the cursor elsewhere goes back to the newest event.
func (v *Events) stick() tea.Cmd {
	if !v.follow || v.table.Loading() || v.table.Position() <= 0 {
		return nil
	}
	return v.toTop()
}

// toTop sends the table its own "first row" key.
func (v *Events) toTop() tea.Cmd {
	keys := v.c.Keys.Get("top").Keys()
	if len(keys) == 0 {
		return nil
	}
	var cmd tea.Cmd
	v.table, cmd = v.table.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(keys[0])})
	return cmd
}

// cursorKeys move the cursor away from the newest event: they pause
// following. (top keeps it: it goes to the newest event.)
var cursorKeys = []string{"up", "down", "page_up", "page_down", "half_up", "half_down", "bottom"}

// pauseKeys are handled by the list but end following too: a new order
// (newest-first is what following needs), or a mark, which moves down.
var pauseKeys = []string{"sort_col", "sort_next", "sort_prev", "sort_reverse", "mark"}

// key handles F and pauses following on a cursor move or a new order.
func (v *Events) key(k tea.KeyMsg) (tea.Cmd, bool) {
	keys := v.c.Keys
	if key.Matches(k, keys.Get("follow")) {
		return v.toggleFollow(), true
	}
	if !v.follow {
		return nil, false
	}
	for _, name := range cursorKeys {
		if key.Matches(k, keys.Get(name)) {
			v.follow, v.paused = false, true
			var cmd tea.Cmd
			v.table, cmd = v.table.Update(k)
			return tea.Batch(cmd, ui.Flash(ui.FlashInfo, "follow paused: the cursor moved (F resumes)")), true
		}
	}
	for _, name := range pauseKeys {
		if key.Matches(k, keys.Get(name)) {
			v.follow, v.paused = false, true
			return nil, false // the list does the rest; the status says paused
		}
	}
	return nil, false
}

func (v *Events) toggleFollow() tea.Cmd {
	if v.follow {
		v.follow, v.paused = false, false
		return ui.Flash(ui.FlashInfo, "follow off")
	}
	v.follow, v.paused = true, false
	var cmds []tea.Cmd
	if v.sortCol != 0 || !v.desc {
		cmds = append(cmds, v.setSort(0, true))
	}
	cmds = append(cmds, v.toTop(), ui.Flash(ui.FlashInfo, "following the newest events (any move pauses)"))
	return tea.Batch(cmds...)
}
