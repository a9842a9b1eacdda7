package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The cross-source timeline (the :timeline screen): for one time window,
// what went wrong anywhere the cache knows about, newest first. ERRORED
// jobs and tasks come grouped by error signature per time bucket (300
// jobs failing the same way within five minutes are one entry), system
// events of severity WARNING or ERROR and Socotra failed scheduled jobs
// one entry each. Every read is an index range or a scan of a partial
// index; the window bounds the work and Limit bounds the answer.

// Timeline sources: TimelineEntry.Source.
const (
	TimelineJob     = "job"
	TimelineTask    = "task"
	TimelineEvent   = "event"
	TimelineSocotra = "socotra"
)

// DefaultTimelineBucket is the width of a job or task group's time bucket
// (unix ms).
const DefaultTimelineBucket = 5 * 60 * 1000

// DefaultTimelineLimit bounds the entries of one timeline.
const DefaultTimelineLimit = 5000

// TimelineOptions selects a timeline.
type TimelineOptions struct {
	// Since and Until bound the window, unix ms: Since <= t < Until.
	Since, Until int64
	// Bucket is the width of the time buckets ERRORED jobs and tasks are
	// grouped in (0: DefaultTimelineBucket). Buckets are aligned to the
	// epoch, so a bucket is the same whatever the window.
	Bucket int64
	// Limit keeps the newest Limit entries (0: DefaultTimelineLimit).
	Limit int
}

// TimelineEntry is one line of the timeline. Text fields hold server
// strings as received: untrusted.
type TimelineEntry struct {
	Source string // TimelineJob, TimelineTask, TimelineEvent, TimelineSocotra
	// Time is the newest occurrence (unix ms): the timeline's order.
	// First is the oldest (Time for a single item).
	Time, First int64
	// State is ERRORED (jobs, tasks), the severity (events) or the
	// failedJobState (Socotra: queued, quit).
	State string
	// Count is how many jobs or tasks the entry stands for (1 for an
	// event), or a Socotra job's failure count.
	Count int
	// Signature is a job or task group's error signature.
	Signature string
	// What is the signature of a group of several, the error message of a
	// single job or task, the event's type and message, or the Socotra
	// trigger name.
	What string
	// Entity is the data source (jobs), workflow (tasks), the event's
	// entity name or the Socotra trigger group. "X +2" when a group
	// touches several.
	Entity string
	// Key names the single item behind the entry: the job_id or task id
	// of a group of one, the event id, the Socotra trigger name (with
	// Group its trigger group). Empty for a group of several.
	Key, Group string
}

// ID is unique among a timeline's entries.
func (e *TimelineEntry) ID() string {
	switch e.Source {
	case TimelineJob, TimelineTask:
		return fmt.Sprintf("%s\x1f%s\x1f%d\x1f%d", e.Source, e.Signature, e.First, e.Time)
	case TimelineSocotra:
		return e.Source + "\x1f" + e.Group + "\x1f" + e.Key
	}
	return e.Source + "\x1f" + e.Key
}

// TimelineResult is a timeline and whether Limit cut it.
type TimelineResult struct {
	Entries []TimelineEntry
	// Capped: the window held more than Limit entries; the oldest were
	// left out.
	Capped bool
	// Jobs and Tasks count the ERRORED jobs and tasks in the window (all of
	// them, capped or not); Events and Socotra the entries of each.
	Jobs, Tasks, Events, Socotra int
}

// NewestTime is the time of the newest row the cache holds in any table
// the timeline reads (job creation, task start, event, Socotra failed job
// or event), unix ms; 0 for an empty cache. Each is one index seek.
func (s *Store) NewestTime(ctx context.Context) (int64, error) {
	var t int64
	err := s.queryRow(ctx, `SELECT max(
		coalesce((SELECT max(created_at) FROM jobs), 0),
		coalesce((SELECT max(started_at) FROM tasks), 0),
		coalesce((SELECT max(timestamp) FROM events), 0),
		coalesce((SELECT max(updated_at) FROM socotra_failed), 0),
		coalesce((SELECT max(timestamp) FROM socotra_events), 0))`).Scan(&t)
	if err != nil {
		return 0, fmt.Errorf("newest time: %w", err)
	}
	return t, nil
}

// errGroupSpec is how the timeline groups one entity's ERRORED rows.
type errGroupSpec struct {
	source, table, time string
	// entity is the expression naming what a row touched, written as in
	// the wide index so the planner reads it from there.
	entity string
	// narrow is the (state, time) index: a seek to the window, a table
	// row per ERRORED row in it. wide is the partial index of ERRORED rows
	// carrying every column needed: a scan of all of them, no table row.
	narrow, wide string
	key, msg     string // columns of a single row's identity and message
}

var errGroupSpecs = []errGroupSpec{
	{TimelineJob, "jobs", "created_at", jobsDataSource, "jobs_state_created", "jobs_errors", "job_id", "error_message"},
	{TimelineTask, "tasks", "started_at", "workflow", "tasks_state_started", "tasks_errors", "id", "error_message"},
}

// wideShare: when the window holds more than 1/wideShare of all ERRORED
// rows, scanning the partial index beats seeking to the window. Measured
// on the 1M-job cache (BenchmarkTimeline): the scan costs ~0.1 µs for
// each ERRORED row plus ~3.5 µs for each row in the window (grouping, no
// table row, the data source read from the index); the seek ~12 µs for each
// row in the window (its table row and the request's JSON). A window of
// 6.5k of 66k rows: 33 ms scanned, 83 ms sought; of 544 rows: 8.7 ms
// scanned, 6.7 ms sought.
const wideShare = 64

// Timeline reads the timeline of a window.
func (s *Store) Timeline(ctx context.Context, opts TimelineOptions) (TimelineResult, error) {
	var res TimelineResult
	if opts.Until <= opts.Since {
		return res, fmt.Errorf("timeline: empty window (%d..%d)", opts.Since, opts.Until)
	}
	bucket := cmp.Or(opts.Bucket, DefaultTimelineBucket)
	if bucket <= 0 {
		return res, fmt.Errorf("timeline: bucket of %d ms", bucket)
	}
	limit := cmp.Or(opts.Limit, DefaultTimelineLimit)
	var all []TimelineEntry
	for _, spec := range errGroupSpecs {
		es, n, err := s.errorBuckets(ctx, spec, opts.Since, opts.Until, bucket)
		if err != nil {
			return res, err
		}
		if spec.source == TimelineJob {
			res.Jobs = n
		} else {
			res.Tasks = n
		}
		all = append(all, es...)
	}
	// One more than the limit of each: enough to know the merge is cut.
	ev, err := s.timelineEvents(ctx, opts.Since, opts.Until, limit+1)
	if err != nil {
		return res, err
	}
	res.Events = len(ev)
	all = append(all, ev...)
	so, err := s.timelineSocotra(ctx, opts.Since, opts.Until, limit+1)
	if err != nil {
		return res, err
	}
	res.Socotra = len(so)
	all = append(all, so...)

	slices.SortStableFunc(all, func(a, b TimelineEntry) int {
		return cmp.Or(cmp.Compare(b.Time, a.Time), strings.Compare(a.Source, b.Source), strings.Compare(a.ID(), b.ID()))
	})
	if len(all) > limit {
		all, res.Capped = all[:limit], true
	}
	if err := s.fillSingles(ctx, all); err != nil {
		return res, err
	}
	res.Entries = all
	return res, nil
}

// errorBuckets groups the ERRORED rows of spec in the window by signature
// and bucket; it returns the groups and how many rows they hold. A group of
// one carries its row's rowid in Key until fillSingles names it.
func (s *Store) errorBuckets(ctx context.Context, spec errGroupSpec, since, until, bucket int64) ([]TimelineEntry, int, error) {
	// An index-only count of the window's rows decides how to read them.
	var n int
	if err := s.queryRow(ctx, "SELECT count(*) FROM "+spec.table+" INDEXED BY "+spec.narrow+
		" WHERE state = 'ERRORED' AND "+spec.time+" >= ? AND "+spec.time+" < ?", since, until).Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("timeline %s: %w", spec.table, err)
	}
	if n == 0 {
		return nil, 0, nil
	}
	index := spec.narrow
	if counts, err := s.StateCounts(ctx, spec.table); err == nil && n*wideShare > counts["ERRORED"] {
		index = spec.wide
	}
	return s.errorBucketsBy(ctx, spec, index, since, until, bucket)
}

// errorBucketsBy is errorBuckets reading through index (spec.narrow or
// spec.wide: both give the same groups).
func (s *Store) errorBucketsBy(ctx context.Context, spec errGroupSpec, index string, since, until, bucket int64) ([]TimelineEntry, int, error) {
	inWindow := spec.time + " >= ?2 AND " + spec.time + " < ?3"
	// The inner scan cannot be flattened (LIMIT -1), so the entity
	// expression is read from the wide index, not recomputed (see
	// groupSpec.detailSQL).
	q := `SELECT sig, b, count(*), min(t), max(t), min(rid), count(DISTINCT ent), max(ent)
		FROM (SELECT error_signature AS sig, ` + spec.time + ` / ?1 AS b, ` + spec.time + ` AS t, rowid AS rid, ` + spec.entity + ` AS ent
		      FROM ` + spec.table + ` INDEXED BY ` + index + ` WHERE state = 'ERRORED' AND ` + inWindow + ` LIMIT -1)
		GROUP BY sig, b`
	rows, err := s.query(ctx, q, bucket, since, until)
	if err != nil {
		return nil, 0, fmt.Errorf("timeline %s: %w", spec.table, err)
	}
	defer rows.Close()
	var out []TimelineEntry
	total := 0
	for rows.Next() {
		e := TimelineEntry{Source: spec.source, State: "ERRORED"}
		var b, rid int64
		var nEnt int
		var ent *string
		if err := rows.Scan(&e.Signature, &b, &e.Count, &e.First, &e.Time, &rid, &nEnt, &ent); err != nil {
			return nil, 0, fmt.Errorf("timeline %s: %w", spec.table, err)
		}
		total += e.Count
		e.What = e.Signature
		if ent != nil {
			e.Entity = *ent
		}
		if nEnt > 1 {
			e.Entity += fmt.Sprintf(" +%d", nEnt-1)
		}
		if e.Count == 1 {
			e.Key = fmt.Sprint(rid)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("timeline %s: %w", spec.table, err)
	}
	return out, total, nil
}

// fillSingles replaces the rowid a group of one carries with its row's id
// and the signature with its message: one query per entity for the entries
// kept.
func (s *Store) fillSingles(ctx context.Context, es []TimelineEntry) error {
	for _, spec := range errGroupSpecs {
		var ids []string
		for i := range es {
			if es[i].Source == spec.source && es[i].Count == 1 && es[i].Key != "" {
				ids = append(ids, es[i].Key)
			}
		}
		if len(ids) == 0 {
			continue
		}
		arr, err := json.Marshal(ids)
		if err != nil {
			return err
		}
		rows, err := s.query(ctx, "SELECT CAST(rowid AS TEXT), "+spec.key+", "+spec.msg+" FROM "+spec.table+
			" WHERE rowid IN (SELECT CAST(value AS INTEGER) FROM json_each(?))", string(arr))
		if err != nil {
			return fmt.Errorf("timeline %s: %w", spec.table, err)
		}
		found := map[string][2]string{}
		for rows.Next() {
			var rid, key, msg string
			if err := rows.Scan(&rid, &key, &msg); err != nil {
				rows.Close()
				return err
			}
			found[rid] = [2]string{key, msg}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range es {
			e := &es[i]
			if e.Source != spec.source || e.Count != 1 || e.Key == "" {
				continue
			}
			if f, ok := found[e.Key]; ok {
				e.Key = f[0]
				if f[1] != "" {
					e.What = f[1]
				}
			} else {
				e.Key = "" // deleted since (prune): open it as a group
			}
		}
	}
	return nil
}

// timelineEvents: the WARNING and ERROR events of the window, newest
// first (the events_sev_ts index, one range per severity). Seed 002 spells
// severities in capitals.
func (s *Store) timelineEvents(ctx context.Context, since, until int64, limit int) ([]TimelineEntry, error) {
	rows, err := s.query(ctx, `SELECT id, timestamp, severity, event_type, message, entity_name FROM events
		WHERE severity IN ('ERROR', 'WARNING') AND timestamp >= ? AND timestamp < ?
		ORDER BY timestamp DESC, rowid DESC LIMIT ?`, since, until, limit)
	if err != nil {
		return nil, fmt.Errorf("timeline events: %w", err)
	}
	defer rows.Close()
	var out []TimelineEntry
	for rows.Next() {
		e := TimelineEntry{Source: TimelineEvent, Count: 1}
		var typ, msg string
		if err := rows.Scan(&e.Key, &e.Time, &e.State, &typ, &msg, &e.Entity); err != nil {
			return nil, err
		}
		e.First = e.Time
		e.What = typ
		if msg != "" {
			e.What += ": " + msg
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// timelineSocotra: the failed scheduled jobs last updated (or, never
// updated, created) in the window. The failed list is a small snapshot,
// so this scans it.
func (s *Store) timelineSocotra(ctx context.Context, since, until int64, limit int) ([]TimelineEntry, error) {
	rows, err := s.query(ctx, `SELECT trigger_group, trigger_name, state, failure_count, t, created_at FROM
		(SELECT *, CASE WHEN updated_at > 0 THEN updated_at ELSE created_at END AS t FROM socotra_failed)
		WHERE t >= ? AND t < ? ORDER BY t DESC, rowid DESC LIMIT ?`, since, until, limit)
	if err != nil {
		return nil, fmt.Errorf("timeline socotra: %w", err)
	}
	defer rows.Close()
	var out []TimelineEntry
	for rows.Next() {
		e := TimelineEntry{Source: TimelineSocotra}
		var fails int64
		var created int64
		if err := rows.Scan(&e.Group, &e.Key, &e.State, &fails, &e.Time, &created); err != nil {
			return nil, err
		}
		e.Count = int(fails)
		e.First = e.Time
		if created > 0 && created < e.Time {
			e.First = created
		}
		e.What, e.Entity = e.Key, e.Group
		out = append(out, e)
	}
	return out, rows.Err()
}
