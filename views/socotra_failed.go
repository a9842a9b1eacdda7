package views

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/sync/socotra"
	"github.com/opsdeck/opsdeck/sync/socotra/wire"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/sanitize"
	"github.com/opsdeck/opsdeck/ui/vtable"
)

// Failed scheduled jobs (seed 004): the queued and quit lists as the last
// sync saw them, with resume (the trigger is re-queued) and delete (it is
// discarded) on the row under the cursor or on the rows marked with space.
// Both ask first, naming every trigger and group, and leave the list
// (upstream and in the cache) on success.

var socotraFailedColumns = []vtable.Column{
	{Title: "STATE", Width: 8, SortKey: "state"},
	{Title: "FAILS", Width: 7, Align: lipgloss.Right, SortKey: "failure_count"},
	{Title: "TRIGGER", Width: 0, Min: 20, SortKey: "trigger_name"},
	{Title: "GROUP", Width: 0, Min: 14, SortKey: "trigger_group"},
	{Title: "UPDATED", Width: 19, SortKey: "updated_at"},
	{Title: "CREATED", Width: 19, SortKey: "created_at"},
}

// socotraFailedGroups is how many trigger groups the header names.
const socotraFailedGroups = 4

func failedID(group, name string) string { return group + "\x1f" + name }

func splitFailedID(id string) (group, name string) {
	group, name, _ = strings.Cut(id, "\x1f")
	return group, name
}

// NewSocotraFailed lists the failed scheduled jobs, most recently updated
// first, with an initial filter (SCIM over filter.SocotraFailed, or free
// text over trigger names and groups).
func NewSocotraFailed(c *Common, filterText string) (ui.View, error) {
	var w *socotraList
	spec := &listSpec{
		entity: store.EntitySocotraFailed, noun: "failed jobs", title: "Failed jobs", schema: filter.SocotraFailed,
		columns: socotraFailedColumns, sortCol: 4, help: []string{keymap.Socotra},
		page: func(ctx context.Context, c *Common, q store.Query, after *store.Key, backward bool, n int) ([]vtable.Row, error) {
			rows, err := c.Store.SocotraFailed(ctx, q, after, backward, n)
			if err != nil {
				return nil, err
			}
			out := make([]vtable.Row, len(rows))
			for i, r := range rows {
				out[i] = vtable.Row{Key: store.SocotraFailedKey(q, r), ID: failedID(r.TriggerGroup, r.TriggerName), Style: "f:" + r.State,
					Cells: []string{r.State, fmt.Sprint(r.FailureCount), r.TriggerName, r.TriggerGroup, c.fmtTime(r.UpdatedAt), c.fmtTime(r.CreatedAt)}}
			}
			// Acknowledged failed jobs (a, as in the jobs triage) carry ✓.
			decorateAcks(ctx, c.Store, store.EntitySocotraFailed, out, make([]string, len(out)))
			return out, nil
		},
		records: recordsOf((*store.Store).SocotraFailed, store.SocotraFailedKey),
		keys: func(v *List, k tea.KeyMsg) (tea.Cmd, bool) {
			switch {
			case key.Matches(k, v.c.Keys.Get("socotra_resume")):
				return w.failedAction("resume"), true
			case key.Matches(k, v.c.Keys.Get("socotra_delete")):
				return w.failedAction("delete"), true
			}
			return nil, false
		},
	}
	w, err := newSocotraList(c, spec, nil, "", filterText, []string{"trigger_name", "trigger_group"})
	if err != nil {
		return nil, err
	}
	w.header = func(ctx context.Context) (string, error) { return failedHeader(ctx, c) }
	return w, nil
}

// failedHeader: the queued/quit counts (maintained counters) and the
// trigger groups with the most failed jobs.
func failedHeader(ctx context.Context, c *Common) (string, error) {
	counts, err := c.Store.StateCounts(ctx, store.EntitySocotraFailed)
	if err != nil {
		return "", err
	}
	groups, err := c.Store.SocotraFailedGroups(ctx, socotraFailedGroups+1)
	if err != nil {
		return "", err
	}
	t := c.Theme
	tags := socotraStyles(t).RowTag
	total := counts[wire.FailedQueued] + counts[wire.FailedQuit]
	line := t.Dim.Render("failed jobs "+thousands(total)+" │ ") +
		tags["f:queued"].Render("queued") + " " + thousands(counts[wire.FailedQueued]) + "  " +
		tags["f:quit"].Render("quit") + " " + thousands(counts[wire.FailedQuit])
	if len(groups) > 0 {
		var parts []string
		for i, g := range groups {
			if i == socotraFailedGroups {
				parts = append(parts, "…")
				break
			}
			parts = append(parts, sanitize.Line(shortGroup(g.Value))+" "+thousands(g.N))
		}
		line += t.Dim.Render(" │ by group: ") + strings.Join(parts, "  ")
	}
	return line, nil
}

// shortGroup shortens the locator in "policy:<locator>".
func shortGroup(g string) string {
	kind, loc, ok := strings.Cut(g, ":")
	if !ok {
		return shortID(g)
	}
	return kind + ":" + shortID(loc)
}

// canWriteSocotra: resume and delete need a Socotra connection and a
// writable profile.
func (c *Common) canWriteSocotra() (bool, string) {
	switch {
	case c.ReadOnly:
		return false, "read-only mode (--read-only): actions are disabled"
	case c.Socotra == nil:
		return false, "offline: resume and delete need a connection to the Socotra tenant"
	}
	return true, ""
}

// failedAction confirms, then resumes or deletes the marked failed jobs
// (or the one under the cursor).
func (w *socotraList) failedAction(verb string) tea.Cmd {
	c := w.c
	if ok, why := c.canWriteSocotra(); !ok {
		return ui.Flash(ui.FlashWarn, "cannot %s: %s", verb, why)
	}
	ids := w.Marked()
	if len(ids) == 0 {
		return ui.Flash(ui.FlashWarn, "no failed job selected")
	}
	jobs := make([][2]string, len(ids))
	var b strings.Builder
	for i, id := range ids {
		g, n := splitFailedID(id)
		jobs[i] = [2]string{g, n}
		if i == 8 {
			fmt.Fprintf(&b, "… and %d more\n", len(ids)-i)
		} else if i < 8 {
			fmt.Fprintf(&b, "• %s  (group %s)\n", sanitize.Line(n), sanitize.Line(g))
		}
	}
	what := map[string]string{
		"resume": "Resume re-queues each trigger, which leaves the failed list",
		"delete": "Delete discards each failed job for good",
	}[verb]
	title := fmt.Sprintf("%s %d failed job%s?", capitalize(verb), len(jobs), plural(len(jobs)))
	if len(jobs) == 1 {
		title = fmt.Sprintf("%s failed job %s?", capitalize(verb), sanitize.Line(jobs[0][1]))
	}
	body := what + " on " + sanitize.Line(c.Socotra.BaseURL()) + ":\n" + strings.TrimRight(b.String(), "\n")
	return ui.Confirmed(c.Theme, w, title, body, capitalize(verb), func() tea.Cmd { return w.runFailed(verb, jobs) })
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// socotraActedMsg reports a resume/delete run to the list that started it.
type socotraActedMsg struct {
	id    int64
	level ui.FlashLevel
	text  string
}

func (w *socotraList) runFailed(verb string, jobs [][2]string) tea.Cmd {
	c, id := w.c, w.id
	do := socotra.ResumeFailed
	if verb == "delete" {
		do = socotra.DeleteFailed
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		var failed []string
		done, gone := 0, 0
		for _, j := range jobs {
			out, err := do(ctx, c.Store, c.Socotra, j[0], j[1])
			switch {
			case err != nil:
				failed = append(failed, j[1]+": "+err.Error())
			case out == socotra.Already:
				gone++
			default:
				done++
			}
		}
		if c.Log != nil {
			c.Log.Info("socotra failed-job action", "verb", verb, "done", done, "already_gone", gone, "failed", len(failed))
		}
		text := fmt.Sprintf("%s: %d failed job%s done", verb, done, plural(done))
		if gone > 0 {
			text += fmt.Sprintf(", %d no longer failing upstream", gone)
		}
		if len(failed) == 0 {
			return socotraActedMsg{id: id, level: ui.FlashInfo, text: text + "; the cache has the new list"}
		}
		return socotraActedMsg{id: id, level: ui.FlashError,
			text: fmt.Sprintf("%s: %d of %d failed — %s", verb, len(failed), len(jobs), strings.Join(failed, "; "))}
	}
}

// actedUpdate handles the end of a resume/delete: marks go (the rows they
// named have left or been tried), the flash says what happened.
func (w *socotraList) actedUpdate(m socotraActedMsg) tea.Cmd {
	w.ClearMarks()
	return tea.Batch(ui.Flash(m.level, "%s", m.text), w.reload(), w.loadHeader())
}
