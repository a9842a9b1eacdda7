package views

import (
	"bytes"
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
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/sanitize"
	"github.com/opsdeck/opsdeck/ui/vtable"
)

// The :errors screen: ERRORED jobs (or tasks) grouped by error signature
// (store.ErrorGroups), one row per group with its count, first and last
// occurrence, how many identities, data sources and action types it
// touches, a sparkline of when it happened, and whether somebody
// acknowledged it here. Enter opens the group's jobs; `a` acknowledges the
// group with an optional note. Groups are an aggregate of a few dozen rows,
// so they are read whole (one ~150 ms query on 1M jobs) and sorted in
// memory; the jobs behind them stay keyset-paged in the list Enter opens.

// errorsBuckets is the sparkline's width in cells.
const errorsBuckets = 16

// errorsReloadThrottle: grouping reads every ERRORED job, so a sync that
// streams pages in refreshes the groups at most this often.
const errorsReloadThrottle = 3 * time.Second

// errorSortKeys are the sortable columns' keys (vtable SortKey values).
var errorSortKeys = map[string]store.GroupSort{
	"count": store.SortCount, "signature": store.SortSignature, "last": store.SortLastSeen,
	"first": store.SortFirstSeen, "identities": store.SortIdentities,
}

func errorColumns(entity string) []vtable.Column {
	cols := []vtable.Column{
		{Title: "COUNT", Width: 8, Min: 6, Align: lipgloss.Right, SortKey: "count"},
		{Title: "ACK", Width: 3, Align: lipgloss.Center},
		{Title: "SIGNATURE", Min: 36, SortKey: "signature"},
		{Title: "TREND", Width: errorsBuckets, Min: errorsBuckets},
		{Title: "LAST", Width: 9, Min: 7, SortKey: "last"},
		{Title: "FIRST", Width: 9, Min: 7, SortKey: "first"},
		{Title: "IDENT", Width: 9, Min: 5, Align: lipgloss.Right, SortKey: "identities"},
	}
	if entity == store.EntityTasks {
		cols = append(cols, vtable.Column{Title: "WORKFLOWS", Width: 30, Min: 12})
	} else {
		// Fixed widths: the signature, the one flexible column, gets the
		// rest of a wide terminal.
		cols = append(cols, vtable.Column{Title: "SOURCES", Width: 24, Min: 10}, vtable.Column{Title: "ACTION TYPES", Width: 30, Min: 12})
	}
	for i := range cols {
		if cols[i].SortKey != "" {
			cols[i].KeyHint = fmt.Sprint(i + 1)
		}
	}
	return cols
}

// Errors is the error groups screen.
type Errors struct {
	c      *Common
	id     int64
	entity string // store.EntityJobs or store.EntityTasks
	w, h   int
	table  vtable.Model
	cols   []vtable.Column
	prompt ui.Prompt // `/`: a filter over the grouped rows
	note   ui.Prompt // the acknowledgement's note

	filterText string
	where      filter.Node
	sort       store.GroupSort
	asc        bool

	groups  []store.ErrorGroup // as loaded, in display order
	total   int                // ERRORED rows in the groups
	loaded  bool
	err     error
	seq     int64 // latest load asked for; older replies are dropped
	pending string

	reloads throttle
}

// NewErrors opens the error groups of ERRORED jobs. args is an optional
// SCIM filter over jobs restricting the rows grouped; "tasks" (optionally
// followed by a filter over tasks) groups ERRORED tasks instead.
func NewErrors(c *Common, args string) (*Errors, error) {
	entity, text := store.EntityJobs, strings.TrimSpace(args)
	if rest, ok := cutWord(text, "tasks"); ok {
		entity, text = store.EntityTasks, rest
	} else if rest, ok := cutWord(text, "jobs"); ok {
		text = rest
	}
	v := &Errors{c: c, id: c.nextID(), entity: entity, sort: store.SortCount, reloads: throttle{every: errorsReloadThrottle}}
	if err := v.setFilter(text); err != nil {
		return nil, err
	}
	v.cols = errorColumns(entity)
	v.table = vtable.New(v.cols, tableKeys(c.Keys), tableStyles(c.Theme)).SetStatusLine(false).
		SetSort(string(store.SortCount), true)
	v.prompt = ui.NewPrompt(c.Theme, c.Keys, "/")
	v.prompt.Validate = func(s string) error { _, err := v.parseFilter(s); return err }
	v.prompt.Complete = filterCompleter(v.schema())
	v.note = ui.NewPrompt(c.Theme, c.Keys, "note (optional, kept in this cache only): ")
	return v, nil
}

// cutWord reports whether s starts with the word w, and returns the rest.
func cutWord(s, w string) (string, bool) {
	if !strings.HasPrefix(strings.ToLower(s), w) {
		return s, false
	}
	rest := s[len(w):]
	if rest != "" && rest[0] != ' ' {
		return s, false
	}
	return strings.TrimSpace(rest), true
}

func (v *Errors) schema() *filter.Schema {
	if v.entity == store.EntityTasks {
		return filter.Tasks
	}
	return filter.Jobs
}

func (v *Errors) parseFilter(text string) (filter.Node, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	return filter.ParseFor(text, v.schema())
}

func (v *Errors) setFilter(text string) error {
	where, err := v.parseFilter(text)
	if err != nil {
		return err
	}
	v.filterText, v.where = strings.TrimSpace(text), where
	return nil
}

func (v *Errors) Init() tea.Cmd { return v.load() }

func (v *Errors) Title() string {
	if v.entity == store.EntityTasks {
		return "Errors (tasks)"
	}
	return "Errors"
}

func (v *Errors) Capturing() bool { return v.prompt.Active() || v.note.Active() }

func (v *Errors) HelpCategories() []string { return []string{keymap.Triage, keymap.List, keymap.Table} }

func (v *Errors) Status() string {
	dir := "▼"
	if v.asc {
		dir = "▲"
	}
	s := "sort: " + string(v.sort) + " " + dir
	if v.loaded && len(v.groups) > 0 {
		s += fmt.Sprintf(" · %d/%d", max(v.table.Position(), 0)+1, len(v.groups))
	}
	return s
}

func (v *Errors) SetSize(w, h int) ui.View {
	v.w, v.h = w, h
	v.table = v.table.SetSize(w, max(1, h-3))
	return v
}

// groupsMsg carries a load's result to the view that asked.
type groupsMsg struct {
	id, seq int64
	groups  []store.ErrorGroup
	err     error
}

// ackedMsg reports an acknowledgement written (or removed).
type ackedMsg struct {
	id   int64
	text string
	err  error
}

func (v *Errors) load() tea.Cmd {
	v.seq++
	v.reloads.ran()
	st, id, seq := v.c.Store, v.id, v.seq
	opts := store.GroupOptions{Entity: v.entity, Where: v.where, Buckets: errorsBuckets, MaxNames: 3}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		gs, err := st.ErrorGroups(ctx, opts)
		return groupsMsg{id: id, seq: seq, groups: gs, err: err}
	}
}

func (v *Errors) requestReload() tea.Cmd {
	return v.reloads.request(v.c, v.id, v.load)
}

func (v *Errors) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	switch msg := msg.(type) {
	case groupsMsg:
		if msg.id != v.id || msg.seq != v.seq {
			return v, nil // another view's, or superseded by a newer load
		}
		v.loaded, v.err = true, msg.err
		if msg.err != nil {
			return v, nil
		}
		v.groups = msg.groups
		v.total = 0
		for _, g := range v.groups {
			v.total += g.Count
		}
		return v, v.refreshTable()
	case ackedMsg:
		if msg.id != v.id {
			return v, nil
		}
		if msg.err != nil {
			return v, ui.Flash(ui.FlashError, "%v", msg.err)
		}
		return v, tea.Batch(ui.Flash(ui.FlashInfo, "%s", msg.text), v.load())
	case SyncedMsg:
		if msg.Entity != v.entity {
			return v, nil
		}
		return v, v.requestReload()
	case reloadTick:
		if msg.id != v.id {
			return v, nil
		}
		v.reloads.fired()
		return v, v.load()
	case ui.RevealedMsg, reloadMsg:
		return v, v.load()
	case tea.KeyMsg:
		if v.note.Active() {
			return v, v.updateNote(msg)
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

// refreshTable sorts the groups and hands the table a source over them,
// keeping the cursor on the same group (vtable keeps it by row ID).
func (v *Errors) refreshTable() tea.Cmd {
	store.SortGroups(v.groups, v.sort, v.asc)
	rows := make([]vtable.Row, len(v.groups))
	for i := range v.groups {
		rows[i] = v.groupRow(i)
	}
	var cmd tea.Cmd
	v.table = v.table.SetSort(string(v.sort), !v.asc)
	v.table, cmd = v.table.SetSource(sliceSource(rows))
	return cmd
}

func (v *Errors) groupRow(i int) vtable.Row {
	g := &v.groups[i]
	sig := g.Signature
	if sig == "" {
		sig = "(no message)"
	}
	ack, style := "", "ERRORED"
	if g.Acked {
		ack, style = "✓", ""
	}
	cells := []string{thousands(g.Count), ack, sig, sparkline(g.Buckets), v.c.fmtAgo(g.LastSeen), v.c.fmtAgo(g.FirstSeen), thousands(g.Identities)}
	if v.entity == store.EntityTasks {
		cells = append(cells, topList(g.Workflows, g.WorkflowsTotal))
	} else {
		cells = append(cells, topList(g.Sources, g.SourcesTotal), topList(g.ActionTypes, g.ActionTypesTotal))
	}
	// The signature is the group's identity: it keeps the cursor on the
	// group across reloads and re-sorts.
	return vtable.Row{Key: i, ID: g.Signature, Cells: cells, Style: style}
}

// topList lists a dimension's top values, "+n" for the rest.
func topList(list []store.NameCount, total int) string {
	if total == 0 {
		return "—"
	}
	parts := make([]string, len(list))
	for i, nc := range list {
		parts[i] = nc.Name
	}
	s := strings.Join(parts, ", ")
	if more := total - len(list); more > 0 {
		s += fmt.Sprintf(" +%d", more)
	}
	return s
}

var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws counts as one block per bucket, scaled to the largest;
// an empty bucket is a space, any non-empty one at least ▁.
func sparkline(counts []int) string {
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	var b strings.Builder
	for _, n := range counts {
		if n <= 0 || top == 0 {
			b.WriteByte(' ')
			continue
		}
		lvl := (n*len(sparkBlocks) - 1) / top // 1..top → 0..7
		b.WriteRune(sparkBlocks[min(lvl, len(sparkBlocks)-1)])
	}
	return b.String()
}

// selected is the group under the cursor.
func (v *Errors) selected() (*store.ErrorGroup, bool) {
	r, ok := v.table.Selected()
	if !ok {
		return nil, false
	}
	for i := range v.groups {
		if v.groups[i].Signature == r.ID {
			return &v.groups[i], true
		}
	}
	return nil, false
}

func (v *Errors) handleKey(k tea.KeyMsg) tea.Cmd {
	keys := v.c.Keys
	switch {
	case key.Matches(k, keys.Get("open")):
		return v.open()
	case key.Matches(k, keys.Get("ack")):
		return v.ack()
	case key.Matches(k, keys.Get("next_unacked")):
		return v.nextUnacked()
	case key.Matches(k, keys.Get("filter")):
		var cmd tea.Cmd
		v.prompt, cmd = v.prompt.Open(v.filterText)
		return cmd
	case key.Matches(k, keys.Get("clear_filter")):
		if v.filterText == "" {
			return nil
		}
		v.filterText, v.where = "", nil
		return tea.Batch(v.load(), ui.Flash(ui.FlashInfo, "filter cleared"))
	case key.Matches(k, keys.Get("sort_col")):
		col := int(k.String()[0] - '1')
		if col < 0 || col >= len(v.cols) || v.cols[col].SortKey == "" {
			return nil
		}
		by := errorSortKeys[v.cols[col].SortKey]
		asc := false
		if by == v.sort {
			asc = !v.asc
		} else if by == store.SortSignature {
			asc = true // A to Z first
		}
		return v.setSort(by, asc)
	case key.Matches(k, keys.Get("sort_next"), keys.Get("sort_prev")):
		order := []store.GroupSort{store.SortCount, store.SortSignature, store.SortLastSeen, store.SortFirstSeen, store.SortIdentities}
		i := 0
		for j, s := range order {
			if s == v.sort {
				i = j
			}
		}
		if key.Matches(k, keys.Get("sort_next")) {
			i = (i + 1) % len(order)
		} else {
			i = (i + len(order) - 1) % len(order)
		}
		return v.setSort(order[i], v.asc)
	case key.Matches(k, keys.Get("sort_reverse")):
		return v.setSort(v.sort, !v.asc)
	case key.Matches(k, keys.Get("copy_id")):
		if g, ok := v.selected(); ok {
			return copyText(v.c, g.Signature, "signature "+g.Signature)
		}
		return nil
	}
	var cmd tea.Cmd
	v.table, cmd = v.table.Update(k)
	return cmd
}

func (v *Errors) setSort(by store.GroupSort, asc bool) tea.Cmd {
	v.sort, v.asc = by, asc
	if !v.loaded {
		return nil
	}
	return v.refreshTable()
}

// groupFilter is the list filter that selects the group's rows: ERRORED,
// this signature, and the screen's own filter.
func (v *Errors) groupFilter(sig string) string {
	f := `state eq "ERRORED" and error_signature eq ` + scimString(sig)
	if v.filterText != "" {
		f += " and (" + v.filterText + ")"
	}
	return f
}

// scimString quotes s as a SCIM (JSON) string, leaving < > & as they are.
func scimString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return `""`
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// open pushes the list of the selected group's jobs (or tasks).
func (v *Errors) open() tea.Cmd {
	g, ok := v.selected()
	if !ok {
		return nil
	}
	f := v.groupFilter(g.Signature)
	var view ui.View
	var err error
	if v.entity == store.EntityTasks {
		view, err = NewTasks(v.c, f)
	} else {
		view, err = NewJobs(v.c, f)
	}
	if err != nil {
		return ui.Flash(ui.FlashError, "%v", err)
	}
	return ui.Push(view)
}

// ack acknowledges the selected group (asking for a note) or, when it is
// acknowledged already, removes the acknowledgement.
func (v *Errors) ack() tea.Cmd {
	g, ok := v.selected()
	if !ok {
		return nil
	}
	if v.c.Store.ReadOnly() {
		return ui.Flash(ui.FlashWarn, "the cache is open read-only: acknowledgements cannot be saved")
	}
	sig, n := g.Signature, g.Count
	if g.Acked {
		return v.writeAck(func(ctx context.Context) error { return v.c.Store.Unack(ctx, store.MarkGroup, sig) },
			fmt.Sprintf("group of %s un-acknowledged (local mark)", thousands(n)))
	}
	var cmd tea.Cmd
	v.pending = sig
	v.note, cmd = v.note.Open("")
	return cmd
}

func (v *Errors) updateNote(k tea.KeyMsg) tea.Cmd {
	var cmd tea.Cmd
	var res ui.PromptResult
	v.note, cmd, res = v.note.Update(k)
	if res != ui.PromptAccepted {
		return cmd
	}
	sig, note := v.pending, strings.TrimSpace(v.note.Value())
	n := 0
	for _, g := range v.groups {
		if g.Signature == sig {
			n = g.Count
		}
	}
	return v.writeAck(func(ctx context.Context) error { return v.c.Store.Ack(ctx, store.MarkGroup, sig, note) },
		fmt.Sprintf("group of %s acknowledged — a local mark in this cache, not sent to the tenant", thousands(n)))
}

func (v *Errors) writeAck(do func(context.Context) error, done string) tea.Cmd {
	id := v.id
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := do(ctx); err != nil {
			if errors.Is(err, store.ErrReadOnly) {
				err = errors.New("the cache is open read-only: acknowledgements cannot be saved")
			}
			return ackedMsg{id: id, err: err}
		}
		return ackedMsg{id: id, text: done}
	}
}

// nextUnacked moves the cursor to the next group nobody acknowledged,
// wrapping around.
func (v *Errors) nextUnacked() tea.Cmd {
	if len(v.groups) == 0 {
		return nil
	}
	pos := max(v.table.Position(), 0)
	for d := 1; d <= len(v.groups); d++ {
		i := (pos + d) % len(v.groups)
		if v.groups[i].Acked {
			continue
		}
		var cmds []tea.Cmd
		key := tea.KeyMsg{Type: tea.KeyDown}
		steps := i - pos
		if steps < 0 {
			key = tea.KeyMsg{Type: tea.KeyUp}
			steps = -steps
		}
		for range steps {
			var cmd tea.Cmd
			v.table, cmd = v.table.Update(key)
			cmds = append(cmds, cmd)
		}
		return tea.Batch(cmds...)
	}
	return ui.Flash(ui.FlashInfo, "every group is acknowledged")
}

func (v *Errors) updatePrompt(k tea.KeyMsg) tea.Cmd {
	var cmd tea.Cmd
	var res ui.PromptResult
	v.prompt, cmd, res = v.prompt.Update(k)
	switch res {
	case ui.PromptAccepted:
		if err := v.setFilter(v.prompt.Value()); err != nil {
			return ui.Flash(ui.FlashError, "%s", err)
		}
		return v.load()
	case ui.PromptEditing:
		if k.Type == tea.KeyEnter && v.prompt.Err() != nil {
			return ui.Flash(ui.FlashError, "%s", v.prompt.Err())
		}
	}
	return cmd
}

// summaryLine: how many groups and rows, how many acknowledged, and that
// acknowledgements are local.
func (v *Errors) summaryLine() string {
	t := v.c.Theme
	noun := "jobs"
	if v.entity == store.EntityTasks {
		noun = "tasks"
	}
	switch {
	case v.err != nil:
		return t.FlashErr.Render("grouping failed: " + sanitize.Line(v.err.Error()))
	case !v.loaded:
		return t.Dim.Render("grouping ERRORED " + noun + "…")
	}
	acked := 0
	for _, g := range v.groups {
		if g.Acked {
			acked++
		}
	}
	return t.State("ERRORED").Render(fmt.Sprintf("%s ERRORED %s", thousands(v.total), noun)) +
		t.Dim.Render(fmt.Sprintf(" in %d groups │ %d acknowledged (local marks, never sent upstream)", len(v.groups), acked))
}

// detailLine is the selected group's example message and note.
func (v *Errors) detailLine() string {
	g, ok := v.selected()
	if !ok {
		if v.loaded && v.err == nil && len(v.groups) == 0 {
			return v.c.Theme.Dim.Render("no ERRORED rows" + map[bool]string{true: " match the filter", false: " in the cache"}[v.filterText != ""])
		}
		return ""
	}
	s := "e.g. " + oneLine(g.Example)
	if g.Acked {
		ack := "✓ acknowledged " + v.c.fmtAgo(g.Mark.AckedAt)
		if g.Mark.Note != "" {
			ack += ": " + oneLine(g.Mark.Note)
		}
		s = ack + " │ " + s
	}
	if g.AckedRows > 0 {
		s += fmt.Sprintf(" │ %d acknowledged one by one", g.AckedRows)
	}
	return v.c.Theme.Dim.Render(sanitize.Line(s))
}

func (v *Errors) View() string {
	var b strings.Builder
	b.WriteString(ansi.Truncate(v.summaryLine(), v.w, "…"))
	b.WriteByte('\n')
	b.WriteString(v.table.View())
	b.WriteByte('\n')
	b.WriteString(ansi.Truncate(v.detailLine(), v.w, "…"))
	b.WriteByte('\n')
	switch {
	case v.note.Active():
		b.WriteString(v.note.View(v.w))
	case v.prompt.Active():
		b.WriteString(v.prompt.View(v.w))
	case v.filterText != "":
		b.WriteString(v.c.Theme.Dim.Render(ansi.Truncate("/"+sanitize.Line(v.filterText), v.w, "…")))
	}
	return ui.Fit(b.String(), v.w, v.h)
}

// sliceSource pages over rows held in memory; a row's Key is its index.
type sliceSource []vtable.Row

func (s sliceSource) Page(_ context.Context, after any, backward bool, n int) ([]vtable.Row, error) {
	lo, hi := 0, len(s)
	if after != nil {
		k, _ := after.(int)
		if backward {
			hi = max(0, min(k, len(s)))
		} else {
			lo = min(k+1, len(s))
		}
	}
	if backward {
		lo = max(hi-n, 0)
	} else {
		hi = min(lo+n, len(s))
	}
	return s[lo:hi], nil
}

func (s sliceSource) Count(context.Context) (int, error) { return len(s), nil }

// errorsCompleter completes `:errors [tasks] [filter]`.
func errorsCompleter(line string) []string {
	if rest, ok := cutWord(strings.TrimLeft(line, " "), "tasks"); ok {
		return filterCompleter(filter.Tasks)(rest)
	}
	out := filterCompleter(filter.Jobs)(line)
	if len(strings.Fields(line)) <= 1 && !strings.HasSuffix(line, " ") {
		out = append([]string{"tasks"}, out...)
	}
	return out
}
