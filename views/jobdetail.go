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
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/jsontree"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// JobDetail shows one job's fields and its request/result payloads.
type JobDetail struct {
	c     *Common
	id    int64
	jobID string
	rowID int64 // where the list saw it (0: unknown), see store.JobAt
	w, h  int

	job     *store.JobRow
	err     error
	tree    jsontree.Model
	chord   keymap.Chord
	copyErr error
}

// NewJobDetail opens the detail of jobID; the row is read from the cache.
func NewJobDetail(c *Common, jobID string) *JobDetail {
	return &JobDetail{c: c, id: c.nextID(), jobID: jobID, tree: jsontree.New(treeKeys(c.Keys), treeStyles(c.Theme)).SetStatusLine(false)}
}

// newJobDetailAt is NewJobDetail for a job a list showed at rowID: read
// by rowid, it opens at once even while a first sync has no job_id index.
func newJobDetailAt(c *Common, jobID string, rowID int64) *JobDetail {
	v := NewJobDetail(c, jobID)
	v.rowID = rowID
	return v
}

type jobLoadedMsg struct {
	id  int64
	job store.JobRow
	err error
}

func (v *JobDetail) Init() tea.Cmd { return v.load() }

func (v *JobDetail) load() tea.Cmd {
	st, id, jobID, rowID := v.c.Store, v.id, v.jobID, v.rowID
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		j, err := st.JobAt(ctx, rowID, jobID)
		return jobLoadedMsg{id: id, job: j, err: err}
	}
}

func (v *JobDetail) Title() string { return "Job " + shortID(v.jobID) }

func (v *JobDetail) Capturing() bool { return v.tree.SearchActive() }

func (v *JobDetail) HelpCategories() []string {
	return []string{keymap.Detail, keymap.Triage, keymap.Table}
}

func (v *JobDetail) Status() string {
	if p := v.chord.Pending(); p != "" {
		return p + "- (v value, p path, y job)"
	}
	return v.tree.StatusText()
}

// fieldLines is how many lines the summary above the tree may take.
func (v *JobDetail) fieldLines() int {
	switch {
	case v.h >= 30:
		return 8
	case v.h >= 16:
		return 5
	default:
		return 0 // tiny terminal: the payload matters most
	}
}

func (v *JobDetail) SetSize(w, h int) ui.View {
	v.w, v.h = w, h
	v.tree = v.tree.SetSize(w, max(1, h-v.fieldLines()))
	return v
}

func (v *JobDetail) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	switch msg := msg.(type) {
	case jobLoadedMsg:
		if msg.id != v.id {
			return v, nil
		}
		if msg.err != nil {
			v.err = msg.err
			return v, nil
		}
		v.job, v.err = &msg.job, nil
		v.tree = v.tree.SetDocs(
			jsontree.Doc{Title: "request", JSON: payloadOrNull(msg.job.Request)},
			jsontree.Doc{Title: "result", JSON: payloadOrNull(msg.job.Result)},
		)
		return v, nil
	case reloadMsg:
		return v, v.load()
	case SyncedMsg:
		// The job may have changed state upstream; re-read quietly.
		if msg.Entity == "jobs" && v.job != nil && v.job.State != "ERRORED" && v.job.State != "COMPLETED" {
			return v, v.load()
		}
		return v, nil
	case tea.KeyMsg:
		if !v.tree.SearchActive() {
			if cmd, ok := jobKeys(v.c, v, v.jobID, msg); ok {
				return v, cmd
			}
			if key.Matches(msg, v.c.Keys.Get("ack")) {
				return v, detailAck(v.c, v.jobID)
			}
			fired, used := feedCopy(v.c, &v.chord, msg)
			if fired != "" {
				return v, v.copy(fired)
			}
			if used {
				return v, nil
			}
		}
	}
	var cmd tea.Cmd
	v.tree, cmd = v.tree.Update(msg)
	return v, cmd
}

func (v *JobDetail) copy(what string) tea.Cmd {
	return copyFromTree(v.c, v.tree, what, v.job != nil, "job "+v.jobID, func() []byte { return jobJSON(*v.job) })
}

// jobJSON is the job as a ticket wants it: the raw object with payloads.
func jobJSON(j store.JobRow) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(j.Raw, &m) != nil || m == nil {
		m = map[string]json.RawMessage{}
	}
	if len(j.Request) > 0 {
		m["request"] = j.Request
	}
	if len(j.Result) > 0 {
		m["result"] = j.Result
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return j.Raw
	}
	return b
}

func payloadOrNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

func (v *JobDetail) View() string {
	t := v.c.Theme
	if v.err != nil {
		msg := v.err.Error()
		if errors.Is(v.err, store.ErrNotFound) {
			msg = fmt.Sprintf("job %s is not in the cache", v.jobID)
		}
		return ui.Fit(t.FlashErr.Render(sanitize.Line(msg)), v.w, v.h)
	}
	if v.job == nil {
		return ui.Fit(t.Dim.Render("loading job "+sanitize.Line(v.jobID)+"…"), v.w, v.h)
	}
	var b strings.Builder
	if n := v.fieldLines(); n > 0 {
		b.WriteString(ui.Fit(v.fields(n), v.w, n))
		b.WriteByte('\n')
	}
	b.WriteString(v.tree.View())
	return ui.Fit(b.String(), v.w, v.h)
}

// fields lays out the job's summary in two columns of label: value.
func (v *JobDetail) fields(n int) string {
	t, j := v.c.Theme, v.job
	kv := [][2]string{
		{"job", j.JobID},
		{"state", j.State},
		{"action", j.ActionName + " (" + j.ActionType + ")"},
		{"identity", j.IdentityName + " · " + j.IdentityID},
		{"workflow", j.WorkflowName},
		{"task", j.PolicyTask},
		{"created", v.c.fmtTime(j.CreatedAt)},
		{"started", v.c.fmtTime(j.StartedAt)},
		{"completed", v.c.fmtTime(j.CompletedAt) + "  (" + v.c.fmtAgo(j.CompletedAt) + ")"},
		{"source", j.EventSource + " " + j.EventSourceID},
		{"extraction", j.ExtractionEventType + " " + j.ExtractionEvent},
		{"changes", fmt.Sprintf("any_changes=%v events_created=%d", j.AnyChanges, j.EventsCreated)},
	}
	render := func(p [2]string, w int) string {
		val := sanitize.Line(p[1])
		if p[0] == "state" {
			val = t.State(j.State).Render(val)
		}
		return ansi.Truncate(t.Label.Render(fmt.Sprintf("%-10s ", p[0]))+val, w, "…")
	}
	var lines []string
	errLines := 0
	if j.ErrorMessage != "" {
		errLines = 1
	}
	rows := n - errLines
	if v.w >= 100 {
		colW := v.w / 2
		for i := 0; i < rows && i < (len(kv)+1)/2; i++ {
			l := padCells(render(kv[i], colW-1), colW)
			if k := i + (len(kv)+1)/2; k < len(kv) {
				l += render(kv[k], colW)
			}
			lines = append(lines, l)
		}
	} else {
		for i := 0; i < rows && i < len(kv); i++ {
			lines = append(lines, render(kv[i], v.w))
		}
	}
	if errLines > 0 {
		lines = append(lines, ansi.Truncate(t.Label.Render("error      ")+t.FlashErr.Render(sanitize.Line(j.ErrorMessage)), v.w, "…"))
	}
	return strings.Join(lines, "\n")
}

func padCells(s string, w int) string {
	if d := w - ansi.StringWidth(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

func shortID(id string) string {
	id = sanitize.Line(id)
	if len(id) > 13 {
		return id[:8] + "…"
	}
	return id
}

func treeKeys(k *keymap.Map) jsontree.KeyMap {
	return jsontree.KeyMap{
		Up: k.Get("up"), Down: k.Get("down"), PageUp: k.Get("page_up"), PageDown: k.Get("page_down"),
		Top: k.Get("top"), Bottom: k.Get("bottom"), Toggle: k.Get("toggle"), Expand: k.Get("expand"),
		Collapse: k.Get("collapse"), ToggleAll: k.Get("toggle_all"), Search: k.Get("search"),
		Next: k.Get("next_match"), Prev: k.Get("prev_match"),
	}
}

func treeStyles(t *ui.Theme) jsontree.Styles {
	s := jsontree.DefaultStyles()
	s.Key, s.Index, s.String, s.Number, s.Bool = t.JSONKey, t.JSONPunct, t.JSONString, t.JSONNumber, t.JSONBool
	s.Null, s.Punct, s.Selected, s.Match, s.Error, s.Status = t.JSONNull, t.JSONPunct, t.Selected, t.Match, t.FlashErr, t.Dim
	return s
}
