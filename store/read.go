package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opsdeck/opsdeck/store/filter"
)

// Entity names, as used by Count and StateCounts (and the filter schemas).
const (
	EntityTasks   = "tasks"
	EntityActions = "actions"
	EntityJobs    = "jobs"
)

// entity is what the generic read path needs to know about a table.
type entity struct {
	table       string
	schema      *filter.Schema
	defaultSort string
	cols        []string // rowid first, payload columns last
	payloadCols int
}

var (
	tasksEntity   = registerEntity(&entity{EntityTasks, filter.Tasks, "started_at", taskCols, taskPayloadCols})
	actionsEntity = registerEntity(&entity{EntityActions, filter.Actions, "started_at", actionCols, actionPayloadCols})
	jobsEntity    = registerEntity(&entity{EntityJobs, filter.Jobs, "created_at", jobCols, jobPayloadCols})
)

// entities are the listable tables by entity name. Each table's file
// registers its entity in a package-level var, so adding a table touches
// no shared switch.
var entities = map[string]*entity{}

func registerEntity(e *entity) *entity {
	if _, dup := entities[e.table]; dup {
		panic("store: entity registered twice: " + e.table)
	}
	entities[e.table] = e
	return e
}

func entityByName(name string) (*entity, error) {
	if e, ok := entities[name]; ok {
		return e, nil
	}
	return nil, fmt.Errorf("unknown entity %q", name)
}

// Query selects and orders rows of one entity.
type Query struct {
	Where filter.Node // nil: every row
	// Sort is a field of the entity's filter schema; "" means created_at for
	// jobs and started_at for tasks and actions, the orders the indexes serve.
	Sort string
	Desc bool
	// Text, when not empty, keeps the rows containing it (any letter case)
	// in one of the entity's text columns (see textSearch): for jobs the
	// identity, action, workflow and error message, through the trigram
	// index when it is 3 characters or longer.
	Text string
}

// Key is the position of a row in a Query's order: its sort value and, to
// break ties, its rowid. Take it from a row with JobKey, TaskKey, ActionKey
// for the same Query (a key only means something in the order it came from).
type Key struct {
	Sort  any
	RowID int64
}

// JobKey is r's position in q's order.
func JobKey(q Query, r JobRow) Key { return keyOf(jobsEntity, q, &r) }

// TaskKey is r's position in q's order.
func TaskKey(q Query, r TaskRow) Key { return keyOf(tasksEntity, q, &r) }

// ActionKey is r's position in q's order.
func ActionKey(q Query, r ActionRow) Key { return keyOf(actionsEntity, q, &r) }

type fielder interface {
	Field(name string) (any, bool)
}

func keyOf(e *entity, q Query, r fielder) Key {
	var v any
	if f, err := e.sortField(q); err == nil {
		v, _ = r.Field(f.Name)
	}
	var id int64
	if r, ok := r.(interface{ rowID() int64 }); ok {
		id = r.rowID()
	}
	return Key{Sort: v, RowID: id}
}

// sortField is the schema field q sorts by.
func (e *entity) sortField(q Query) (filter.Field, error) {
	name := q.Sort
	if name == "" {
		name = e.defaultSort
	}
	f, ok := e.schema.Field(name)
	if !ok {
		return f, fmt.Errorf("cannot sort %s by %q: not one of its fields (%s)", e.table, name, strings.Join(e.schema.Names(), " "))
	}
	if !isColumnName(f.Column) {
		// A computed field (acked) has no row value to make a Key of.
		return f, fmt.Errorf("cannot sort %s by %q: it is computed, not stored", e.table, name)
	}
	return f, nil
}

// pageSQL builds the keyset query for one page of list columns (no
// payloads). Rows come back in scan order: q's order, or its reverse when
// backward (the caller re-reverses).
func (e *entity) pageSQL(q Query, after *Key, backward bool, limit int) (string, []any, error) {
	return e.pageSQLText(q, after, backward, limit, textIndexed)
}

// pageSQLText is pageSQL with the way Query.Text is matched (textPlan).
func (e *entity) pageSQLText(q Query, after *Key, backward bool, limit int, how textHow) (string, []any, error) {
	return e.pageSQLSelect(e.listSelect(), q, after, backward, limit, how)
}

// listSelect is the SELECT list of a page: the list columns, no payloads.
func (e *entity) listSelect() string {
	return strings.Join(e.cols[:len(e.cols)-e.payloadCols], ", ")
}

// pageSQLSelect is pageSQLText with the SELECT list sel (listSelect, or
// an expression over the same row: see jobsPackedSelect).
func (e *entity) pageSQLSelect(sel string, q Query, after *Key, backward bool, limit int, how textHow) (string, []any, error) {
	f, err := e.sortField(q)
	if err != nil {
		return "", nil, err
	}
	col := f.Column
	where, args, err := filter.ToSQL(q.Where, e.schema)
	if err != nil {
		return "", nil, err
	}
	desc := q.Desc != backward // direction of the scan
	dir, cmp := "ASC", ">"
	if desc {
		dir, cmp = "DESC", "<"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s FROM %s", sel, e.table)
	var conds []string
	if where != "" {
		conds = append(conds, "("+where+")")
	}
	if q.Text != "" {
		tc, targs, err := textCondHow(e, q.Text, how)
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, tc)
		args = append(args, targs...)
	}
	if after != nil {
		// A row value comparison lets SQLite seek the (col[, rowid]) index
		// straight to the key instead of filtering from the start.
		conds = append(conds, fmt.Sprintf("(%s, rowid) %s (?, ?)", col, cmp))
		args = append(args, bindable(after.Sort), after.RowID)
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(conds, " AND "))
	}
	fmt.Fprintf(&b, " ORDER BY %s %s, rowid %s LIMIT ?", col, dir, dir)
	args = append(args, limit)
	return b.String(), args, nil
}

func bindable(v any) any {
	if b, ok := v.(bool); ok {
		return b2i(b)
	}
	return v
}

// page runs a keyset page query and scans each row with scan.
func page[T any](ctx context.Context, s *Store, e *entity, q Query, after *Key, backward bool, limit int, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if limit <= 0 {
		return nil, nil
	}
	return pageInto(ctx, s, e, e.listSelect(), q, after, backward, limit, make([]T, 0, min(limit, 512)), scan)
}

// pageInto is page with the SELECT list sel, appending to dst[:0] (a page
// buffer the caller reuses). limit must be positive.
func pageInto[T any](ctx context.Context, s *Store, e *entity, sel string, q Query, after *Key, backward bool, limit int, dst []T, scan func(*sql.Rows) (T, error)) ([]T, error) {
	how := textIndexed
	if q.Text != "" {
		var err error
		if how, err = s.textPlan(ctx, e, q.Text); err != nil {
			return nil, err
		}
	}
	query, args, err := e.pageSQLSelect(sel, q, after, backward, limit, how)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", e.table, err)
	}
	defer rows.Close()
	out := dst[:0]
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", e.table, err)
	}
	if backward {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// Jobs returns up to limit jobs in q's order strictly after the key after,
// or, when backward, the limit rows just before it (still in q's order).
// With after == nil it returns the first page, or the last when backward.
// List rows carry no Request, Result or Raw: fetch those with Job.
// The page is read packed (store/stream.go).
func (s *Store) Jobs(ctx context.Context, q Query, after *Key, backward bool, limit int) ([]JobRow, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.jobsInto(ctx, nil, q, after, backward, limit)
}

// Tasks: see Jobs.
func (s *Store) Tasks(ctx context.Context, q Query, after *Key, backward bool, limit int) ([]TaskRow, error) {
	return page(ctx, s, tasksEntity, q, after, backward, limit, func(rows *sql.Rows) (TaskRow, error) {
		var r TaskRow
		var msgs string
		p := r.ptrs(&msgs)
		if err := rows.Scan(p[:len(p)-taskPayloadCols]...); err != nil {
			return r, err
		}
		return r, decodeMessages(msgs, &r)
	})
}

// Actions: see Jobs.
func (s *Store) Actions(ctx context.Context, q Query, after *Key, backward bool, limit int) ([]ActionRow, error) {
	return page(ctx, s, actionsEntity, q, after, backward, limit, func(rows *sql.Rows) (ActionRow, error) {
		var r ActionRow
		p := r.ptrs()
		return r, rows.Scan(p[:len(p)-actionPayloadCols]...)
	})
}

func decodeMessages(msgs string, r *TaskRow) error {
	if msgs == "" || msgs == "[]" {
		return nil
	}
	if err := json.Unmarshal([]byte(msgs), &r.Messages); err != nil {
		return fmt.Errorf("task %s: messages: %w", r.ID, err)
	}
	return nil
}

var (
	jobByIDSQL     = "SELECT " + strings.Join(jobCols, ", ") + " FROM jobs WHERE job_id = ?"
	taskByIDSQL    = "SELECT " + strings.Join(taskCols, ", ") + " FROM tasks WHERE id = ?"
	actionByKeySQL = "SELECT " + strings.Join(actionCols, ", ") + " FROM actions WHERE policy_task = ? AND action_name = ?"
)

// Job returns one job with its payloads and raw object, or ErrNotFound.
func (s *Store) Job(ctx context.Context, jobID string) (JobRow, error) {
	var r JobRow
	err := s.queryRow(ctx, jobByIDSQL, jobID).Scan(r.ptrs()...)
	return r, notFound(err, "job", jobID)
}

var jobAtSQL = "SELECT " + strings.Join(jobCols, ", ") + " FROM jobs WHERE rowid = ? AND job_id = ?"

// JobAt is Job for a job read at rowID (its Key's RowID; 0: unknown): a
// rowid seek, which needs no job_id index (a first sync builds that at its
// end, store/bulk.go). A row no longer there is looked up by id.
func (s *Store) JobAt(ctx context.Context, rowID int64, jobID string) (JobRow, error) {
	if rowID > 0 {
		var r JobRow
		err := s.queryRow(ctx, jobAtSQL, rowID, jobID).Scan(r.ptrs()...)
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return r, err
		}
	}
	return s.Job(ctx, jobID)
}

// Task returns one task with its raw object, or ErrNotFound.
func (s *Store) Task(ctx context.Context, id string) (TaskRow, error) {
	var r TaskRow
	var msgs string
	err := s.queryRow(ctx, taskByIDSQL, id).Scan(r.ptrs(&msgs)...)
	if err == nil {
		err = decodeMessages(msgs, &r)
	}
	return r, notFound(err, "task", id)
}

// Action returns one action with its raw object, or ErrNotFound.
func (s *Store) Action(ctx context.Context, policyTask, actionName string) (ActionRow, error) {
	var r ActionRow
	err := s.queryRow(ctx, actionByKeySQL, policyTask, actionName).Scan(r.ptrs()...)
	return r, notFound(err, "action", policyTask+"/"+actionName)
}

func notFound(err error, what, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %q: %w", what, id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, id, err)
	}
	return nil
}

// Count returns how many rows of entity match where (nil: all rows, read
// from the state counters).
func (s *Store) Count(ctx context.Context, entityName string, where filter.Node) (int, error) {
	e, err := entityByName(entityName)
	if err != nil {
		return 0, err
	}
	var n int
	if where == nil {
		err := s.queryRow(ctx, "SELECT coalesce(sum(n), 0) FROM state_counts WHERE entity = ?", e.table).Scan(&n)
		return n, err
	}
	w, args, err := filter.ToSQL(where, e.schema)
	if err != nil {
		return 0, err
	}
	if states, ok := stateSet(where); ok {
		// `state eq "A" or state eq "B"`: read the counters, not 70k+ index
		// entries (or, for an OR, a 140 ms scan of the whole index: the
		// planner does not split it). COLLATE NOCASE as in the filter.
		arr, err := json.Marshal(states)
		if err != nil {
			return 0, err
		}
		err = s.queryRow(ctx, `SELECT coalesce(sum(n), 0) FROM state_counts WHERE entity = ?
			AND state COLLATE NOCASE IN (SELECT DISTINCT value COLLATE NOCASE FROM json_each(?))`, e.table, string(arr)).Scan(&n)
		return n, err
	}
	q := "SELECT count(*) FROM " + e.table
	if w != "" {
		q += " WHERE " + w
	}
	if err := s.queryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", e.table, err)
	}
	return n, nil
}

// stateSet returns the states when where is `state eq "X"` or an "or" of
// such comparisons, the filters the state counters can answer.
func stateSet(where filter.Node) ([]string, bool) {
	switch n := where.(type) {
	case *filter.Compare:
		if n == nil || !strings.EqualFold(n.Attr, "state") || n.Op != filter.OpEq || n.Value.Kind != filter.ValueString {
			return nil, false
		}
		return []string{n.Value.Str}, true
	case *filter.Logical:
		if n == nil || !strings.EqualFold(n.Op, "or") {
			return nil, false
		}
		l, ok := stateSet(n.Left)
		if !ok {
			return nil, false
		}
		r, ok := stateSet(n.Right)
		return append(l, r...), ok
	}
	return nil, false
}

// StateCounts returns the number of rows of entity in each state (states
// with no rows are absent). It reads counters kept up to date by every write,
// so it costs the same on ten rows as on ten million.
func (s *Store) StateCounts(ctx context.Context, entityName string) (map[string]int, error) {
	e, err := entityByName(entityName)
	if err != nil {
		return nil, err
	}
	return s.countsByState(ctx, "SELECT state, n FROM state_counts WHERE entity = ? AND n > 0", e.table)
}

// countsByState runs a query of (state, count) rows into a map.
func (s *Store) countsByState(ctx context.Context, query string, args ...any) (map[string]int, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		m[st] = n
	}
	return m, rows.Err()
}
