// Package sync is the engine that moves pages of the Veza Lifecycle
// Management activity log from the REST client (sync/veza) into the SQLite
// cache (store), one transaction per page with its resume cursor, reporting
// progress so the UI can show rows as soon as the first page is committed.
package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// Options tunes an Engine. The zero value is usable.
type Options struct {
	Logger   *slog.Logger
	PageSize int // default 100, the LCM lists' maximum
	// NoDetails lists jobs without request/result payloads (details=true is
	// the default: the job detail view should work offline).
	NoDetails bool
	// Overlap is subtracted from the watermark when a new pass starts, so a
	// row that became visible late with an older timestamp is still picked
	// up. Default 1 minute; negative disables it.
	Overlap time.Duration
	// ReopenWindow bounds how far back a new pass reaches to refresh rows
	// that were still in a non-terminal state (RUNNING, PENDING, ...) when
	// last seen: every row newer than the oldest such row is fetched again,
	// so the window caps that cost. A row open for longer stops being
	// refreshed by incremental syncs (GetJob/GetTask still read it fresh).
	// Default 24 hours; negative disables the refresh.
	ReopenWindow time.Duration
	// NoHead skips the first sync's newest-jobs head (see syncHead).
	NoHead bool
	// Sources limits Run to these source names (nil: all). Names are those
	// of Progress.Source: "jobs", "actions", "tasks", and the sources other
	// files register (extraSources), e.g. "events", "automations".
	Sources []string
}

// Progress is reported after every committed page of a source, and once
// more with Done set when the source finishes (Err set if it failed).
type Progress struct {
	Source string // "jobs", "actions", "tasks"
	Pages  int    // pages committed in this run
	Rows   int    // rows received in this run
	Total  int    // rows expected; -1 when unknown (the API gives no totals)
	Done   bool
	Err    error
	Stats  store.WriteStats // cumulative for this source in this run
	// Head marks progress of the first sync's newest-jobs head (see
	// syncHead); its counts are separate from the pass that follows.
	Head bool
	// Indexing is reported once after the last page of a first sync of a
	// source: the store is building the indexes it skipped while loading
	// (store.EndBulk), which takes seconds on a million jobs.
	Indexing bool
}

// Engine syncs one Veza tenant into one store. One sync runs at a time (a
// second Run gets ErrRunning): the cursors assume a single pass per source.
type Engine struct {
	noHead   bool
	st       *store.Store
	c        *veza.Client
	log      *slog.Logger
	pageSize int
	details  bool
	overlap  time.Duration
	reopen   time.Duration
	now      func() time.Time
	running  atomic.Bool
	only     map[string]bool // Options.Sources; nil = all
	ev       eventsTuning    // system events source (events.go)
}

// ErrRunning is returned by Run and SyncSource while another sync of the
// same engine is in progress.
var ErrRunning = errors.New("sync: already running")

const (
	defaultPageSize = 100
	defaultOverlap  = time.Minute
	defaultReopen   = 24 * time.Hour
	// pipeDepth is how many decoded pages may wait for the writer: enough to
	// hide a slow request behind a write, small enough to bound memory.
	pipeDepth = 3
)

// New returns an engine writing to st from c.
func New(st *store.Store, c *veza.Client, opts Options) *Engine {
	e := &Engine{st: st, c: c, log: opts.Logger, pageSize: opts.PageSize, details: !opts.NoDetails, noHead: opts.NoHead, now: time.Now}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.pageSize <= 0 {
		e.pageSize = defaultPageSize
	}
	if len(opts.Sources) > 0 {
		e.only = map[string]bool{}
		for _, n := range opts.Sources {
			e.only[n] = true
		}
	}
	e.overlap = durationOpt(opts.Overlap, defaultOverlap)
	e.reopen = durationOpt(opts.ReopenWindow, defaultReopen)
	return e
}

func durationOpt(v, def time.Duration) time.Duration {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

// Run syncs jobs, then actions, then tasks, and records last_sync and
// source_url in the store's meta when all three succeed.
//
// Sources run one after another, each with its own fetch goroutine feeding
// the single writer. Running them concurrently would buy nothing: SQLite has
// one writer and writing is the slower half (MEASURED-LIMITS: ~14-60k rows/s
// written against ~70k rows/s decoded on one core), so three fetchers would
// only queue on it, and jobs, the table the UI opens on, would finish later.
// A source that fails does not keep the others from syncing (a wrong
// [assumed] tasks path must not hide the jobs); Run then returns the joined
// errors and leaves last_sync alone. The next Run resumes each source from
// its cursor.
func (e *Engine) Run(ctx context.Context, progress func(Progress)) error {
	if !e.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer e.running.Store(false)
	if progress == nil {
		progress = func(Progress) {}
	}
	if !e.noHead && (e.only == nil || e.only["jobs"]) {
		e.syncHead(ctx, progress)
	}
	var errs []error
	for _, s := range e.sources() {
		if e.only != nil && !e.only[s.name()] {
			continue
		}
		if err := s.run(ctx, progress); err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
		}
	}
	// Index the jobs the run stored for free-text search now, while the
	// user waits for the sync anyway, rather than at the first search.
	if err := e.st.FlushTextIndex(ctx); err != nil && ctx.Err() == nil {
		e.log.Warn("sync: text index", "err", err)
	}
	switch len(errs) {
	case 0:
	case 1:
		return errs[0]
	default:
		return sourceErrors(errs)
	}
	if err := e.st.SetMeta(ctx, store.MetaLastSync, e.now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("sync: record last_sync: %w", err)
	}
	if err := e.st.SetMeta(ctx, store.MetaSourceURL, e.c.BaseURL()); err != nil {
		return fmt.Errorf("sync: record source_url: %w", err)
	}
	return nil
}

// SyncSource runs a single source ("jobs", "actions" or "tasks").
func (e *Engine) SyncSource(ctx context.Context, name string, progress func(Progress)) error {
	if !e.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer e.running.Store(false)
	if progress == nil {
		progress = func(Progress) {}
	}
	for _, s := range e.sources() {
		if s.name() == name {
			return s.run(ctx, progress)
		}
	}
	return fmt.Errorf("sync: unknown source %q", name)
}

// runner hides each source's row types from Run.
type runner interface {
	name() string
	run(ctx context.Context, progress func(Progress)) error
}

// extraSources are sources defined in other files of this package (system
// events, automations): each appends its constructor from an init func, so
// adding a source touches no shared list. They run after the LCM sources,
// in the order registered.
var extraSources []func(*Engine) runner

// SourceNames lists every source Run syncs, in order.
func SourceNames() []string {
	e := &Engine{}
	var out []string
	for _, s := range e.sources() {
		out = append(out, s.name())
	}
	return out
}

func (e *Engine) sources() []runner {
	rs := e.lcmSources()
	for _, f := range extraSources {
		rs = append(rs, f(e))
	}
	return rs
}

func (e *Engine) lcmSources() []runner {
	c := e.c
	if c == nil { // SourceNames: names only
		c = &veza.Client{}
	}
	return []runner{
		&source[veza.Job, store.JobRow]{
			e: e, src: "jobs", cursorKey: "veza/jobs", sortField: "created_at", details: e.details,
			list: c.ListJobRecords, convert: jobRow, write: e.st.WriteJobs, bulk: "jobs", raw: ptr(c.JobRecordsRaw()),
			key:  func(j *veza.Job) *time.Time { return j.CreatedAt },
			open: func(j *veza.Job) bool { return isOpen(j.State) },
		},
		&source[veza.Action, store.ActionRow]{
			e: e, src: "actions", cursorKey: "veza/actions", sortField: "started_at",
			list: c.ListActionRecords, convert: actionRow, write: e.st.WriteActions, bulk: "actions",
			key:  func(a *veza.Action) *time.Time { return a.StartedAt },
			open: func(a *veza.Action) bool { return isOpen(a.State) },
		},
		&source[veza.Task, store.TaskRow]{
			e: e, src: "tasks", cursorKey: "veza/tasks", sortField: "t_created_at",
			list: c.ListTaskRecords, convert: taskRow, write: e.st.WriteTasks, bulk: "tasks",
			key:  func(t *veza.Task) *time.Time { return t.TCreatedAt },
			open: func(t *veza.Task) bool { return isOpen(t.State) },
		},
	}
}

// isOpen reports a state a row leaves on its own, soon: such rows are
// re-fetched by later passes (within ReopenWindow) so the cache sees them
// finish. BLOCKED is not one: it waits for a person, often for days, and
// one BLOCKED row near the start of the window made every incremental
// sync re-read the whole window (a day of rows: 35,000 on a 1M-job tenant,
// 20 s for 1,000 new jobs; scripts/bench.sh). An unblock from opsdeck
// writes the row back at once, and the detail view reads it fresh.
func isOpen(state string) bool {
	switch state {
	case "COMPLETED", "ERRORED", "SKIPPED", "ABANDONED", "BLOCKED":
		return false
	}
	return true
}

// isStaleToken reports whether err is the server refusing a saved page token
// (expired or unknown), which makes a resumed pass start over from its
// watermark instead of failing.
func isStaleToken(err error) bool {
	var ae *veza.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Status {
	case 400, 404, 410:
		return true
	}
	return false
}

// sourceErrors is errors.Join on one line: the message ends up in a status
// bar, not a log file.
type sourceErrors []error

func (es sourceErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func (es sourceErrors) Unwrap() []error { return es }

func ptr[T any](v T) *T { return &v }
