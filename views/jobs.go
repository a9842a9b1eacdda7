package views

import (
	"context"
	"fmt"
	"regexp"
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
	"github.com/opsdeck/opsdeck/ui/vtable"
)

// jobColumns are the Jobs list columns; SortKey is the store field.
var jobColumns = []vtable.Column{
	{Title: "STATE", Width: 9, SortKey: "state"},
	{Title: "CREATED", Width: 19, SortKey: "created_at"},
	{Title: "IDENTITY", Width: 0, Min: 10, SortKey: "identity_name"},
	{Title: "ACTION TYPE", Width: 20, Min: 10, SortKey: "action_type"},
	// The error is what triage reads: it comes before the columns that
	// narrow terminals drop first.
	{Title: "ERROR", Width: 0, Min: 16, SortKey: "error_message"},
	{Title: "ACTION", Width: 0, Min: 10, SortKey: "action_name"},
	{Title: "WORKFLOW", Width: 0, Min: 8, SortKey: "workflow_name"},
}

// Jobs is the integration jobs list over the cache.
type Jobs struct {
	c      *Common
	id     int64
	w, h   int
	table  vtable.Model
	prompt ui.Prompt

	filterText string
	where      filter.Node
	sortCol    int
	desc       bool
	counts     map[string]int
	countErr   error

	lastReload    time.Time
	reloadPending bool
}

// NewJobs opens the jobs list with an initial SCIM filter (may be "").
func NewJobs(c *Common, filterText string) (*Jobs, error) {
	v := &Jobs{c: c, id: c.nextID(), sortCol: 1, desc: true}
	where, err := parseListFilter(filterText, filter.Jobs)
	if err != nil {
		return nil, err
	}
	v.filterText, v.where = strings.TrimSpace(filterText), where
	cols := append([]vtable.Column(nil), jobColumns...)
	for i := range cols {
		cols[i].KeyHint = fmt.Sprint(i + 1)
	}
	v.table = vtable.New(cols, tableKeys(c.Keys), tableStyles(c.Theme)).SetStatusLine(false)
	v.prompt = ui.NewPrompt(c.Theme, c.Keys, "/")
	v.prompt.Validate = func(s string) error { _, err := parseListFilter(s, filter.Jobs); return err }
	v.prompt.Complete = filterCompleter(filter.Jobs)
	return v, nil
}

func (v *Jobs) query() store.Query {
	return store.Query{Where: v.where, Sort: jobColumns[v.sortCol].SortKey, Desc: v.desc}
}

func (v *Jobs) source() vtable.Source { return &jobSource{c: v.c, q: v.query()} }

func (v *Jobs) Init() tea.Cmd {
	var cmd tea.Cmd
	v.table = v.table.SetSort(jobColumns[v.sortCol].SortKey, v.desc)
	v.table, cmd = v.table.SetSource(v.source())
	return tea.Batch(cmd, v.loadCounts())
}

func (v *Jobs) Title() string {
	if v.filterText == `state eq "ERRORED"` {
		return "Jobs (ERRORED)"
	}
	return "Jobs"
}

func (v *Jobs) Capturing() bool { return v.prompt.Active() }

func (v *Jobs) HelpCategories() []string { return []string{keymap.List, keymap.Table} }

func (v *Jobs) Status() string {
	var parts []string
	dir := "▲"
	if v.desc {
		dir = "▼"
	}
	parts = append(parts, "sort: "+jobColumns[v.sortCol].SortKey+" "+dir)
	parts = append(parts, v.table.StatusText())
	return strings.Join(parts, " · ")
}

func (v *Jobs) SetSize(w, h int) ui.View {
	v.w, v.h = w, h
	v.table = v.table.SetSize(w, max(1, h-2))
	return v
}

type countsMsg struct {
	id     int64
	counts map[string]int
	err    error
}

func (v *Jobs) loadCounts() tea.Cmd {
	st, id := v.c.Store, v.id
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := st.StateCounts(ctx, "jobs")
		return countsMsg{id: id, counts: c, err: err}
	}
}

func (v *Jobs) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	switch msg := msg.(type) {
	case countsMsg:
		if msg.id == v.id {
			v.counts, v.countErr = msg.counts, msg.err
		}
		return v, nil
	case SyncedMsg:
		if msg.Entity != "jobs" {
			return v, nil
		}
		return v, v.requestReload()
	case reloadTick:
		if msg.id != v.id {
			return v, nil
		}
		v.reloadPending = false
		return v, v.reload()
	case ui.RevealedMsg:
		return v, v.reload()
	case tea.KeyMsg:
		if v.prompt.Active() {
			return v, v.updatePrompt(msg)
		}
		return v, v.handleKey(msg)
	}
	var cmd tea.Cmd
	v.table, cmd = v.table.Update(msg)
	return v, cmd
}

// requestReload reloads now or, when the last reload was recent, once the
// throttle interval has passed; a burst of pages costs one query.
func (v *Jobs) requestReload() tea.Cmd {
	if v.reloadPending {
		return nil
	}
	since := time.Since(v.lastReload)
	if since >= reloadThrottle {
		return v.reload()
	}
	v.reloadPending = true
	id := v.id
	return v.c.after(reloadThrottle-since, func(time.Time) tea.Msg { return reloadTick{id} })
}

func (v *Jobs) reload() tea.Cmd {
	v.lastReload = time.Now()
	var cmd tea.Cmd
	v.table, cmd = v.table.Reload()
	return tea.Batch(cmd, v.loadCounts())
}

func (v *Jobs) updatePrompt(k tea.KeyMsg) tea.Cmd {
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

func (v *Jobs) applyFilter(text string) tea.Cmd {
	where, err := parseListFilter(text, filter.Jobs)
	if err != nil {
		return ui.Flash(ui.FlashError, "%s", err)
	}
	v.filterText, v.where = strings.TrimSpace(text), where
	var cmd tea.Cmd
	v.table, cmd = v.table.SetSource(v.source())
	return cmd
}

func (v *Jobs) setSort(col int, desc bool) tea.Cmd {
	v.sortCol, v.desc = col, desc
	v.table = v.table.SetSort(jobColumns[col].SortKey, desc)
	var cmd tea.Cmd
	v.table, cmd = v.table.SetSource(v.source())
	return cmd
}

func (v *Jobs) handleKey(k tea.KeyMsg) tea.Cmd {
	keys := v.c.Keys
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
		if col < 0 || col >= len(jobColumns) {
			return nil
		}
		desc := v.desc
		if col == v.sortCol {
			desc = !desc
		}
		return v.setSort(col, desc)
	case key.Matches(k, keys.Get("sort_next")):
		return v.setSort((v.sortCol+1)%len(jobColumns), v.desc)
	case key.Matches(k, keys.Get("sort_prev")):
		return v.setSort((v.sortCol+len(jobColumns)-1)%len(jobColumns), v.desc)
	case key.Matches(k, keys.Get("sort_reverse")):
		return v.setSort(v.sortCol, !v.desc)
	case key.Matches(k, keys.Get("open")):
		row, ok := v.table.Selected()
		if !ok {
			return nil
		}
		return ui.Push(NewJobDetail(v.c, row.ID))
	}
	var cmd tea.Cmd
	v.table, cmd = v.table.Update(k)
	return cmd
}

var stateOrder = []string{"ERRORED", "RUNNING", "PENDING", "SCHEDULED", "BLOCKED", "INITIAL", "COMPLETED", "SKIPPED", "ABANDONED"}

// summaryLine is the live count per state above the table.
func (v *Jobs) summaryLine() string {
	t := v.c.Theme
	if v.countErr != nil {
		return t.FlashErr.Render("counts unavailable: " + v.countErr.Error())
	}
	if v.counts == nil {
		return t.Dim.Render("counting…")
	}
	var parts []string
	total := 0
	for _, s := range stateOrder {
		total += v.counts[s]
		if n := v.counts[s]; n > 0 {
			parts = append(parts, t.State(s).Render(s)+" "+thousands(n))
		}
	}
	return t.Dim.Render("jobs "+thousands(total)+" │ ") + strings.Join(parts, "  ")
}

func (v *Jobs) View() string {
	var b strings.Builder
	b.WriteString(ansi.Truncate(v.summaryLine(), v.w, "…"))
	b.WriteByte('\n')
	b.WriteString(v.table.View())
	b.WriteByte('\n')
	if v.prompt.Active() {
		b.WriteString(v.prompt.View(v.w))
	} else if v.filterText != "" {
		b.WriteString(v.c.Theme.Dim.Render(ansi.Truncate("/"+v.filterText, v.w, "…")))
	}
	return ui.Fit(b.String(), v.w, v.h)
}

// jobSource adapts store keyset queries to the virtual table.
type jobSource struct {
	c *Common
	q store.Query
}

func (s *jobSource) Page(ctx context.Context, after any, backward bool, n int) ([]vtable.Row, error) {
	var k *store.Key
	if after != nil {
		kk := after.(store.Key)
		k = &kk
	}
	rows, err := s.c.Store.Jobs(ctx, s.q, k, backward, n)
	if err != nil {
		return nil, err
	}
	out := make([]vtable.Row, len(rows))
	for i, r := range rows {
		out[i] = vtable.Row{
			Key:   store.JobKey(s.q, r),
			ID:    r.JobID,
			Style: r.State,
			Cells: []string{r.State, s.c.fmtTime(r.CreatedAt), r.IdentityName, r.ActionType, oneLine(r.ErrorMessage), r.ActionName, r.WorkflowName},
		}
	}
	return out, nil
}

func (s *jobSource) Count(ctx context.Context) (int, error) {
	return s.c.Store.Count(ctx, "jobs", s.q.Where)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

var filterOpWord = regexp.MustCompile(`(?i)(^|\s)(eq|ne|co|sw|ew|gt|ge|lt|le|pr|and|or|not)(\s|$|\()`)

// parseListFilter accepts a SCIM filter or, when the text does not look like
// one (no operator words, no quotes), plain text searched across the columns
// people look for: identity, action, workflow and error message.
func parseListFilter(text string, schema *filter.Schema) (filter.Node, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	n, err := filter.ParseFor(text, schema)
	if err == nil {
		return n, nil
	}
	if filterOpWord.MatchString(text) || strings.ContainsAny(text, `"()`) {
		return nil, err
	}
	var fields []string
	for _, f := range []string{"identity_name", "action_name", "workflow_name", "workflow", "error_message", "job_id"} {
		if _, ok := schema.Field(f); ok {
			fields = append(fields, fmt.Sprintf("%s co %q", f, text))
		}
	}
	return filter.ParseFor(strings.Join(fields, " or "), schema)
}

// filterCompleter offers field names, operators allowed for the field just
// typed, and enum values.
func filterCompleter(schema *filter.Schema) func(string) []string {
	return func(line string) []string {
		words := strings.Fields(line)
		if strings.HasSuffix(line, " ") {
			words = append(words, "")
		}
		if len(words) == 0 {
			return schema.Names()
		}
		prev := ""
		if len(words) >= 2 {
			prev = strings.TrimLeft(words[len(words)-2], "(")
		}
		if f, ok := schema.Field(prev); ok {
			var ops []string
			for _, o := range f.Ops {
				ops = append(ops, string(o))
			}
			return ops
		}
		switch strings.ToLower(prev) {
		case "", "and", "or", "not":
			return schema.Names()
		}
		if len(words) >= 3 {
			if f, ok := schema.Field(strings.TrimLeft(words[len(words)-3], "(")); ok && f.Kind == filter.KindEnum {
				out := make([]string, len(f.Values))
				for i, v := range f.Values {
					out[i] = `"` + v + `"`
				}
				return out
			}
		}
		return []string{"and", "or"}
	}
}

func tableKeys(k *keymap.Map) vtable.KeyMap {
	return vtable.KeyMap{
		Up: k.Get("up"), Down: k.Get("down"), PageUp: k.Get("page_up"), PageDown: k.Get("page_down"),
		HalfUp: k.Get("half_up"), HalfDown: k.Get("half_down"), Top: k.Get("top"), Bottom: k.Get("bottom"),
	}
}

func tableStyles(t *ui.Theme) vtable.Styles {
	tags := map[string]lipgloss.Style{}
	for k, s := range t.States {
		tags[k] = s
	}
	s := vtable.DefaultStyles()
	s.Header, s.Cell, s.Selected, s.Dim, s.Error, s.RowTag = t.TableHeader, t.Cell, t.Selected, t.Dim, t.FlashErr, tags
	return s
}
