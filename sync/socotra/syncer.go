package socotra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/socotra/wire"
)

// Source names (opsync.Progress.Source, Options.Sources, `opsdeck sync
// --sources`).
const (
	SourceEvents = "socotra-events"
	SourceFailed = "socotra-failed"
)

// Cursor keys in sync_cursors. The events cursor is the stream's
// pagingToken as the API returned it; the failed cursor is the RFC 3339
// time of the last complete snapshot.
const (
	CursorEvents = "socotra/events"
	CursorFailed = "socotra/failed"
)

// Options tunes a Syncer. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	// PageSize is the pageSize of the first /events/list call (later
	// pages carry it in their token); 0 means 500.
	PageSize int
	// Start is the startTimestamp of the very first call, when the cache
	// has no cursor yet; zero means the Unix epoch: everything the API
	// still has.
	Start time.Time
	// Sources limits Run to these sources (nil: both).
	Sources []string
	// Now is the clock for last_sync and the failed snapshot's cursor.
	Now func() time.Time
}

// Syncer syncs one Socotra tenant into one store: the event stream (a
// tail that picks up where the stored pagingToken left it) and the failed
// scheduled jobs (a full snapshot each run). One Run at a time.
type Syncer struct {
	st       *store.Store
	c        *Client
	log      *slog.Logger
	pageSize int
	start    time.Time
	only     map[string]bool
	now      func() time.Time
	running  atomic.Bool
}

// ErrRunning is returned by Run while another Run of the same Syncer is
// in progress.
var ErrRunning = errors.New("socotra sync: already running")

const defaultPageSize = 500

// NewSyncer returns a syncer writing to st from c.
func NewSyncer(st *store.Store, c *Client, opts Options) *Syncer {
	s := &Syncer{st: st, c: c, log: opts.Logger, pageSize: opts.PageSize, start: opts.Start, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.pageSize <= 0 {
		s.pageSize = defaultPageSize
	}
	if s.start.IsZero() {
		s.start = time.Unix(0, 0)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if len(opts.Sources) > 0 {
		s.only = map[string]bool{}
		for _, n := range opts.Sources {
			s.only[n] = true
		}
	}
	return s
}

// EntityOf is the store entity a source writes (views.SyncedMsg.Entity),
// or "" for a name that is not a Socotra source.
func EntityOf(source string) string {
	switch source {
	case SourceEvents:
		return store.EntitySocotraEvents
	case SourceFailed:
		return store.EntitySocotraFailed
	}
	return ""
}

// SourceNames lists the sources Run syncs, in order.
func SourceNames() []string { return []string{SourceEvents, SourceFailed} }

// Run syncs the events, then the failed jobs, reporting progress after
// every committed page and once more with Done when a source finishes. A
// failing source does not keep the other from running; Run then returns
// the errors joined and leaves last_sync alone. When ctx is cancelled it
// stops at once: what was committed stays, with its cursor.
func (s *Syncer) Run(ctx context.Context, progress func(opsync.Progress)) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer s.running.Store(false)
	if progress == nil {
		progress = func(opsync.Progress) {}
	}
	var errs []string
	var joined []error
	for _, src := range []struct {
		name string
		run  func(context.Context, *opsync.Progress, func(opsync.Progress)) error
	}{{SourceEvents, s.syncEvents}, {SourceFailed, s.syncFailed}} {
		if s.only != nil && !s.only[src.name] {
			continue
		}
		p := opsync.Progress{Source: src.name, Total: -1}
		began := time.Now()
		err := src.run(ctx, &p, progress)
		if err != nil {
			err = fmt.Errorf("sync %s: %w", src.name, err)
		}
		p.Done, p.Err = true, err
		s.log.Info("sync: source finished", "source", src.name, "pages", p.Pages, "rows", p.Rows,
			"inserted", p.Stats.Inserted, "updated", p.Stats.Updated, "unchanged", p.Stats.Unchanged,
			"dur", time.Since(began).Round(time.Millisecond), "err", err)
		progress(p)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err.Error())
			joined = append(joined, err)
		}
	}
	if len(joined) > 0 {
		return &runError{msg: strings.Join(errs, "; "), errs: joined}
	}
	if err := s.st.SetMeta(ctx, store.MetaLastSync, s.now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("socotra sync: record last_sync: %w", err)
	}
	if err := s.st.SetMeta(ctx, store.MetaSourceURL, s.c.BaseURL()); err != nil {
		return fmt.Errorf("socotra sync: record source_url: %w", err)
	}
	return nil
}

// runError is errors.Join on one line: it ends up in a status bar.
type runError struct {
	msg  string
	errs []error
}

func (e *runError) Error() string   { return e.msg }
func (e *runError) Unwrap() []error { return e.errs }

// lateOverlap is how far before the newest cached event a stream restarts
// when the API refuses a stored token: a slow call's events carry a
// timestamp up to about 90 s before events that precede them (seed 004's
// note on ordering).
const lateOverlap = 5 * time.Minute

// syncEvents follows the stream from the stored token (or Start) until
// two pages in a row come back empty, committing each page with the token
// that follows it. The empty page's token is stored too: it is the tail
// cursor the next run polls. One empty page is not trusted to mean "caught
// up": a proxy or a struggling server can answer one mid-stream, and a
// second look costs one small request per sync.
func (s *Syncer) syncEvents(ctx context.Context, p *opsync.Progress, progress func(opsync.Progress)) error {
	token, _, err := s.st.GetCursor(ctx, CursorEvents)
	if err != nil {
		return err
	}
	q := EventsQuery{PagingToken: token}
	if token == "" {
		q = EventsQuery{Start: s.start, PageSize: s.pageSize}
	}
	resumed := token != ""
	empty := 0
	for {
		page, err := s.c.ListEvents(ctx, q)
		if err != nil && resumed && isRefusedToken(err) {
			// The stored token is no longer accepted (expired, or the
			// tenant was reset): start again a little before the newest
			// cached event; the upsert makes the overlap harmless.
			start, serr := s.restartFrom(ctx)
			if serr != nil {
				return serr
			}
			s.log.Warn("socotra sync: stored pagingToken refused, restarting from a timestamp", "start", start, "err", err)
			q, resumed = EventsQuery{Start: start, PageSize: s.pageSize}, false
			continue
		}
		if err != nil {
			return err
		}
		resumed = false
		rows := make([]store.SocotraEventRow, len(page.Events))
		for i := range page.Events {
			rows[i] = EventRow(&page.Events[i])
		}
		st, err := s.st.WriteSocotraEvents(ctx, rows, &store.Cursor{Source: CursorEvents, Value: page.PagingToken})
		if err != nil {
			return err
		}
		p.Pages++
		p.Rows += len(rows)
		p.Stats.Inserted += st.Inserted
		p.Stats.Updated += st.Updated
		p.Stats.Unchanged += st.Unchanged
		progress(*p)
		if len(page.Events) > 0 {
			empty = 0
		} else if empty++; empty == 2 {
			return nil // caught up; the stored token polls for newer events
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		q = EventsQuery{PagingToken: page.PagingToken}
	}
}

// isRefusedToken: the API rejected the request as malformed (400) or the
// token as gone (410), which on a token-only request means the token.
func isRefusedToken(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Status == 400 || ae.Status == 410)
}

func (s *Syncer) restartFrom(ctx context.Context) (time.Time, error) {
	newest, err := s.st.SocotraEvents(ctx, store.Query{Sort: "timestamp", Desc: true}, nil, false, 1)
	if err != nil {
		return time.Time{}, err
	}
	if len(newest) == 0 {
		return s.start, nil
	}
	return time.UnixMilli(newest[0].Timestamp).Add(-lateOverlap), nil
}

// syncFailed takes a snapshot of both failed lists and makes the cache
// hold exactly it.
func (s *Syncer) syncFailed(ctx context.Context, p *opsync.Progress, progress func(opsync.Progress)) error {
	var rows []store.SocotraFailedRow
	at := map[[2]string]int{}
	for _, state := range []string{wire.FailedQueued, wire.FailedQuit} {
		recs, err := s.c.AllFailedJobs(ctx, FailedList{State: state})
		if err != nil {
			return err
		}
		p.Pages++
		for i := range recs {
			r := FailedRow(&recs[i], state)
			k := [2]string{r.TriggerGroup, r.TriggerName}
			// A job that moved from queued to quit while we paged is in
			// both lists: the later answer wins.
			if j, ok := at[k]; ok {
				rows[j] = r
				continue
			}
			at[k] = len(rows)
			rows = append(rows, r)
		}
	}
	st, deleted, err := s.st.ReplaceSocotraFailed(ctx, rows, &store.Cursor{Source: CursorFailed, Value: s.now().UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	p.Rows, p.Total, p.Stats = len(rows), len(rows), st
	s.log.Debug("socotra sync: failed jobs", "rows", len(rows), "deleted", deleted)
	progress(*p)
	return nil
}

// EventRow converts an event as the client returns it to its cache row.
func EventRow(e *EventRecord) store.SocotraEventRow {
	data := []byte(e.DataJSON)
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	return store.SocotraEventRow{
		Locator: e.Locator, Timestamp: msOf(e.Timestamp), Type: e.Type, TypePrefix: store.SocotraTypePrefix(e.Type),
		User: e.UserLocator, RequestID: e.RequestID, Data: data, Raw: e.Raw,
	}
}

// FailedRow converts a failed job to its cache row; list is the state of
// the list it came from, used when the job does not say.
func FailedRow(r *Record[wire.FailedJobDetails], list string) store.SocotraFailedRow {
	d := &r.Value
	state := d.FailedJobState
	if state == "" {
		state = list
	}
	return store.SocotraFailedRow{
		TriggerGroup: d.TriggerGroup, TriggerName: d.TriggerName, State: strings.ToLower(state),
		FailureCount: int64(d.FailureCount), CreatedAt: msOf(d.CreatedAt), UpdatedAt: msOf(d.UpdatedAt),
		PolicyLocator: store.SocotraGroupPolicy(d.TriggerGroup), Raw: r.Raw,
	}
}

// ScheduledRow converts a scheduled policy event to its cache row.
func ScheduledRow(r *Record[wire.ScheduledPolicyEvent]) store.SocotraScheduledRow {
	d := &r.Value
	var next int64
	if d.NextEventTime != nil {
		next = msOf(*d.NextEventTime)
	}
	return store.SocotraScheduledRow{
		PolicyLocator: d.PolicyLocator, TransactionLocator: d.TransactionLocator, CustomEventID: d.CustomEventID,
		TriggerState: strings.ToUpper(d.TriggerState), NextEventTime: next, Raw: r.Raw,
	}
}

func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
