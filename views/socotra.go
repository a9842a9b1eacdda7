package views

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/sync/socotra"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/jsontree"
	"github.com/opsdeck/opsdeck/ui/sanitize"
	"github.com/opsdeck/opsdeck/ui/vtable"
)

// The Socotra screens (seed 004): the event stream, one event's data map,
// the events of one API request, a policy's scheduled events
// (socotra.go), and the failed scheduled jobs with resume and delete
// (socotra_failed.go). They read the cache like every list; the request
// and schedule screens first refresh their slice of it from the API when
// the profile is online.

func init() { commandSets = append(commandSets, socotraCommands) }

func socotraCommands(c *Common) []ui.Command {
	return []ui.Command{
		{Name: "socotra", Help: "Socotra events [SCIM filter or text]", Complete: filterCompleter(filter.SocotraEvents),
			Run: func(args string) (ui.View, error) { return NewSocotraEvents(c, args) }},
		{Name: "failed", Help: "Socotra failed scheduled jobs [SCIM filter or text]", Complete: filterCompleter(filter.SocotraFailed),
			Run: func(args string) (ui.View, error) { return NewSocotraFailed(c, args) }},
		{Name: "schedules", Help: "scheduled events of a Socotra policy: POLICY_LOCATOR",
			Run: func(args string) (ui.View, error) {
				pol := strings.TrimSpace(args)
				if pol == "" {
					return nil, errors.New("schedules: give a policy locator, e.g. :schedules 01HV…")
				}
				return NewSocotraSchedules(c, pol)
			}},
	}
}

// socotraList is a List with Socotra's row colours, free-text filters over
// its own fields, an optional header line of its own, and an optional
// fetch that refreshes the list's slice of the cache from the API when it
// opens (online only).
type socotraList struct {
	*List
	freeText []string                                  // fields free text searches
	header   func(ctx context.Context) (string, error) // nil: the List's counts line
	fetch    func(ctx context.Context) (string, error) // nil: cache only
	headLine string
	headErr  error
	fetching bool
}

type socotraHeaderMsg struct {
	id   int64
	line string
	err  error
}

type socotraFetchedMsg struct {
	id   int64
	note string
	err  error
}

func newSocotraList(c *Common, spec *listSpec, scope filter.Node, scopeLabel, filterText string, freeText []string) (*socotraList, error) {
	w := &socotraList{freeText: freeText}
	l, err := newList(c, spec, scope, scopeLabel, w.filterSQL(filterText, spec.schema))
	if err != nil {
		return nil, err
	}
	w.List = l
	l.table = l.table.SetStyles(socotraStyles(c.Theme))
	l.prompt.Validate = func(s string) error {
		_, err := filter.ParseFor(w.filterSQL(s, spec.schema), spec.schema)
		return err
	}
	return w, nil
}

// filterSQL turns free text into `f co "text" or …` over the list's
// free-text fields; a SCIM filter (or what tries to be one) is kept.
func (w *socotraList) filterSQL(text string, schema *filter.Schema) string {
	text = strings.TrimSpace(text)
	if text == "" || len(w.freeText) == 0 {
		return text
	}
	if _, err := filter.ParseFor(text, schema); err == nil || filterOpWord.MatchString(text) || strings.ContainsAny(text, `"()`) {
		return text
	}
	var n filter.Node
	for _, f := range w.freeText {
		cmp := &filter.Compare{Attr: f, Op: filter.OpCo, Value: filter.Value{Kind: filter.ValueString, Str: text}}
		if n == nil {
			n = cmp
		} else {
			n = &filter.Logical{Op: "or", Left: n, Right: cmp}
		}
	}
	return n.String()
}

func (w *socotraList) Init() tea.Cmd {
	return tea.Batch(w.List.Init(), w.loadHeader(), w.fetchCmd())
}

func (w *socotraList) loadHeader() tea.Cmd {
	if w.header == nil {
		return nil
	}
	id, header := w.id, w.header
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		line, err := header(ctx)
		return socotraHeaderMsg{id: id, line: line, err: err}
	}
}

func (w *socotraList) fetchCmd() tea.Cmd {
	if w.fetch == nil || w.c.Socotra == nil {
		return nil
	}
	w.fetching = true
	id, fetch := w.id, w.fetch
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		note, err := fetch(ctx)
		return socotraFetchedMsg{id: id, note: note, err: err}
	}
}

func (w *socotraList) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	var extra tea.Cmd
	switch m := msg.(type) {
	case socotraHeaderMsg:
		if m.id == w.id {
			w.headLine, w.headErr = m.line, m.err
		}
		return w, nil
	case socotraFetchedMsg:
		if m.id != w.id {
			return w, nil
		}
		w.fetching = false
		if m.err != nil {
			return w, ui.Flash(ui.FlashError, "showing the cache: %s", m.err)
		}
		return w, tea.Batch(ui.Flash(ui.FlashInfo, "%s", m.note), w.reload(), w.loadHeader())
	case socotraActedMsg:
		if m.id != w.id {
			return w, nil
		}
		return w, w.actedUpdate(m)
	case SyncedMsg:
		if m.Entity == w.spec.entity {
			extra = w.loadHeader()
		}
	case reloadMsg, ui.RevealedMsg:
		extra = w.loadHeader()
	case tea.KeyMsg:
		// Enter on free text: put the SCIM it stands for in the prompt, so
		// the List applies (and remembers) a real filter.
		if w.prompt.Active() && m.Type == tea.KeyEnter {
			if f := w.filterSQL(w.prompt.Value(), w.spec.schema); f != strings.TrimSpace(w.prompt.Value()) {
				w.prompt, _ = w.prompt.Open(f)
			}
		}
	}
	_, cmd := w.List.Update(msg)
	return w, tea.Batch(cmd, extra)
}

func (w *socotraList) SetSize(width, height int) ui.View {
	w.List.SetSize(width, height)
	return w
}

func (w *socotraList) View() string {
	out := w.List.View()
	if w.header == nil {
		return out
	}
	t := w.c.Theme
	line := t.Dim.Render("counting…")
	switch {
	case w.headErr != nil:
		line = t.FlashErr.Render("counts unavailable: " + sanitize.Line(w.headErr.Error()))
	case w.headLine != "":
		line = w.headLine
	}
	if w.fetching {
		line = t.Dim.Render("fetching… ") + line
	}
	_, rest, _ := strings.Cut(out, "\n")
	return ui.Fit(ansi.Truncate(line, w.w, "…")+"\n"+rest, w.w, w.h)
}

// socotraStyles are the table styles plus Socotra's row tags: event type
// groups (g:), trigger states (t:) and failed-job states (f:). It borrows
// the theme's state colours so a theme change follows.
func socotraStyles(t *ui.Theme) vtable.Styles {
	s := tableStyles(t)
	st := func(name string) lipgloss.Style { return t.State(name) }
	for tag, style := range map[string]lipgloss.Style{
		"g:quote": st("PENDING"), "g:issue": st("RUNNING"), "g:transaction": st("RUNNING"),
		"g:cancellation": st("ERRORED"), "g:renewal": st("COMPLETED"), "g:reinstatement": st("COMPLETED"),
		"g:status": st("BLOCKED"), "g:invoice": st("ABANDONED"), "g:payment": st("ABANDONED"),
		"g:custom": st("ABANDONED").Italic(true), "g:account": st("SKIPPED"), "g:document": st("SKIPPED"),

		"t:ERROR": st("ERRORED").Bold(true), "t:BLOCKED": st("BLOCKED").Bold(true), "t:PAUSED": st("ABANDONED").Bold(true),
		"t:COMPLETE": st("COMPLETED"), "t:NONE": st("SKIPPED"),

		"f:quit": st("ERRORED"), "f:queued": st("BLOCKED"),
	} {
		s.RowTag[tag] = style
	}
	return s
}

// socotraGroup is the colour group of an event type: the second segment
// of policy.X.* (quote, cancellation, …) or the first of the others.
func socotraGroup(typ string) string {
	parts := strings.SplitN(strings.ToLower(typ), ".", 3)
	if parts[0] == "policy" && len(parts) > 1 {
		return parts[1]
	}
	return parts[0]
}

// Events.

// socotraEventColumns: the request comes before the user because it is
// what `s` follows, and narrow terminals drop columns from the right.
var socotraEventColumns = []vtable.Column{
	{Title: "LOCATOR", Width: 26, Min: 20, SortKey: "locator"},
	{Title: "TIME", Width: 19, SortKey: "timestamp"},
	{Title: "TYPE", Width: 0, Min: 24, SortKey: "type"},
	{Title: "REQUEST", Width: 0, Min: 10, SortKey: "request_id"},
	{Title: "USER", Width: 0, Min: 16, SortKey: "user"},
}

// socotraPrefixes order the event list's counts line (type prefixes).
var socotraPrefixes = []string{"policy.quote", "policy.transaction", "policy", "policy.status", "policy.cancellation",
	"policy.renewal", "policy.reinstatement", "invoice", "payment", "account", "fnol", "document", "custom.policy"}

var socotraEventFreeText = []string{"type", "locator", "user", "request_id", "data"}

func socotraEventsSpec(scoped bool) *listSpec {
	spec := &listSpec{
		entity: store.EntitySocotraEvents, noun: "socotra events", title: "Socotra events", schema: filter.SocotraEvents,
		columns: socotraEventColumns, sortCol: 1, help: []string{keymap.Socotra},
		page: func(ctx context.Context, c *Common, q store.Query, after *store.Key, backward bool, n int) ([]vtable.Row, error) {
			rows, err := c.Store.SocotraEvents(ctx, q, after, backward, n)
			if err != nil {
				return nil, err
			}
			out := make([]vtable.Row, len(rows))
			for i, r := range rows {
				out[i] = vtable.Row{Key: store.SocotraEventKey(q, r), ID: r.Locator, Style: "g:" + socotraGroup(r.Type),
					Cells: []string{r.Locator, c.fmtTime(r.Timestamp), r.Type, r.RequestID, r.User}}
			}
			return out, nil
		},
		records: recordsOf((*store.Store).SocotraEvents, store.SocotraEventKey),
		open:    func(v *List, row vtable.Row) tea.Cmd { return ui.Push(NewSocotraEvent(v.c, row.ID)) },
		keys: func(v *List, k tea.KeyMsg) (tea.Cmd, bool) {
			row, ok := v.Selected()
			if !ok {
				return nil, false
			}
			switch {
			case key.Matches(k, v.c.Keys.Get("socotra_request")):
				return openSocotraRequest(v.c, row.Cells[3]), true
			case key.Matches(k, v.c.Keys.Get("socotra_schedules")):
				return openEventPolicy(v.c, row.ID), true
			}
			return nil, false
		},
	}
	if !scoped {
		// The type-prefix counters cover the whole table only.
		spec.states = socotraPrefixes
	}
	return spec
}

// NewSocotraEvents is the event stream, newest first, with an initial
// filter (SCIM over filter.SocotraEvents, or free text).
func NewSocotraEvents(c *Common, filterText string) (ui.View, error) {
	w, err := newSocotraList(c, socotraEventsSpec(false), nil, "", filterText, socotraEventFreeText)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func eqNode(field, value string) filter.Node {
	return &filter.Compare{Attr: field, Op: filter.OpEq, Value: filter.Value{Kind: filter.ValueString, Str: value}}
}

// openSocotraRequest lists every event of one API request: fetched from
// the API and cached when online, from the cache alone when offline.
func openSocotraRequest(c *Common, requestID string) tea.Cmd {
	if requestID == "" {
		return ui.Flash(ui.FlashWarn, "this event names no request")
	}
	w, err := newSocotraList(c, socotraEventsSpec(true), eqNode("request_id", requestID), "request "+shortID(requestID), "", socotraEventFreeText)
	if err != nil {
		return ui.Flash(ui.FlashError, "%v", err)
	}
	w.sortCol, w.desc = 1, false // in the order things happened
	w.fetch = func(ctx context.Context) (string, error) {
		n, err := socotra.CacheRequestEvents(ctx, c.Store, c.Socotra, requestID)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("request %s: %d event%s, fresh from the API", shortID(requestID), n, plural(n)), nil
	}
	return ui.Push(w)
}

// openEventPolicy opens the scheduled events of the policy an event
// names in its data (policyLocator).
func openEventPolicy(c *Common, locator string) tea.Cmd {
	st := c.Store
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e, err := st.SocotraEvent(ctx, locator)
		if err != nil {
			return ui.FlashMsg{Level: ui.FlashError, Text: err.Error()}
		}
		pol := eventPolicy(e.Data)
		if pol == "" {
			return ui.FlashMsg{Level: ui.FlashWarn, Text: "this event's data names no policyLocator"}
		}
		v, err := NewSocotraSchedules(c, pol)
		if err != nil {
			return ui.FlashMsg{Level: ui.FlashError, Text: err.Error()}
		}
		return ui.PushMsg{View: v}
	}
}

func eventPolicy(data []byte) string {
	var d struct {
		PolicyLocator string `json:"policyLocator"`
	}
	_ = json.Unmarshal(data, &d) // not an object: no policy
	return d.PolicyLocator
}

// Event detail.

// SocotraEvent shows one event: its fields and its data map as a tree.
type SocotraEvent struct {
	c       *Common
	id      int64
	locator string
	w, h    int
	ev      *store.SocotraEventRow
	err     error
	tree    jsontree.Model
	chord   keymap.Chord
	tags    map[string]lipgloss.Style
}

// NewSocotraEvent opens the event with locator, read from the cache.
func NewSocotraEvent(c *Common, locator string) *SocotraEvent {
	return &SocotraEvent{c: c, id: c.nextID(), locator: locator, tags: socotraStyles(c.Theme).RowTag,
		tree: jsontree.New(treeKeys(c.Keys), treeStyles(c.Theme)).SetStatusLine(false)}
}

type socotraEventMsg struct {
	id  int64
	ev  store.SocotraEventRow
	err error
}

func (v *SocotraEvent) Init() tea.Cmd {
	st, id, loc := v.c.Store, v.id, v.locator
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e, err := st.SocotraEvent(ctx, loc)
		return socotraEventMsg{id: id, ev: e, err: err}
	}
}

func (v *SocotraEvent) Title() string { return "Event " + shortID(v.locator) }

func (v *SocotraEvent) Capturing() bool { return v.tree.SearchActive() }

func (v *SocotraEvent) HelpCategories() []string {
	return []string{keymap.Socotra, keymap.Detail, keymap.Table}
}

func (v *SocotraEvent) Status() string {
	if p := v.chord.Pending(); p != "" {
		return p + "- (v value, p path, y event)"
	}
	return v.tree.StatusText()
}

const socotraEventFields = 6

func (v *SocotraEvent) fieldLines() int {
	if v.h < 14 {
		return 0 // tiny terminal: the data matters most
	}
	return socotraEventFields
}

func (v *SocotraEvent) SetSize(w, h int) ui.View {
	v.w, v.h = w, h
	v.tree = v.tree.SetSize(w, max(1, h-v.fieldLines()))
	return v
}

func (v *SocotraEvent) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	switch msg := msg.(type) {
	case socotraEventMsg:
		if msg.id != v.id {
			return v, nil
		}
		if msg.err != nil {
			v.err = msg.err
			return v, nil
		}
		v.ev, v.err = &msg.ev, nil
		v.tree = v.tree.SetDocs(jsontree.Doc{Title: "data", JSON: payloadOrNull(msg.ev.Data)})
		return v, nil
	case tea.KeyMsg:
		if v.tree.SearchActive() {
			break
		}
		keys := v.c.Keys
		switch {
		case key.Matches(msg, keys.Get("socotra_request")) && v.ev != nil:
			return v, openSocotraRequest(v.c, v.ev.RequestID)
		case key.Matches(msg, keys.Get("socotra_schedules")) && v.ev != nil:
			return v, openEventPolicy(v.c, v.locator)
		}
		fired, used := feedCopy(v.c, &v.chord, msg)
		if fired != "" {
			return v, v.copy(fired)
		}
		if used {
			return v, nil
		}
	}
	var cmd tea.Cmd
	v.tree, cmd = v.tree.Update(msg)
	return v, cmd
}

func (v *SocotraEvent) copy(what string) tea.Cmd {
	return copyFromTree(v.c, v.tree, what, v.ev != nil, "event "+v.locator, func() []byte { return v.ev.Raw })
}

func (v *SocotraEvent) View() string {
	t := v.c.Theme
	switch {
	case v.err != nil:
		msg := v.err.Error()
		if errors.Is(v.err, store.ErrNotFound) {
			msg = fmt.Sprintf("event %s is not in the cache", v.locator)
		}
		return ui.Fit(t.FlashErr.Render(sanitize.Line(msg)), v.w, v.h)
	case v.ev == nil:
		return ui.Fit(t.Dim.Render("loading event "+sanitize.Line(v.locator)+"…"), v.w, v.h)
	}
	var b strings.Builder
	if n := v.fieldLines(); n > 0 {
		e := v.ev
		pol := eventPolicy(e.Data)
		if pol == "" {
			pol = "—"
		}
		kv := [][2]string{
			{"locator", e.Locator},
			{"time", v.c.fmtTime(e.Timestamp) + "  (" + v.c.fmtAgo(e.Timestamp) + ")"},
			{"type", e.Type},
			{"user", e.User},
			{"request", e.RequestID},
			{"policy", pol},
		}
		var lines []string
		for _, p := range kv {
			val := sanitize.Line(p[1])
			if p[0] == "type" {
				val = v.tags["g:"+socotraGroup(e.Type)].Render(val)
			}
			lines = append(lines, ansi.Truncate(t.Label.Render(fmt.Sprintf("%-8s ", p[0]))+val, v.w, "…"))
		}
		b.WriteString(ui.Fit(strings.Join(lines, "\n"), v.w, n))
		b.WriteByte('\n')
	}
	b.WriteString(v.tree.View())
	return ui.Fit(b.String(), v.w, v.h)
}

// Scheduled policy events.

var socotraScheduledColumns = []vtable.Column{
	{Title: "STATE", Width: 10, SortKey: "trigger_state"},
	{Title: "NEXT EVENT", Width: 19, SortKey: "next_event_time"},
	{Title: "CUSTOM EVENT", Width: 0, Min: 12, SortKey: "custom_event_id"},
	{Title: "TRANSACTION", Width: 0, Min: 12, SortKey: "transaction_locator"},
}

// socotraTriggerOrder orders the schedule counts: what needs a look first.
var socotraTriggerOrder = []string{"ERROR", "BLOCKED", "PAUSED", "NORMAL", "COMPLETE", "NONE"}

// standsOut marks the trigger states a person must notice even without
// colour (NO_COLOR, ASCII terminals).
func standsOut(state string) bool {
	return state == "ERROR" || state == "BLOCKED" || state == "PAUSED"
}

// NewSocotraSchedules lists a policy's scheduled events: refreshed from
// the API when online, from the cache when offline.
func NewSocotraSchedules(c *Common, policy string) (ui.View, error) {
	spec := &listSpec{
		entity: store.EntitySocotraScheduled, noun: "scheduled events", title: "Schedules", schema: filter.SocotraScheduled,
		columns: socotraScheduledColumns, sortCol: 1, help: []string{keymap.Socotra},
		page: func(ctx context.Context, c *Common, q store.Query, after *store.Key, backward bool, n int) ([]vtable.Row, error) {
			rows, err := c.Store.SocotraScheduled(ctx, q, after, backward, n)
			if err != nil {
				return nil, err
			}
			out := make([]vtable.Row, len(rows))
			for i, r := range rows {
				state := "  " + r.TriggerState
				if standsOut(r.TriggerState) {
					state = "! " + r.TriggerState
				}
				next := "—"
				if r.NextEventTime != 0 {
					next = c.fmtTime(r.NextEventTime)
				}
				out[i] = vtable.Row{Key: store.SocotraScheduledKey(q, r), ID: r.TransactionLocator + "\x1f" + r.CustomEventID,
					Style: "t:" + r.TriggerState, Cells: []string{state, next, r.CustomEventID, r.TransactionLocator}}
			}
			return out, nil
		},
	}
	w, err := newSocotraList(c, spec, eqNode("policy_locator", policy), "policy "+shortID(policy), "", []string{"custom_event_id", "transaction_locator"})
	if err != nil {
		return nil, err
	}
	w.desc = false // soonest first
	w.header = func(ctx context.Context) (string, error) {
		m, err := c.Store.SocotraScheduledStates(ctx, policy)
		if err != nil {
			return "", err
		}
		t := c.Theme
		styles := socotraStyles(t).RowTag
		total := 0
		var parts []string
		for _, s := range socotraTriggerOrder {
			total += m[s]
			if m[s] > 0 {
				label := s
				if standsOut(s) {
					label = "! " + s
				}
				parts = append(parts, styles["t:"+s].Render(label)+" "+thousands(m[s]))
			}
		}
		return t.Dim.Render(fmt.Sprintf("scheduled events of policy %s %s │ ", sanitize.Line(policy), thousands(total))) + strings.Join(parts, "  "), nil
	}
	w.fetch = func(ctx context.Context) (string, error) {
		n, err := socotra.CachePolicySchedules(ctx, c.Store, c.Socotra, policy)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("policy %s: %d scheduled event%s, fresh from the API", shortID(policy), n, plural(n)), nil
	}
	return w, nil
}
