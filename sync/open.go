package sync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// The open-tasks source re-reads, one GET each, tasks the cache holds in a
// state they can still leave but that incremental passes no longer reach:
// created before the reopen window (a task restarted or unblocked days
// after it was created keeps its t_created_at, which the tasks list is
// ordered by). At most openBatch per sync, continuing where the last sync
// stopped (a rowid cursor), so a thousand BLOCKED tasks cost a few GETs
// per sync each, in turn.

func init() {
	extraSources = append(extraSources, func(e *Engine) runner { return &openTasksSource{e: e} })
}

const (
	openTasksCursorKey = "veza/open-tasks"
	openBatch          = 50
)

type openTasksSource struct{ e *Engine }

func (s *openTasksSource) name() string { return "open-tasks" }

func (s *openTasksSource) run(ctx context.Context, progress func(Progress)) (err error) {
	p := Progress{Source: "open-tasks", Total: -1}
	defer func() {
		if err != nil {
			err = fmt.Errorf("sync open-tasks: %w", err)
		}
		p.Done, p.Err = true, err
		progress(p)
	}()
	window := s.e.reopen
	if window <= 0 {
		window = defaultReopen
	}
	before := s.e.now().Add(-window).UnixMilli()
	after := int64(0)
	if v, ok, err := s.e.st.GetCursor(ctx, openTasksCursorKey); err == nil && ok {
		after, _ = strconv.ParseInt(v, 10, 64)
	}
	ids, rowids, err := s.e.st.OpenTasks(ctx, before, after, openBatch)
	if err != nil {
		return err
	}
	if len(ids) < openBatch && after > 0 {
		// The end of the table: wrap, so every open task comes round.
		more, moreRowids, err := s.e.st.OpenTasks(ctx, before, 0, openBatch-len(ids))
		if err != nil {
			return err
		}
		ids, rowids = append(ids, more...), append(rowids, moreRowids...)
	}
	if len(ids) == 0 {
		return nil
	}
	rows := make([]store.TaskRow, 0, len(ids))
	for _, id := range ids {
		rec, err := s.e.c.GetTask(ctx, id)
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return ctx.Err()
		}
		var ae *veza.APIError
		if errors.As(err, &ae) && ae.Status == 404 {
			continue // gone upstream: the cache keeps what it saw
		}
		if err != nil {
			return err
		}
		rows = append(rows, taskRow(rec))
	}
	cur := &store.Cursor{Source: openTasksCursorKey, Value: strconv.FormatInt(rowids[len(rowids)-1], 10)}
	st, err := s.e.st.WriteTasks(ctx, rows, cur)
	if err != nil {
		return err
	}
	p.Pages, p.Rows, p.Stats = 1, len(ids), st
	s.e.log.Info("sync: open tasks refreshed", "checked", len(ids), "updated", st.Updated, "at", time.Now().Format(time.RFC3339))
	return nil
}
