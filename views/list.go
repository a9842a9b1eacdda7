package views

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/sanitize"
	"github.com/opsdeck/opsdeck/ui/vtable"
)

// listSpec is what one entity's list needs beyond the generic behaviour of
// List (keyset table, `/` filter, sort keys, state counts, live reload,
// marks). Each list screen is a spec; see jobs.go, tasks.go, actions.go.
type listSpec struct {
	entity  string         // store entity: counts, SyncedMsg
	noun    string         // "jobs" in the counts line
	title   string         // breadcrumb
	schema  *filter.Schema // fields of `/` filters
	columns []vtable.Column
	sortCol int // default sort column
	// states orders the counts line; nil: no per-state counts.
	states []string
	// page reads rows for the table.
	page func(ctx context.Context, c *Common, q store.Query, after *store.Key, backward bool, n int) ([]vtable.Row, error)
	// open is Enter on a row (nil: nothing).
	open func(v *List, row vtable.Row) tea.Cmd
	// keys handles the list's own keys before the generic ones; handled
	// false passes the key on.
	keys func(v *List, k tea.KeyMsg) (cmd tea.Cmd, handled bool)
	// help names extra keymap categories for `?`.
	help []string
	// storeText: free text goes to the store's text search (Query.Text,
	// a trigram index for jobs) instead of an OR of `co` filters.
	storeText bool
	// rowJSON is one row as JSON for the clipboard (C); nil: not offered.
	rowJSON func(ctx context.Context, c *Common, id string) ([]byte, error)
	// records reads full rows for export (x), in q's order after a key.
	records func(ctx context.Context, c *Common, q store.Query, after *store.Key, n int) ([]record, *store.Key, error)
}

// record is a cache row as export sees it: its schema fields by name.
type record interface {
	Field(name string) (any, bool)
}

// List is a keyset-paged list over one cache table.
type List struct {
	c      *Common
	id     int64
	spec   *listSpec
	w, h   int
	table  vtable.Model
	prompt ui.Prompt
	// aux is a one-off question (export path, ack note); onAux gets the
	// answer.
	aux   ui.Prompt
	onAux func(string) tea.Cmd

	// scope is a fixed restriction from a drill-down (the actions of one
	// task); it is not part of the editable filter and is named in the
	// breadcrumb.
	scope      filter.Node
	scopeLabel string

	filterText string
	where      filter.Node
	text       string // free text (storeText lists)
	sortCol    int
	desc       bool
	counts     map[string]int
	countErr   error
	// marked rows (space) for bulk actions, by row ID.
	marked map[string]bool

	reloads throttle
}

// newList opens spec's list with an optional drill-down scope and an
// initial filter (SCIM or free text).
func newList(c *Common, spec *listSpec, scope filter.Node, scopeLabel, filterText string) (*List, error) {
	v := &List{c: c, id: c.nextID(), spec: spec, scope: scope, scopeLabel: scopeLabel, sortCol: spec.sortCol, desc: true, marked: map[string]bool{}, reloads: throttle{every: reloadThrottle}}
	if err := v.setFilter(filterText); err != nil {
		return nil, err
	}
	cols := append([]vtable.Column(nil), spec.columns...)
	for i := range cols {
		if i < 9 {
			cols[i].KeyHint = fmt.Sprint(i + 1)
		}
	}
	v.table = vtable.New(cols, tableKeys(c.Keys), tableStyles(c.Theme)).SetStatusLine(false).
		SetMarked(func(id string) bool { return v.marked[id] })
	v.prompt = ui.NewPrompt(c.Theme, c.Keys, "/")
	v.prompt.Validate = func(s string) error { _, err := parseListFilter(s, spec.schema); return err }
	v.prompt.Complete = filterCompleter(spec.schema)
	return v, nil
}

// Query is the list's current query: scope and filter, in its sort order.
func (v *List) Query() store.Query {
	return store.Query{Where: and(v.scope, v.where), Sort: v.spec.columns[v.sortCol].SortKey, Desc: v.desc, Text: v.text}
}

// setFilter parses the filter text: SCIM, or free text (the store's text
// search where the list has one, else `co` over the text columns).
func (v *List) setFilter(text string) error {
	if v.spec.storeText {
		n, free, err := parseListInput(text, v.spec.schema)
		if err != nil {
			return err
		}
		v.filterText, v.where, v.text = strings.TrimSpace(text), n, ""
		if free {
			v.text = v.filterText
		}
		return nil
	}
	where, err := parseListFilter(text, v.spec.schema)
	if err != nil {
		return err
	}
	v.filterText, v.where, v.text = strings.TrimSpace(text), where, ""
	return nil
}

// FilterText is the filter as typed.
func (v *List) FilterText() string { return v.filterText }

func and(a, b filter.Node) filter.Node {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return &filter.Logical{Op: "and", Left: a, Right: b}
}

func (v *List) source() vtable.Source { return &listSource{c: v.c, spec: v.spec, q: v.Query()} }

func (v *List) Init() tea.Cmd {
	var cmd tea.Cmd
	v.table = v.table.SetSort(v.spec.columns[v.sortCol].SortKey, v.desc)
	v.table, cmd = v.table.SetSource(v.source())
	return tea.Batch(cmd, v.loadCounts())
}

func (v *List) Title() string {
	t := v.spec.title
	if v.scopeLabel != "" {
		t += " of " + v.scopeLabel
	} else if v.filterText == `state eq "ERRORED"` {
		t += " (ERRORED)"
	}
	return t
}

func (v *List) Capturing() bool { return v.prompt.Active() || v.aux.Active() }

// ask opens the one-off prompt; onAnswer runs with the accepted text.
func (v *List) ask(prefix, initial string, validate func(string) error, onAnswer func(string) tea.Cmd) tea.Cmd {
	v.aux = ui.NewPrompt(v.c.Theme, v.c.Keys, prefix)
	v.aux.Validate = validate
	v.onAux = onAnswer
	var cmd tea.Cmd
	v.aux, cmd = v.aux.Open(initial)
	return cmd
}

func (v *List) HelpCategories() []string {
	return append(append([]string(nil), v.spec.help...), keymap.List, keymap.Table)
}

func (v *List) Status() string {
	dir := "▲"
	if v.desc {
		dir = "▼"
	}
	parts := []string{"sort: " + v.spec.columns[v.sortCol].SortKey + " " + dir}
	if n := len(v.marked); n > 0 {
		parts = append(parts, fmt.Sprintf("%d marked", n))
	}
	parts = append(parts, v.table.StatusText())
	return strings.Join(parts, " · ")
}

func (v *List) SetSize(w, h int) ui.View {
	v.w, v.h = w, h
	v.table = v.table.SetSize(w, max(1, h-2))
	return v
}

// Selected is the row under the cursor.
func (v *List) Selected() (vtable.Row, bool) { return v.table.Selected() }

// Marked returns the IDs of the marked rows, or the row under the cursor
// when none are marked (what a bulk action applies to).
func (v *List) Marked() []string {
	if len(v.marked) == 0 {
		if r, ok := v.table.Selected(); ok {
			return []string{r.ID}
		}
		return nil
	}
	out := make([]string, 0, len(v.marked))
	for id := range v.marked {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// ClearMarks drops every mark.
func (v *List) ClearMarks() { clear(v.marked) }

type countsMsg struct {
	id     int64
	counts map[string]int
	err    error
}

// loadCounts reads the per-state counts: the maintained counters for the
// whole table, or a GROUP BY over the (small) scope of a drill-down.
func (v *List) loadCounts() tea.Cmd {
	if v.spec.states == nil {
		return nil
	}
	st, id, entity, scope := v.c.Store, v.id, v.spec.entity, v.scope
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var c map[string]int
		var err error
		if scope == nil {
			c, err = st.StateCounts(ctx, entity)
		} else {
			c, err = st.CountByState(ctx, entity, scope)
		}
		return countsMsg{id: id, counts: c, err: err}
	}
}

func (v *List) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	switch msg := msg.(type) {
	case countsMsg:
		if msg.id == v.id {
			v.counts, v.countErr = msg.counts, msg.err
		}
		return v, nil
	case SyncedMsg:
		if msg.Entity != v.spec.entity {
			return v, nil
		}
		return v, v.requestReload()
	case reloadTick:
		if msg.id != v.id {
			return v, nil
		}
		v.reloads.fired()
		return v, v.reload()
	case ui.RevealedMsg, reloadMsg:
		return v, v.reload()
	case tea.KeyMsg:
		if v.aux.Active() {
			var cmd tea.Cmd
			var res ui.PromptResult
			v.aux, cmd, res = v.aux.Update(msg)
			if res == ui.PromptAccepted && v.onAux != nil {
				return v, v.onAux(v.aux.Value())
			}
			if res == ui.PromptEditing && msg.Type == tea.KeyEnter && v.aux.Err() != nil {
				return v, ui.Flash(ui.FlashError, "%s", v.aux.Err())
			}
			return v, cmd
		}
		if v.prompt.Active() {
			return v, v.updatePrompt(msg)
		}
		return v, v.handleKey(msg)
	}
	var cmd tea.Cmd
	v.table, cmd = v.table.Update(msg)
	return v, cmd
}

// reloadMsg asks every list to re-read (an action changed rows).
type reloadMsg struct{}

// Reload is a command that makes the lists re-read the cache.
func Reload() tea.Msg { return reloadMsg{} }

func (v *List) requestReload() tea.Cmd {
	return v.reloads.request(v.c, v.id, v.reload)
}

func (v *List) reload() tea.Cmd {
	v.reloads.ran()
	var cmd tea.Cmd
	v.table, cmd = v.table.Reload()
	return tea.Batch(cmd, v.loadCounts())
}

func (v *List) updatePrompt(k tea.KeyMsg) tea.Cmd {
	var cmd tea.Cmd
	var res ui.PromptResult
	v.prompt, cmd, res = v.prompt.Update(k)
	switch res {
	case ui.PromptAccepted:
		return v.applyFilter(v.prompt.Value())
	case ui.PromptEditing:
		if k.Type == tea.KeyEnter && v.prompt.Err() != nil {
			return ui.Flash(ui.FlashError, "%s", v.prompt.Err())
		}
	}
	return cmd
}

// applyFilter replaces the editable filter.
func (v *List) applyFilter(text string) tea.Cmd {
	if err := v.setFilter(text); err != nil {
		return ui.Flash(ui.FlashError, "%s", err)
	}
	var hint tea.Cmd
	if v.text != "" && utf8.RuneCountInString(v.text) < 3 && v.spec.entity == store.EntityJobs {
		hint = ui.Flash(ui.FlashWarn, "%q is shorter than 3 characters: the text index cannot help, every row is read", v.text)
	}
	var cmd tea.Cmd
	v.table, cmd = v.table.SetSource(v.source())
	return tea.Batch(cmd, hint)
}

func (v *List) setSort(col int, desc bool) tea.Cmd {
	v.sortCol, v.desc = col, desc
	v.table = v.table.SetSort(v.spec.columns[col].SortKey, desc)
	var cmd tea.Cmd
	v.table, cmd = v.table.SetSource(v.source())
	return cmd
}

func (v *List) handleKey(k tea.KeyMsg) tea.Cmd {
	if cmd, ok := v.ackKeys(k); ok {
		return cmd
	}
	if v.spec.keys != nil {
		if cmd, ok := v.spec.keys(v, k); ok {
			return cmd
		}
	}
	keys := v.c.Keys
	ncols := len(v.spec.columns)
	switch {
	case key.Matches(k, keys.Get("filter")):
		var cmd tea.Cmd
		v.prompt, cmd = v.prompt.Open(v.filterText)
		return cmd
	case key.Matches(k, keys.Get("clear_filter")):
		if v.filterText == "" {
			return nil
		}
		return tea.Batch(v.applyFilter(""), ui.Flash(ui.FlashInfo, "filter cleared"))
	case key.Matches(k, keys.Get("sort_col")):
		col := int(k.String()[0] - '1')
		if col < 0 || col >= ncols {
			return nil
		}
		desc := v.desc
		if col == v.sortCol {
			desc = !desc
		}
		return v.setSort(col, desc)
	case key.Matches(k, keys.Get("sort_next")):
		return v.setSort((v.sortCol+1)%ncols, v.desc)
	case key.Matches(k, keys.Get("sort_prev")):
		return v.setSort((v.sortCol+ncols-1)%ncols, v.desc)
	case key.Matches(k, keys.Get("sort_reverse")):
		return v.setSort(v.sortCol, !v.desc)
	case key.Matches(k, keys.Get("mark")):
		if r, ok := v.table.Selected(); ok {
			if v.marked[r.ID] {
				delete(v.marked, r.ID)
			} else {
				v.marked[r.ID] = true
			}
			// Move on, as in mutt and lazygit, so marking runs of rows is
			// one key per row.
			var cmd tea.Cmd
			v.table, cmd = v.table.Update(tea.KeyMsg{Type: tea.KeyDown})
			return cmd
		}
		return nil
	case key.Matches(k, keys.Get("unmark_all")):
		if n := len(v.marked); n > 0 {
			v.ClearMarks()
			return ui.Flash(ui.FlashInfo, "%d marks cleared", n)
		}
		return nil
	case key.Matches(k, keys.Get("copy_id")):
		if r, ok := v.table.Selected(); ok {
			return copyText(v.c, r.ID, "id "+r.ID)
		}
		return nil
	case key.Matches(k, keys.Get("copy_row")):
		r, ok := v.table.Selected()
		if !ok || v.spec.rowJSON == nil {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b, err := v.spec.rowJSON(ctx, v.c, r.ID)
		if err != nil {
			return ui.Flash(ui.FlashError, "%v", err)
		}
		return copyText(v.c, string(b), fmt.Sprintf("%s %s as JSON (%d bytes)", strings.TrimSuffix(v.spec.noun, "s"), shortID(r.ID), len(b)))
	case key.Matches(k, keys.Get("export_view")):
		return v.openExport()
	case key.Matches(k, keys.Get("open")):
		if v.spec.open == nil {
			return nil
		}
		row, ok := v.table.Selected()
		if !ok {
			return nil
		}
		return v.spec.open(v, row)
	}
	var cmd tea.Cmd
	v.table, cmd = v.table.Update(k)
	return cmd
}

// summaryLine is the live count per state above the table.
func (v *List) summaryLine() string {
	t := v.c.Theme
	if v.spec.states == nil {
		return t.Dim.Render(v.spec.noun)
	}
	if v.countErr != nil {
		return t.FlashErr.Render("counts unavailable: " + v.countErr.Error())
	}
	if v.counts == nil {
		return t.Dim.Render("counting…")
	}
	var parts []string
	total := 0
	seen := map[string]bool{}
	for _, s := range v.spec.states {
		seen[s] = true
		total += v.counts[s]
		if n := v.counts[s]; n > 0 {
			parts = append(parts, t.State(s).Render(s)+" "+thousands(n))
		}
	}
	for s, n := range v.counts { // states the list does not know (yet)
		if !seen[s] && n > 0 {
			total += n
		}
	}
	noun := v.spec.noun
	if v.scopeLabel != "" {
		noun += " of " + sanitize.Line(v.scopeLabel)
	}
	return t.Dim.Render(noun+" "+thousands(total)+" │ ") + strings.Join(parts, "  ")
}

func (v *List) View() string {
	var b strings.Builder
	b.WriteString(ansi.Truncate(v.summaryLine(), v.w, "…"))
	b.WriteByte('\n')
	b.WriteString(v.table.View())
	b.WriteByte('\n')
	if v.aux.Active() {
		b.WriteString(v.aux.View(v.w))
	} else if v.prompt.Active() {
		b.WriteString(v.prompt.View(v.w))
	} else if v.text != "" {
		b.WriteString(v.c.Theme.Dim.Render(ansi.Truncate("/"+v.filterText+"  (free text: identity, action, workflow, error)", v.w, "…")))
	} else if v.filterText != "" {
		b.WriteString(v.c.Theme.Dim.Render(ansi.Truncate("/"+v.filterText, v.w, "…")))
	}
	return ui.Fit(b.String(), v.w, v.h)
}

// listSource adapts a spec's page function to the virtual table.
type listSource struct {
	c    *Common
	spec *listSpec
	q    store.Query
}

func (s *listSource) Page(ctx context.Context, after any, backward bool, n int) ([]vtable.Row, error) {
	var k *store.Key
	if after != nil {
		kk := after.(store.Key)
		k = &kk
	}
	return s.spec.page(ctx, s.c, s.q, k, backward, n)
}

func (s *listSource) Count(ctx context.Context) (int, error) {
	if s.q.Text != "" {
		return s.c.Store.CountQuery(ctx, s.spec.entity, s.q)
	}
	return s.c.Store.Count(ctx, s.spec.entity, s.q.Where)
}

func copyText(c *Common, text, label string) tea.Cmd {
	if c.Copy == nil {
		return ui.Flash(ui.FlashWarn, "no clipboard")
	}
	if err := c.Copy(text); err != nil {
		return ui.Flash(ui.FlashError, "copy failed: %v", err)
	}
	return ui.Flash(ui.FlashInfo, "copied %s to the clipboard", ansi.Truncate(oneLine(label), 60, "…"))
}
