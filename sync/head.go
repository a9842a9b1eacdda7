package sync

import (
	"context"
	"fmt"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// headPages is how many pages of the newest jobs a first sync fetches
// before the oldest-first backfill: enough for the first screens of the
// ERRORED list to show what is failing now instead of a month ago.
const headPages = 3

// syncHead runs once, on a cache that has never synced jobs: it stores the
// newest jobs (newest first, with details) without touching the cursor. The
// resumable oldest-first pass that follows fetches them again and the upsert
// finds them unchanged, so the head costs a few requests and loses nothing
// if it fails: a failure here is logged, never fatal.
func (e *Engine) syncHead(ctx context.Context, progress func(Progress)) {
	if _, ok, err := e.st.GetCursor(ctx, "veza/jobs"); err != nil || ok {
		return
	}
	// The head is the first write of a first sync: the load starts here
	// (the pass stores these jobs again; the load keeps the last copy).
	if _, err := e.st.BeginBulkJobs(ctx); err != nil {
		e.log.Warn("sync: bulk load not started", "err", err)
	}
	p := Progress{Source: "jobs", Total: -1, Head: true}
	token := ""
	for range headPages {
		page, err := e.c.ListJobRecords(ctx, veza.ListParams{OrderBy: "created_at desc", PageSize: e.pageSize, PageToken: token, Details: e.details})
		if err != nil {
			e.log.Warn("sync: head of jobs failed, continuing with the full pass", "err", err)
			return
		}
		rows := make([]store.JobRow, 0, len(page.Values))
		for _, rec := range page.Values {
			rows = append(rows, jobRow(rec))
		}
		st, err := e.st.WriteJobs(ctx, rows, nil)
		if err != nil {
			e.log.Warn("sync: storing the head of jobs failed", "err", fmt.Sprint(err))
			return
		}
		p.Pages++
		p.Rows += len(rows)
		p.Stats.Inserted += st.Inserted
		progress(p)
		if !page.HasMore {
			return
		}
		token = page.NextPageToken
	}
}
