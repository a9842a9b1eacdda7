package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/opsdeck/opsdeck/store/filter"
)

// The Socotra tables (seed 004, migration 0005): the event stream, the
// scheduled policy events of the policies someone looked at, and the failed
// scheduled jobs. Events are only ever added or updated; the failed list and
// a policy's scheduled events are snapshots that replace what was there.

// Entity names of the Socotra tables.
const (
	EntitySocotraEvents    = "socotra_events"
	EntitySocotraScheduled = "socotra_scheduled"
	EntitySocotraFailed    = "socotra_failed"
)

var (
	socotraEventsEntity    = registerEntity(&entity{EntitySocotraEvents, filter.SocotraEvents, "timestamp", socotraEventCols, socotraEventPayloadCols})
	socotraScheduledEntity = registerEntity(&entity{EntitySocotraScheduled, filter.SocotraScheduled, "next_event_time", socotraScheduledCols, socotraScheduledPayloadCols})
	socotraFailedEntity    = registerEntity(&entity{EntitySocotraFailed, filter.SocotraFailed, "updated_at", socotraFailedCols, socotraFailedPayloadCols})
)

// SocotraEventRow is one event of the stream (seed 004's EventResponse).
type SocotraEventRow struct {
	RowID     int64
	Locator   string
	Timestamp int64 // unix ms
	Type      string
	// TypePrefix is Type without its last segment; writes derive it when
	// empty (see SocotraTypePrefix).
	TypePrefix string
	User       string // userLocator
	RequestID  string
	// Data is the event's data map as JSON and Raw the event as received;
	// only detail reads (SocotraEvent) fill them.
	Data     []byte
	Raw      []byte
	SyncedAt int64
}

// SocotraScheduledRow is one scheduled policy event.
type SocotraScheduledRow struct {
	RowID              int64
	PolicyLocator      string
	TransactionLocator string
	CustomEventID      string
	TriggerState       string // BLOCKED COMPLETE ERROR NONE NORMAL PAUSED
	NextEventTime      int64  // unix ms, 0 = none
	Raw                []byte
	SyncedAt           int64
}

// SocotraFailedRow is one failed scheduled job, keyed by (TriggerGroup,
// TriggerName).
type SocotraFailedRow struct {
	RowID        int64
	TriggerGroup string
	TriggerName  string
	State        string // failedJobState: queued | quit
	FailureCount int64
	CreatedAt    int64
	UpdatedAt    int64
	// PolicyLocator is derived from a "policy:<locator>" group when empty.
	PolicyLocator string
	Raw           []byte
	SyncedAt      int64
}

// SocotraTypePrefix is an event type without its last dot-separated
// segment: policy.quote.issue -> policy.quote, invoice.create -> invoice.
// A type without a dot is its own prefix.
func SocotraTypePrefix(typ string) string {
	if i := strings.LastIndexByte(typ, '.'); i > 0 {
		return typ[:i]
	}
	return typ
}

// SocotraGroupPolicy is the policy locator a trigger group names, or "".
// [assumed] Seed 004 does not say what a triggerGroup looks like; the
// emulator uses "policy:<locator>" and "tenant:<locator>".
func SocotraGroupPolicy(group string) string {
	if loc, ok := strings.CutPrefix(group, "policy:"); ok {
		return loc
	}
	return ""
}

var socotraEventCols = []string{
	"rowid", "locator", "timestamp", "type", "type_prefix", "user", "request_id", "synced_at",
	"data", "raw",
}

const socotraEventPayloadCols = 2

func (r *SocotraEventRow) ptrs() []any {
	return []any{&r.RowID, &r.Locator, &r.Timestamp, &r.Type, &r.TypePrefix, &r.User, &r.RequestID, &r.SyncedAt,
		&r.Data, &r.Raw}
}

func (r *SocotraEventRow) args(syncedAt int64, prefix string) []any {
	return []any{r.Locator, r.Timestamp, r.Type, prefix, r.User, r.RequestID, syncedAt,
		textOrDefault(r.Data, "{}"), textOrDefault(r.Raw, "{}")}
}

var socotraScheduledCols = []string{
	"rowid", "policy_locator", "transaction_locator", "custom_event_id", "trigger_state", "next_event_time", "synced_at",
	"raw",
}

const socotraScheduledPayloadCols = 1

func (r *SocotraScheduledRow) ptrs() []any {
	return []any{&r.RowID, &r.PolicyLocator, &r.TransactionLocator, &r.CustomEventID, &r.TriggerState, &r.NextEventTime, &r.SyncedAt,
		&r.Raw}
}

func (r *SocotraScheduledRow) args(syncedAt int64) []any {
	return []any{r.PolicyLocator, r.TransactionLocator, r.CustomEventID, r.TriggerState, r.NextEventTime, syncedAt,
		textOrDefault(r.Raw, "{}")}
}

var socotraFailedCols = []string{
	"rowid", "trigger_group", "trigger_name", "state", "failure_count", "created_at", "updated_at", "policy_locator", "synced_at",
	"raw",
}

const socotraFailedPayloadCols = 1

func (r *SocotraFailedRow) ptrs() []any {
	return []any{&r.RowID, &r.TriggerGroup, &r.TriggerName, &r.State, &r.FailureCount, &r.CreatedAt, &r.UpdatedAt, &r.PolicyLocator, &r.SyncedAt,
		&r.Raw}
}

func (r *SocotraFailedRow) args(syncedAt int64, policy string) []any {
	return []any{r.TriggerGroup, r.TriggerName, r.State, r.FailureCount, r.CreatedAt, r.UpdatedAt, policy, syncedAt,
		textOrDefault(r.Raw, "{}")}
}

// Field: see JobRow.Field.
func (r *SocotraEventRow) Field(name string) (any, bool) {
	switch name {
	case "locator":
		return r.Locator, true
	case "timestamp":
		return r.Timestamp, true
	case "type":
		return r.Type, true
	case "type_prefix":
		return r.TypePrefix, true
	case "user":
		return r.User, true
	case "request_id":
		return r.RequestID, true
	case "data":
		return string(r.Data), true
	case "synced_at":
		return r.SyncedAt, true
	}
	return nil, false
}

// Field: see JobRow.Field.
func (r *SocotraScheduledRow) Field(name string) (any, bool) {
	switch name {
	case "policy_locator":
		return r.PolicyLocator, true
	case "transaction_locator":
		return r.TransactionLocator, true
	case "custom_event_id":
		return r.CustomEventID, true
	case "trigger_state":
		return r.TriggerState, true
	case "next_event_time":
		return r.NextEventTime, true
	case "synced_at":
		return r.SyncedAt, true
	}
	return nil, false
}

// Field: see JobRow.Field.
func (r *SocotraFailedRow) Field(name string) (any, bool) {
	switch name {
	case "state":
		return r.State, true
	case "trigger_name":
		return r.TriggerName, true
	case "trigger_group":
		return r.TriggerGroup, true
	case "failure_count":
		return r.FailureCount, true
	case "created_at":
		return r.CreatedAt, true
	case "updated_at":
		return r.UpdatedAt, true
	case "policy_locator":
		return r.PolicyLocator, true
	case "synced_at":
		return r.SyncedAt, true
	}
	return nil, false
}

func (r *SocotraEventRow) rowID() int64     { return r.RowID }
func (r *SocotraScheduledRow) rowID() int64 { return r.RowID }
func (r *SocotraFailedRow) rowID() int64    { return r.RowID }

// SocotraEventKey is r's position in q's order.
func SocotraEventKey(q Query, r SocotraEventRow) Key { return keyOf(socotraEventsEntity, q, &r) }

// SocotraScheduledKey is r's position in q's order.
func SocotraScheduledKey(q Query, r SocotraScheduledRow) Key {
	return keyOf(socotraScheduledEntity, q, &r)
}

// SocotraFailedKey is r's position in q's order.
func SocotraFailedKey(q Query, r SocotraFailedRow) Key { return keyOf(socotraFailedEntity, q, &r) }

// Writes. The "state" each write counts in state_counts is type_prefix for
// events, trigger_state for scheduled events and state for failed jobs.

var (
	socotraEventsWrite = writeSpec{EntitySocotraEvents,
		upsertSQL(EntitySocotraEvents, socotraEventCols[1:], "locator", nil),
		"SELECT json_group_array(json_array(locator, type_prefix)) FROM socotra_events WHERE locator IN (SELECT value FROM json_each(?1))"}
	socotraScheduledWrite = writeSpec{EntitySocotraScheduled,
		upsertSQL(EntitySocotraScheduled, socotraScheduledCols[1:], "transaction_locator, custom_event_id", nil),
		`SELECT json_group_array(json_array(transaction_locator, custom_event_id, trigger_state)) FROM socotra_scheduled
		 WHERE (transaction_locator, custom_event_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1))`}
	socotraFailedWrite = writeSpec{EntitySocotraFailed,
		upsertSQL(EntitySocotraFailed, socotraFailedCols[1:], "trigger_group, trigger_name", nil),
		`SELECT json_group_array(json_array(trigger_group, trigger_name, state)) FROM socotra_failed
		 WHERE (trigger_group, trigger_name) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1))`}
)

// prepareWrite caches spec's statements on the writer before a transaction
// takes its only connection (store.Open prepares the LCM ones the same way).
func (s *Store) prepareWrite(ctx context.Context, spec writeSpec) error {
	if s.readOnly {
		return ErrReadOnly
	}
	for _, q := range []string{spec.upsert, spec.lookup} {
		if _, err := s.ws.get(ctx, q); err != nil {
			return fmt.Errorf("write %s: prepare: %w", spec.table, err)
		}
	}
	return nil
}

func socotraEventOp(r *SocotraEventRow, i int, now int64) (op, error) {
	if r.Locator == "" {
		return op{}, fmt.Errorf("socotra event %d: empty locator", i)
	}
	prefix := r.TypePrefix
	if prefix == "" {
		prefix = SocotraTypePrefix(r.Type)
	}
	return op{key: r.Locator, state: prefix, args: r.args(now, prefix)}, nil
}

// WriteSocotraEvents upserts events and sets cur (when non-nil) in one
// transaction. Unchanged events cost a lookup and no write.
func (s *Store) WriteSocotraEvents(ctx context.Context, rows []SocotraEventRow, cur *Cursor) (WriteStats, error) {
	if err := s.prepareWrite(ctx, socotraEventsWrite); err != nil {
		return WriteStats{}, err
	}
	return s.write(ctx, socotraEventsWrite, len(rows), func(i int, now int64) (op, error) {
		return socotraEventOp(&rows[i], i, now)
	}, cur)
}

// ReplaceSocotraFailed makes the cache's failed-job list exactly rows (the
// union of the queued and quit lists): rows are upserted, every stored job
// not among them is deleted, the per-state counts follow, and cur (when
// non-nil) is set, all in one transaction.
func (s *Store) ReplaceSocotraFailed(ctx context.Context, rows []SocotraFailedRow, cur *Cursor) (st WriteStats, deleted int, err error) {
	keys := make([][2]string, len(rows))
	for i := range rows {
		keys[i] = [2]string{rows[i].TriggerGroup, rows[i].TriggerName}
	}
	err = s.replace(ctx, socotraFailedWrite, len(rows), func(i int, now int64) (op, error) {
		r := &rows[i]
		if r.TriggerGroup == "" || r.TriggerName == "" {
			return op{}, fmt.Errorf("failed job %d: empty trigger group or name", i)
		}
		pol := r.PolicyLocator
		if pol == "" {
			pol = SocotraGroupPolicy(r.TriggerGroup)
		}
		return op{key: keys[i], state: r.State, args: r.args(now, pol)}, nil
	}, `DELETE FROM socotra_failed WHERE (trigger_group, trigger_name) NOT IN
		(SELECT value ->> 0, value ->> 1 FROM json_each(?)) RETURNING state`, []any{keysJSON(keys)}, cur, &st, &deleted)
	return st, deleted, err
}

// ReplaceSocotraScheduled makes the cached scheduled events of policy
// exactly rows (every row must belong to policy).
func (s *Store) ReplaceSocotraScheduled(ctx context.Context, policy string, rows []SocotraScheduledRow) (st WriteStats, deleted int, err error) {
	if policy == "" {
		return st, 0, fmt.Errorf("scheduled events: empty policy locator")
	}
	keys := make([][2]string, len(rows))
	for i := range rows {
		keys[i] = [2]string{rows[i].TransactionLocator, rows[i].CustomEventID}
	}
	err = s.replace(ctx, socotraScheduledWrite, len(rows), func(i int, now int64) (op, error) {
		r := &rows[i]
		if r.PolicyLocator != policy {
			return op{}, fmt.Errorf("scheduled event %d: policy %q, want %q", i, r.PolicyLocator, policy)
		}
		return op{key: keys[i], state: r.TriggerState, args: r.args(now)}, nil
	}, `DELETE FROM socotra_scheduled WHERE policy_locator = ? AND (transaction_locator, custom_event_id) NOT IN
		(SELECT value ->> 0, value ->> 1 FROM json_each(?)) RETURNING trigger_state`, []any{policy, keysJSON(keys)}, nil, &st, &deleted)
	return st, deleted, err
}

func keysJSON(keys [][2]string) string {
	b, _ := json.Marshal(keys) // strings always marshal
	return string(b)
}

// replace upserts n rows, then runs del (a DELETE ... RETURNING <state>)
// and takes what it deleted off the state counters, then sets cur: one
// transaction.
func (s *Store) replace(ctx context.Context, spec writeSpec, n int, prep func(i int, now int64) (op, error),
	del string, delArgs []any, cur *Cursor, st *WriteStats, deleted *int) error {
	if err := s.prepareWrite(ctx, spec); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		if *st, err = s.upsertAll(ctx, tx, spec, n, prep); err == nil {
			*deleted, err = deleteCounted(ctx, tx, spec.table, del, delArgs...)
		}
		if err == nil && cur != nil {
			_, err = tx.ExecContext(ctx, cursorUpsertSQL, cur.Source, cur.Value, nowMS())
		}
		return err
	})
	if err != nil {
		*st, *deleted = WriteStats{}, 0
		return fmt.Errorf("write %s: %w", spec.table, err)
	}
	return nil
}

// deleteCounted runs a DELETE ... RETURNING <state> and decrements the
// entity's state counters by what it removed.
func deleteCounted(ctx context.Context, tx *sql.Tx, entity, del string, args ...any) (int, error) {
	rows, err := tx.QueryContext(ctx, del, args...)
	if err != nil {
		return 0, fmt.Errorf("delete: %w", err)
	}
	gone := map[string]int{}
	n := 0
	for rows.Next() {
		var state string
		if err := rows.Scan(&state); err != nil {
			rows.Close()
			return 0, err
		}
		gone[state]++
		n++
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for state, d := range gone {
		if _, err := tx.ExecContext(ctx, `UPDATE state_counts SET n = n - ? WHERE entity = ? AND state = ?`, d, entity, state); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// DeleteSocotraFailed removes one failed job (after a resume or delete
// upstream) and reports whether it was cached.
func (s *Store) DeleteSocotraFailed(ctx context.Context, group, name string) (bool, error) {
	if s.readOnly {
		return false, ErrReadOnly
	}
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = deleteCounted(ctx, tx, EntitySocotraFailed,
			"DELETE FROM socotra_failed WHERE trigger_group = ? AND trigger_name = ? RETURNING state", group, name)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("delete failed job %q/%q: %w", group, name, err)
	}
	return n > 0, nil
}

// Reads.

// SocotraEvents: see Jobs. List rows carry no Data or Raw.
func (s *Store) SocotraEvents(ctx context.Context, q Query, after *Key, backward bool, limit int) ([]SocotraEventRow, error) {
	return page(ctx, s, socotraEventsEntity, q, after, backward, limit, func(rows *sql.Rows) (SocotraEventRow, error) {
		var r SocotraEventRow
		p := r.ptrs()
		return r, rows.Scan(p[:len(p)-socotraEventPayloadCols]...)
	})
}

// SocotraScheduled: see Jobs.
func (s *Store) SocotraScheduled(ctx context.Context, q Query, after *Key, backward bool, limit int) ([]SocotraScheduledRow, error) {
	return page(ctx, s, socotraScheduledEntity, q, after, backward, limit, func(rows *sql.Rows) (SocotraScheduledRow, error) {
		var r SocotraScheduledRow
		p := r.ptrs()
		return r, rows.Scan(p[:len(p)-socotraScheduledPayloadCols]...)
	})
}

// SocotraFailed: see Jobs.
func (s *Store) SocotraFailed(ctx context.Context, q Query, after *Key, backward bool, limit int) ([]SocotraFailedRow, error) {
	return page(ctx, s, socotraFailedEntity, q, after, backward, limit, func(rows *sql.Rows) (SocotraFailedRow, error) {
		var r SocotraFailedRow
		p := r.ptrs()
		return r, rows.Scan(p[:len(p)-socotraFailedPayloadCols]...)
	})
}

var (
	socotraEventByLocatorSQL = "SELECT " + strings.Join(socotraEventCols, ", ") + " FROM socotra_events WHERE locator = ?"
	socotraFailedByKeySQL    = "SELECT " + strings.Join(socotraFailedCols, ", ") + " FROM socotra_failed WHERE trigger_group = ? AND trigger_name = ?"
)

// SocotraEvent returns one event with its data and raw object, or
// ErrNotFound.
func (s *Store) SocotraEvent(ctx context.Context, locator string) (SocotraEventRow, error) {
	var r SocotraEventRow
	err := s.queryRow(ctx, socotraEventByLocatorSQL, locator).Scan(r.ptrs()...)
	return r, notFound(err, "socotra event", locator)
}

// SocotraFailedJob returns one failed job with its raw object, or
// ErrNotFound.
func (s *Store) SocotraFailedJob(ctx context.Context, group, name string) (SocotraFailedRow, error) {
	var r SocotraFailedRow
	err := s.queryRow(ctx, socotraFailedByKeySQL, group, name).Scan(r.ptrs()...)
	return r, notFound(err, "failed job", group+"/"+name)
}

// GroupCount is a number of rows sharing one value.
type GroupCount struct {
	Value string
	N     int
}

// SocotraFailedGroups returns the trigger groups with the most failed jobs,
// most first (ties by name), at most limit of them. The failed list is a
// small snapshot (hundreds of rows), so this is a scan of it.
func (s *Store) SocotraFailedGroups(ctx context.Context, limit int) ([]GroupCount, error) {
	return s.groupCounts(ctx, `SELECT trigger_group, count(*) AS n FROM socotra_failed
		GROUP BY trigger_group ORDER BY n DESC, trigger_group LIMIT ?`, limit)
}

// groupCounts runs a query of (value, count) rows.
func (s *Store) groupCounts(ctx context.Context, query string, args ...any) ([]GroupCount, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []GroupCount
	for rows.Next() {
		var g GroupCount
		if err := rows.Scan(&g.Value, &g.N); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// SocotraScheduledStates counts a policy's cached scheduled events per
// trigger state (a policy has a handful).
func (s *Store) SocotraScheduledStates(ctx context.Context, policy string) (map[string]int, error) {
	gs, err := s.groupCounts(ctx, `SELECT trigger_state, count(*) FROM socotra_scheduled
		WHERE policy_locator = ? GROUP BY trigger_state`, policy)
	m := make(map[string]int, len(gs))
	for _, g := range gs {
		m[g.Value] = g.N
	}
	return m, err
}
