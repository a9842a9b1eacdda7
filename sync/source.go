package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// cursor is what a source stores in sync_cursors, in the same transaction as
// the page it follows. Times are RFC 3339 (UTC, nanoseconds kept).
//
//   - PageToken: where the pass in progress resumes; "" once a pass is complete.
//   - Since: the lower bound (filter) the pass in progress was started with;
//     "" for a full pass.
//   - Watermark: the newest sort time fully stored. The next pass starts from
//     it (minus Overlap): rows at the watermark are fetched again and the
//     upsert finds them unchanged.
//   - OpenSince: the oldest sort time of a row the pass saw in a non-terminal
//     state. The next pass starts no later than that (within ReopenWindow),
//     so a RUNNING job is fetched again until the cache sees it finish.
type cursor struct {
	PageToken string `json:"page_token"`
	Since     string `json:"since,omitempty"`
	Watermark string `json:"watermark"`
	OpenSince string `json:"open_since,omitempty"`
}

// source syncs one list endpoint (W: wire type) into one table (R: row type).
type source[W, R any] struct {
	e         *Engine
	src       string // Progress.Source
	cursorKey string // sync_cursors.source
	sortField string // order_by and watermark filter field
	details   bool
	list      func(context.Context, veza.ListParams) (veza.ListPage[veza.Record[W]], error)
	convert   func(veza.Record[W]) R
	write     func(context.Context, []R, *store.Cursor) (store.WriteStats, error)
	key       func(*W) *time.Time // the sort field; nil when unset
	open      func(*W) bool
	// bulk names the table a first pass into it while empty loads in the
	// store's bulk mode (store.BeginBulk); "" for none.
	bulk string
	// raw, when set, is list in two steps: the pager then requests the
	// next page while this one is decoded (veza.NewPrefetchPager).
	raw *veza.RawLister[veza.Record[W]]
}

// pager starts a pass at params.
func (s *source[W, R]) pager(params veza.ListParams) *veza.Pager[veza.Record[W]] {
	if s.raw != nil {
		return veza.NewPrefetchPager(params, *s.raw)
	}
	return veza.NewPager(params, s.list)
}

func (s *source[W, R]) name() string { return s.src }

// batch is one page on its way from the fetcher to the writer.
type batch[R any] struct {
	rows []R
	n    int    // values on the page
	cur  cursor // cursor to commit with the rows
	err  error  // fetch failed; nothing else is set
}

// run is one pass over the source: a fetch goroutine pages through the list
// and converts, while this goroutine writes each page and its cursor in one
// transaction. An error from either side stops both; everything committed
// before it stays, and the cursor points just past it.
func (s *source[W, R]) run(ctx context.Context, progress func(Progress)) (err error) {
	p := Progress{Source: s.src, Total: -1}
	began := time.Now()
	defer func() {
		if err != nil {
			err = fmt.Errorf("sync %s: %w", s.src, err)
		}
		p.Done, p.Err = true, err
		s.e.log.Info("sync: source finished", "source", s.src, "pages", p.Pages, "rows", p.Rows,
			"inserted", p.Stats.Inserted, "updated", p.Stats.Updated, "unchanged", p.Stats.Unchanged,
			"dur", time.Since(began).Round(time.Millisecond), "err", err)
		progress(p)
	}()

	start, err := s.loadCursor(ctx)
	if err != nil {
		return err
	}
	if s.bulk != "" {
		if start == (cursor{}) {
			if _, err := s.e.st.BeginBulk(ctx, s.bulk); err != nil {
				return err
			}
		}
		// Whatever ends this run but a cancel (the user's, or a kill) ends
		// a bulk load: the TUI must not wait for the next sync to get its
		// indexes back. A cancelled run resumes the load.
		defer func() {
			if err != nil && ctx.Err() == nil {
				if _, e := s.e.st.EndBulk(context.WithoutCancel(ctx), s.bulk); e != nil {
					s.e.log.Warn("sync: ending the bulk load", "source", s.src, "err", e)
				}
			}
		}()
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan batch[R], pipeDepth)
	go s.fetch(fctx, start, ch)
	// Whatever happens, wait for the fetcher to leave before returning, so no
	// request outlives Run.
	defer func() {
		cancel()
		for range ch {
		}
	}()

	for b := range ch {
		if b.err != nil {
			return b.err
		}
		raw, _ := json.Marshal(b.cur)
		st, err := s.write(ctx, b.rows, &store.Cursor{Source: s.cursorKey, Value: string(raw)})
		if err != nil {
			return err
		}
		p.Pages++
		p.Rows += b.n
		p.Stats.Inserted += st.Inserted
		p.Stats.Updated += st.Updated
		p.Stats.Unchanged += st.Unchanged
		progress(p)
		if err := ctx.Err(); err != nil {
			// The store may commit after a cancel that races its last
			// statement; stop here rather than start another page.
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.bulk != "" {
		if bulk, err := s.e.st.Bulk(ctx, s.bulk); err != nil {
			return err
		} else if bulk {
			p.Indexing = true
			progress(p)
			p.Indexing = false
			removed, err := s.e.st.EndBulk(ctx, s.bulk)
			if err != nil {
				return err
			}
			p.Stats.Inserted -= int(removed) // a row sent twice was stored once
		}
	}
	return nil
}

// loadCursor reads the saved cursor. An unreadable cursor is not fatal: a
// full pass re-fetches everything and the upsert makes that harmless.
func (s *source[W, R]) loadCursor(ctx context.Context) (cursor, error) {
	v, ok, err := s.e.st.GetCursor(ctx, s.cursorKey)
	if err != nil || !ok {
		return cursor{}, err
	}
	var c cursor
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		s.e.log.Warn("sync: unreadable cursor, starting a full pass", "source", s.src, "err", err)
		return cursor{}, nil
	}
	for _, t := range []string{c.Since, c.Watermark, c.OpenSince} {
		if _, err := parseTime(t); err != nil {
			s.e.log.Warn("sync: unreadable cursor time, starting a full pass", "source", s.src, "err", err)
			return cursor{}, nil
		}
	}
	return c, nil
}

// pass is the fetcher's running state.
type pass struct {
	since     time.Time // filter bound; zero: full pass
	watermark time.Time // newest sort time seen (or stored before)
	openSince time.Time // oldest sort time of a non-terminal row this pass
}

func (ps *pass) cursor(token string) cursor {
	return cursor{PageToken: token, Since: fmtTime(ps.since), Watermark: fmtTime(ps.watermark), OpenSince: fmtTime(ps.openSince)}
}

// nextSince is where a new pass starts, given a completed pass's cursor.
func (s *source[W, R]) nextSince(c cursor) time.Time {
	wm, _ := parseTime(c.Watermark)
	if wm.IsZero() {
		return time.Time{}
	}
	since := wm.Add(-s.e.overlap)
	if open, _ := parseTime(c.OpenSince); !open.IsZero() && s.e.reopen > 0 && open.Before(since) {
		since = maxTime(open, wm.Add(-s.e.reopen))
	}
	return since
}

func (s *source[W, R]) params(ps *pass, token string) veza.ListParams {
	p := veza.ListParams{OrderBy: s.sortField + " asc", PageSize: s.e.pageSize, PageToken: token, Details: s.details}
	if !ps.since.IsZero() {
		p.Filter = fmt.Sprintf("%s ge %q", s.sortField, fmtTime(ps.since))
	}
	return p
}

// fetch pages through the list and sends converted pages on ch, closing it
// when done. It owns the pass state; the writer only commits what it sends.
func (s *source[W, R]) fetch(ctx context.Context, c cursor, ch chan<- batch[R]) {
	defer close(ch)
	send := func(b batch[R]) bool {
		select {
		case ch <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}

	ps := &pass{}
	ps.watermark, _ = parseTime(c.Watermark)
	resuming := c.PageToken != ""
	if resuming {
		ps.since, _ = parseTime(c.Since)
		ps.openSince, _ = parseTime(c.OpenSince)
	} else {
		ps.since = s.nextSince(c)
	}
	pager := s.pager(s.params(ps, c.PageToken))
	// No request outlives the pass (a prefetch may be in flight).
	defer func() { pager.Close() }()
	first := true
	for pager.More() {
		page, err := pager.Next(ctx)
		if err != nil && first && resuming && isStaleToken(err) {
			// The saved token expired. An incremental pass is short: run it
			// again from its own bound. A full pass restarts from what it
			// has already stored (and any open row it saw).
			if !ps.since.IsZero() {
				ps.openSince = time.Time{}
			} else {
				ps.since = s.nextSince(ps.cursor(""))
			}
			s.e.log.Warn("sync: saved page token refused, restarting the pass", "source", s.src,
				"since", fmtTime(ps.since), "err", err)
			resuming = false
			pager.Close()
			pager = s.pager(s.params(ps, ""))
			continue
		}
		first = false
		if err != nil {
			send(batch[R]{err: err})
			return
		}
		rows := make([]R, 0, len(page.Values))
		for _, rec := range page.Values {
			rows = append(rows, s.convert(rec))
			if k := s.key(&rec.Value); k != nil && !k.IsZero() {
				t := k.UTC()
				if t.After(ps.watermark) {
					ps.watermark = t
				}
				if s.open(&rec.Value) && (ps.openSince.IsZero() || t.Before(ps.openSince)) {
					ps.openSince = t
				}
			}
		}
		token := ""
		if pager.More() {
			token = pager.Token()
		}
		if !send(batch[R]{rows: rows, n: len(page.Values), cur: ps.cursor(token)}) {
			return
		}
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
