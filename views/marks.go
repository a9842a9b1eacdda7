package views

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/vtable"
)

// Triage marks in the jobs and tasks lists: `a` acknowledges (or, when all
// are acknowledged already, un-acknowledges) the marked rows or the row
// under the cursor, with an optional note; `]` jumps to the next ERRORED row
// nobody has acknowledged. Marks are local to this cache (the tenant never
// hears of them) and sync never touches them.

// ackedSuffix is appended to the state cell of an acknowledged row.
const ackedSuffix = " ✓"

// markEntity is the marks entity of a list, "" when it has none.
func markEntity(entity string) string {
	switch entity {
	case store.EntityJobs:
		return store.MarkJobs
	case store.EntityTasks:
		return store.MarkTasks
	case store.EntitySocotraFailed:
		return store.MarkSocotraFailed
	}
	return ""
}

// decorateAcks flags the rows of a page that are acknowledged, directly or
// through their error group. One query per page and kind.
func decorateAcks(ctx context.Context, st *store.Store, entity string, rows []vtable.Row, sigs []string) {
	if len(rows) == 0 {
		return
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	own, err := st.Marks(ctx, markEntity(entity), ids)
	if err != nil {
		return // marks are decoration: the rows matter more
	}
	var groups map[string]store.Mark
	var want []string
	for _, s := range sigs {
		if s != "" {
			want = append(want, s)
		}
	}
	if len(want) > 0 {
		groups, _ = st.Marks(ctx, store.MarkGroup, want)
	}
	for i := range rows {
		_, a := own[rows[i].ID]
		_, g := groups[sigs[i]]
		if (a || g) && len(rows[i].Cells) > 0 {
			rows[i].Cells[0] += ackedSuffix
		}
	}
}

// ackKeys handles `a` and `]` for lists that have marks.
func (v *List) ackKeys(k tea.KeyMsg) (tea.Cmd, bool) {
	ent := markEntity(v.spec.entity)
	if ent == "" {
		return nil, false
	}
	switch {
	case key.Matches(k, v.c.Keys.Get("ack")):
		return v.toggleAck(ent), true
	case key.Matches(k, v.c.Keys.Get("next_unacked")) && ent != store.MarkSocotraFailed:
		return v.nextUnacked(), true
	}
	return nil, false
}

func (v *List) toggleAck(ent string) tea.Cmd {
	ids := v.Marked()
	if len(ids) == 0 {
		return nil
	}
	st := v.c.Store
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	marks, err := st.Marks(ctx, ent, ids)
	if err != nil {
		return ui.Flash(ui.FlashError, "%v", err)
	}
	noun := strings.TrimSuffix(v.spec.noun, "s")
	what := fmt.Sprintf("%d %s%s", len(ids), noun, plural(len(ids)))
	if len(ids) == 1 {
		what = noun + " " + shortID(ids[0])
	}
	if len(marks) == len(ids) {
		if err := st.UnackMany(ctx, ent, ids); err != nil {
			return ui.Flash(ui.FlashError, "%v", err)
		}
		v.ClearMarks()
		return tea.Batch(v.reload(), ui.Flash(ui.FlashInfo, "%s no longer acknowledged", what))
	}
	return v.ask("acknowledge "+what+" — note (optional, enter to skip): ", "", nil, func(note string) tea.Cmd {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := st.AckMany(ctx, ent, ids, strings.TrimSpace(note)); err != nil {
			return ui.Flash(ui.FlashError, "%v", err)
		}
		v.ClearMarks()
		return tea.Batch(v.reload(), ui.Flash(ui.FlashInfo, "acknowledged %s (a local mark in this cache; the tenant is not told)", what))
	})
}

// nextUnacked moves the cursor to the next ERRORED row that is not
// acknowledged, after the cursor (then from the top, once).
func (v *List) nextUnacked() tea.Cmd {
	var after *store.Key
	if r, ok := v.table.Selected(); ok {
		if k, ok := r.Key.(store.Key); ok {
			after = &k
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q := v.Query()
	id, k, ok, err := v.c.Store.NextUnacked(ctx, v.spec.entity, q, after)
	wrapped := false
	if err == nil && !ok && after != nil {
		id, k, ok, err = v.c.Store.NextUnacked(ctx, v.spec.entity, q, nil)
		wrapped = true
	}
	switch {
	case err != nil:
		return ui.Flash(ui.FlashError, "%v", err)
	case !ok:
		return ui.Flash(ui.FlashInfo, "every ERRORED %s here is acknowledged", strings.TrimSuffix(v.spec.noun, "s"))
	}
	if r, sel := v.table.Selected(); sel && r.ID == id {
		return ui.Flash(ui.FlashInfo, "this is the only unacknowledged ERRORED %s", strings.TrimSuffix(v.spec.noun, "s"))
	}
	var cmd tea.Cmd
	v.table, cmd = v.table.JumpTo(k, id)
	if wrapped {
		return tea.Batch(cmd, ui.Flash(ui.FlashInfo, "wrapped to the top"))
	}
	return cmd
}

// detailAck toggles the acknowledgement of one job from its detail view.
func detailAck(c *Common, jobID string) tea.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, acked, err := c.Store.Mark(ctx, store.MarkJobs, jobID)
	if err == nil {
		if acked {
			err = c.Store.Unack(ctx, store.MarkJobs, jobID)
		} else {
			err = c.Store.Ack(ctx, store.MarkJobs, jobID, "")
		}
	}
	if err != nil {
		return ui.Flash(ui.FlashError, "%v", err)
	}
	if acked {
		return tea.Batch(func() tea.Msg { return reloadMsg{} }, ui.Flash(ui.FlashInfo, "job %s no longer acknowledged", shortID(jobID)))
	}
	return tea.Batch(func() tea.Msg { return reloadMsg{} }, ui.Flash(ui.FlashInfo, "acknowledged job %s (a local mark; the tenant is not told)", shortID(jobID)))
}
