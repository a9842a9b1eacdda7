package views

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

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
type Jobs = List

var jobsSpec = &listSpec{
	storeText: true,
	entity:    store.EntityJobs, noun: "jobs", title: "Jobs", schema: filter.Jobs,
	columns: jobColumns, sortCol: 1, states: stateOrder,
	page: func(ctx context.Context, c *Common, q store.Query, after *store.Key, backward bool, n int) ([]vtable.Row, error) {
		rows, err := c.Store.Jobs(ctx, q, after, backward, n)
		if err != nil {
			return nil, err
		}
		out := make([]vtable.Row, len(rows))
		sigs := make([]string, len(rows))
		defer func() { decorateAcks(ctx, c.Store, store.EntityJobs, out, sigs) }()
		for i, r := range rows {
			sigs[i] = r.ErrorSignature
			out[i] = vtable.Row{
				Key:   store.JobKey(q, r),
				ID:    r.JobID,
				Style: r.State,
				Cells: []string{r.State, c.fmtTime(r.CreatedAt), r.IdentityName, r.ActionType, oneLine(r.ErrorMessage), r.ActionName, r.WorkflowName},
			}
		}
		return out, nil
	},
	open: func(v *List, row vtable.Row) tea.Cmd {
		k, _ := row.Key.(store.Key)
		return ui.Push(newJobDetailAt(v.c, row.ID, k.RowID))
	},
	records: recordsOf((*store.Store).Jobs, store.JobKey),
	help:    []string{keymap.Triage},
	rowJSON: func(ctx context.Context, c *Common, id string) ([]byte, error) {
		j, err := c.Store.Job(ctx, id)
		if err != nil {
			return nil, err
		}
		return jobJSON(j), nil
	},
}

// The specs refer to each other through their drill-downs (jobs → task →
// actions → jobs): the links are set here to keep the vars acyclic.
func init() {
	jobsSpec.keys = func(v *List, k tea.KeyMsg) (tea.Cmd, bool) {
		r, ok := v.Selected()
		if !ok {
			return nil, false
		}
		return jobKeys(v.c, v, r.ID, k)
	}
}

// NewJobs opens the jobs list with an initial filter (SCIM or free text;
// may be "").
func NewJobs(c *Common, filterText string) (*Jobs, error) {
	return newList(c, jobsSpec, nil, "", filterText)
}

// newScopedJobs opens the jobs of a drill-down scope (a task, an action).
func newScopedJobs(c *Common, scope filter.Node, label string) (*Jobs, error) {
	return newList(c, jobsSpec, scope, label, "")
}

var stateOrder = []string{"ERRORED", "RUNNING", "PENDING", "SCHEDULED", "BLOCKED", "INITIAL", "COMPLETED", "SKIPPED", "ABANDONED"}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

var filterOpWord = regexp.MustCompile(`(?i)(^|\s)(eq|ne|co|sw|ew|gt|ge|lt|le|pr|and|or|not)(\s|$|\()`)

// parseListFilter accepts a SCIM filter or, when the text does not look like
// one (no operator words, no quotes), plain text searched across the columns
// people look for: identity, action, workflow and error message.
func parseListFilter(text string, schema *filter.Schema) (filter.Node, error) {
	n, free, err := parseListInput(text, schema)
	if err != nil || !free {
		return n, err
	}
	var fields []string
	for _, f := range []string{"identity_name", "action_name", "workflow_name", "workflow", "error_message", "job_id", "name", "description", "message"} {
		if _, ok := schema.Field(f); ok {
			fields = append(fields, fmt.Sprintf("%s co %q", f, strings.TrimSpace(text)))
		}
	}
	return filter.ParseFor(strings.Join(fields, " or "), schema)
}

// parseListInput tells a SCIM filter (parsed) from free text (free true,
// nil node): text with no operator words and no quotes or parentheses that
// does not parse as a filter.
func parseListInput(text string, schema *filter.Schema) (n filter.Node, free bool, err error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, false, nil
	}
	n, err = filter.ParseFor(text, schema)
	if err == nil {
		return n, false, nil
	}
	if filterOpWord.MatchString(text) || strings.ContainsAny(text, `"()`) {
		return nil, false, err
	}
	return nil, true, nil
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
