package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// The Veza system events source (seed 002, API-CONTRACT.md §1.6). Events
// come from the export, whose next_page_token is a tail cursor: the first
// call asks for everything persisted since a start time, every later call
// (in this run or the next) sends only the token, so new events arrive
// without gaps and without overlap. The token is committed with each page.
//
// Two answers of the export are part of the protocol, not failures:
// ResourceExhaused [sic] means wait one minute and ask again, and a start
// time older than the one-month retention is refused with a 400 naming the
// oldest valid time, from which the pass restarts.

func init() {
	extraSources = append(extraSources, func(e *Engine) runner { return &eventsSource{e: e} })
}

// eventsTuning holds the events source's knobs; the zero value is what
// production uses. Tests set them on the Engine.
type eventsTuning struct {
	pageSize int           // 0: the API's default, 1,000; at most 10,000
	window   time.Duration // how far back a first sync reaches; 0: the whole retention
	// sleep waits out a ResourceExhausted answer; nil: a real timer.
	sleep func(ctx context.Context, d time.Duration) error
	// noHead skips the first sync's newest-events head.
	noHead bool
}

const (
	eventsCursorKey = "veza/events"
	// exhaustedWait is seed 002's "wait for one minute before retrying".
	exhaustedWait = time.Minute
	// maxExhaustedWaits bounds the waits in a row: after that the run
	// fails and the next one resumes from the committed token, so a tenant
	// that stays exhausted cannot hold the other sources back for long.
	maxExhaustedWaits = 3
	// maxRetentionRestarts bounds restarts from a named oldest time: the
	// retention boundary moves on while we ask, so one more can be needed.
	maxRetentionRestarts = 5
	// eventsRestartOverlap is how far before the newest stored timestamp a
	// pass restarts when it has no usable token: events are filtered by
	// persisted_at, which trails the timestamp by an unpublished lag.
	eventsRestartOverlap = 15 * time.Minute
	// maxEmptyRepeats is how many empty pages in a row may hand back the
	// token they were asked with before the pass gives up.
	maxEmptyRepeats = 5
)

// retentionProbe starts a first sync that wants all the server keeps: it is
// older than any retention, so the server answers with the oldest valid
// time in its own clock (seed 002), and ours may be off.
var retentionProbe = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// eventsCursor is what the source stores in sync_cursors. Times are RFC
// 3339 (UTC).
//
//   - PageToken: the export's tail token; "" before the first page (or when
//     the server sent none).
//   - Since: the persisted_at bound the token's chain was started from.
//   - Watermark: the newest event timestamp stored; a pass without a usable
//     token restarts a little before it.
type eventsCursor struct {
	PageToken string `json:"page_token"`
	Since     string `json:"since,omitempty"`
	Watermark string `json:"watermark"`
}

type eventsSource struct{ e *Engine }

func (s *eventsSource) name() string { return "events" }

type eventsBatch struct {
	rows []store.EventRow
	cur  eventsCursor
	err  error
}

func (s *eventsSource) pageSize() int {
	n := s.e.ev.pageSize
	switch {
	case n <= 0:
		return veza.DefaultEventPageSize
	case n > veza.MaxEventPageSize:
		return veza.MaxEventPageSize
	}
	return n
}

func (s *eventsSource) sleep(ctx context.Context, d time.Duration) error {
	if s.e.ev.sleep != nil {
		return s.e.ev.sleep(ctx, d)
	}
	return sleepCtx(ctx, d)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// run is one pass: a fetch goroutine follows the export until it has
// caught up, while this goroutine writes each page with its token in one
// transaction. Everything committed before an error stays, and the next
// run continues from the last committed token.
func (s *eventsSource) run(ctx context.Context, progress func(Progress)) (err error) {
	p := Progress{Source: "events", Total: -1}
	began := time.Now()
	defer func() {
		if err != nil {
			err = fmt.Errorf("sync events: %w", err)
		}
		p.Done, p.Err = true, err
		s.e.log.Info("sync: source finished", "source", "events", "pages", p.Pages, "rows", p.Rows,
			"inserted", p.Stats.Inserted, "updated", p.Stats.Updated, "unchanged", p.Stats.Unchanged,
			"dur", time.Since(began).Round(time.Millisecond), "err", err)
		progress(p)
	}()

	cur, fresh, err := s.loadCursor(ctx)
	if err != nil {
		return err
	}
	if fresh && !s.e.ev.noHead {
		s.head(ctx, progress)
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan eventsBatch, pipeDepth)
	go s.fetch(fctx, cur, ch)
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
		st, err := s.e.st.WriteEvents(ctx, b.rows, &store.Cursor{Source: eventsCursorKey, Value: string(raw)})
		if err != nil {
			return err
		}
		p.Pages++
		p.Rows += len(b.rows)
		p.Stats.Inserted += st.Inserted
		p.Stats.Updated += st.Updated
		p.Stats.Unchanged += st.Unchanged
		progress(p)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// head stores the newest page of events on a cache that has none, before
// the oldest-first export catches up to them: the events view (and follow
// mode) shows what happens now at once. It commits no cursor; the export
// later fetches these events again and finds them unchanged. A failure is
// logged, never fatal.
func (s *eventsSource) head(ctx context.Context, progress func(Progress)) {
	page, err := s.e.c.ListEvents(ctx, veza.EventParams{OrderBy: "timestamp desc", PageSize: s.pageSize()})
	if err != nil {
		if ctx.Err() == nil {
			s.e.log.Warn("sync: head of events failed, continuing with the export", "err", err)
		}
		return
	}
	rows := make([]store.EventRow, len(page.Values))
	for i, rec := range page.Values {
		rows[i] = eventRow(rec)
	}
	st, err := s.e.st.WriteEvents(ctx, rows, nil)
	if err != nil {
		s.e.log.Warn("sync: head of events not stored", "err", err)
		return
	}
	progress(Progress{Source: "events", Head: true, Pages: 1, Rows: len(rows), Total: -1, Stats: st})
}

// loadCursor reads the saved cursor; fresh means there is none. An
// unreadable cursor starts over (the upsert makes that harmless).
func (s *eventsSource) loadCursor(ctx context.Context) (c eventsCursor, fresh bool, err error) {
	v, ok, err := s.e.st.GetCursor(ctx, eventsCursorKey)
	if err != nil || !ok {
		return eventsCursor{}, true, err
	}
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		s.e.log.Warn("sync: unreadable events cursor, starting over", "err", err)
		return eventsCursor{}, false, nil
	}
	for _, t := range []string{c.Since, c.Watermark} {
		if _, err := parseTime(t); err != nil {
			s.e.log.Warn("sync: unreadable events cursor time, starting over", "err", err)
			return eventsCursor{}, false, nil
		}
	}
	return c, false, nil
}

// startBound is where a chain of export pages starts when there is no
// token: a little before the newest stored event, or, on a first sync, the
// configured window or the whole retention.
func (s *eventsSource) startBound(watermark time.Time) time.Time {
	switch {
	case !watermark.IsZero():
		return watermark.Add(-eventsRestartOverlap)
	case s.e.ev.window > 0:
		return s.e.now().Add(-s.e.ev.window).UTC()
	}
	return retentionProbe
}

// fetch follows the export and sends converted pages on ch, closing it
// when the export has caught up or on the first error it cannot handle.
func (s *eventsSource) fetch(ctx context.Context, c eventsCursor, ch chan<- eventsBatch) {
	defer close(ch)
	send := func(b eventsBatch) bool {
		select {
		case ch <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	log := s.e.log
	wm, _ := parseTime(c.Watermark)
	since, _ := parseTime(c.Since)
	token := c.PageToken
	resumed := token != ""
	if token == "" {
		since = s.startBound(wm)
	}
	size := s.pageSize()
	waits, restarts, empties := 0, 0, 0
	for {
		params := veza.EventParams{PageSize: size, PageToken: token}
		if token == "" {
			params.Filter = fmt.Sprintf("persisted_at ge %q", fmtTime(since))
		}
		page, err := s.e.c.ExportEvents(ctx, params)
		if err != nil {
			if ctx.Err() != nil {
				send(eventsBatch{err: err})
				return
			}
			if veza.IsResourceExhausted(err) && waits < maxExhaustedWaits {
				waits++
				log.Info("sync: events export exhausted, waiting before retrying", "wait", exhaustedWait, "attempt", waits)
				if err := s.sleep(ctx, exhaustedWait); err != nil {
					send(eventsBatch{err: err})
					return
				}
				continue
			}
			if re, ok := veza.AsRetention(err); ok && restarts < maxRetentionRestarts {
				restarts++
				log.Info("sync: events start time outside the retention, restarting from the oldest valid time",
					"asked", fmtTime(since), "oldest", fmtTime(re.Oldest))
				since, token = re.Oldest, ""
				continue
			}
			if resumed && token != "" && isStaleToken(err) {
				resumed = false
				since, token = s.startBound(wm), ""
				log.Warn("sync: saved events token refused, restarting before the newest stored event",
					"since", fmtTime(since), "err", err)
				continue
			}
			send(eventsBatch{err: err})
			return
		}
		resumed, waits = false, 0
		rows := make([]store.EventRow, len(page.Values))
		for i, rec := range page.Values {
			rows[i] = eventRow(rec)
			if t := rec.Value.Timestamp.UTC(); t.After(wm) {
				wm = t
			}
		}
		next := page.NextPageToken
		if !send(eventsBatch{rows: rows, cur: eventsCursor{PageToken: next, Since: fmtTime(since), Watermark: fmtTime(wm)}}) {
			return
		}
		if !page.HasMore {
			return // caught up: the token waits in the cursor for the next run
		}
		switch {
		case next == "":
			send(eventsBatch{err: fmt.Errorf("export_events: %w", veza.ErrMissingToken)})
			return
		case len(page.Values) == 0 && next == token:
			if empties++; empties >= maxEmptyRepeats {
				send(eventsBatch{err: fmt.Errorf("export_events: %w %d times", veza.ErrRepeatedToken, empties)})
				return
			}
		default:
			empties = 0
		}
		token = next
	}
}

// eventRow converts a wire event. The error object is stored re-encoded
// (known members; raw keeps everything), its metadata separately so a
// filter can search it.
func eventRow(rec veza.Record[veza.SystemEvent]) store.EventRow {
	e := &rec.Value
	r := store.EventRow{
		ID: e.ID, Timestamp: ms(&e.Timestamp), PersistedAt: ms(e.PersistedAt),
		Severity: e.Severity, Category: e.Category, EventType: e.EventType, Name: e.Name,
		Message: e.Message, Entity: e.Entity, EntityID: e.EntityID, EntityName: e.EntityName,
		ProviderID: e.ProviderID, Raw: rec.Raw,
	}
	if e.Error != nil {
		r.ErrorReason, r.ErrorMessage = e.Error.Reason, e.Error.Message
		r.Error, _ = json.Marshal(e.Error)
		if len(e.Error.Metadata) > 0 {
			r.Metadata, _ = json.Marshal(e.Error.Metadata)
		}
	}
	return r
}
