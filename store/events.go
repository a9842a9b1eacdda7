package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/opsdeck/opsdeck/store/filter"
)

// EntityEvents is the system events entity (seed 002). Its state counters
// count events per severity: StateCounts(ctx, EntityEvents) answers the
// header's "ERROR 12  WARNING 340" without scanning.
const EntityEvents = "events"

// EventRow is a Veza system event (seed 002), times as unix milliseconds.
type EventRow struct {
	RowID       int64
	ID          string
	Timestamp   int64
	PersistedAt int64 // 0 unless the server sends persisted_at
	Severity    string
	Category    string
	EventType   string
	Name        string
	Message     string
	Entity      string // the kind of entity: DATASOURCE, PROVIDER, USER...
	EntityID    string
	EntityName  string
	ProviderID  string
	// ErrorReason and ErrorMessage are the error object's reason and
	// message ("" when the event has no error).
	ErrorReason  string
	ErrorMessage string
	// Error is the error object as JSON text, Metadata its metadata member;
	// both empty when absent. Only detail reads (Event) fill them.
	Error    []byte
	Metadata []byte
	// Raw is the event object as received. Only detail reads fill it.
	Raw      []byte
	SyncedAt int64
}

var eventCols = []string{
	"rowid", "id", "timestamp", "persisted_at", "severity", "category", "event_type", "name",
	"message", "entity", "entity_id", "entity_name", "provider_id", "error_reason",
	"error_message", "synced_at",
	"error", "metadata", "raw",
}

const eventPayloadCols = 3

func (r *EventRow) ptrs() []any {
	return []any{
		&r.RowID, &r.ID, &r.Timestamp, &r.PersistedAt, &r.Severity, &r.Category, &r.EventType, &r.Name,
		&r.Message, &r.Entity, &r.EntityID, &r.EntityName, &r.ProviderID, &r.ErrorReason,
		&r.ErrorMessage, &r.SyncedAt,
		&r.Error, &r.Metadata, &r.Raw,
	}
}

// args are the values for eventCols[1:].
func (r *EventRow) args(syncedAt int64) []any {
	return []any{
		r.ID, r.Timestamp, r.PersistedAt, r.Severity, r.Category, r.EventType, r.Name,
		r.Message, r.Entity, r.EntityID, r.EntityName, r.ProviderID, r.ErrorReason,
		r.ErrorMessage, syncedAt,
		textOrDefault(r.Error, ""), textOrDefault(r.Metadata, ""), textOrDefault(r.Raw, "{}"),
	}
}

// Field: see JobRow.Field.
func (r *EventRow) Field(name string) (any, bool) {
	switch name {
	case "id":
		return r.ID, true
	case "timestamp":
		return r.Timestamp, true
	case "persisted_at":
		return r.PersistedAt, true
	case "severity":
		return r.Severity, true
	case "category":
		return r.Category, true
	case "event_type":
		return r.EventType, true
	case "name":
		return r.Name, true
	case "message":
		return r.Message, true
	case "entity":
		return r.Entity, true
	case "entity_id":
		return r.EntityID, true
	case "entity_name":
		return r.EntityName, true
	case "provider_id":
		return r.ProviderID, true
	case "error_reason":
		return r.ErrorReason, true
	case "error_message":
		return r.ErrorMessage, true
	case "metadata":
		return string(r.Metadata), true
	case "synced_at":
		return r.SyncedAt, true
	}
	return nil, false
}

func (r *EventRow) rowID() int64 { return r.RowID }

var eventsEntity = registerEntity(&entity{EntityEvents, filter.Events, "timestamp", eventCols, eventPayloadCols})

var eventsWrite = writeSpec{"events", upsertSQL("events", eventCols[1:], "id", nil),
	"SELECT json_group_array(json_array(id, severity)) FROM events WHERE id IN (SELECT value FROM json_each(?1))"}

// WriteEvents upserts events and then sets cur (when non-nil), all in one
// transaction, like WriteJobs. An event identical to the stored one costs a
// lookup and no write, so the export's overlapping pages are cheap. The
// severity counters (StateCounts) move in the same transaction.
func (s *Store) WriteEvents(ctx context.Context, rows []EventRow, cur *Cursor) (WriteStats, error) {
	if s.readOnly {
		return WriteStats{}, ErrReadOnly
	}
	// Prepare on the writer before the transaction takes its only
	// connection (Open prepares the LCM tables' statements; this table's
	// are prepared on first use and then cached).
	for _, q := range []string{eventsWrite.upsert, eventsWrite.lookup} {
		if _, err := s.ws.get(ctx, q); err != nil {
			return WriteStats{}, fmt.Errorf("write events: prepare: %w", err)
		}
	}
	return s.write(ctx, eventsWrite, len(rows), func(i int, now int64) (op, error) {
		r := &rows[i]
		if r.ID == "" {
			return op{}, fmt.Errorf("event %d: empty id", i)
		}
		return op{key: r.ID, state: r.Severity, args: r.args(now)}, nil
	}, cur)
}

// EventKey is r's position in q's order.
func EventKey(q Query, r EventRow) Key { return keyOf(eventsEntity, q, &r) }

// Events returns a keyset page of events (see Jobs). List rows carry no
// Error, Metadata or Raw: fetch those with Event. The default order is
// timestamp.
func (s *Store) Events(ctx context.Context, q Query, after *Key, backward bool, limit int) ([]EventRow, error) {
	return page(ctx, s, eventsEntity, q, after, backward, limit, func(rows *sql.Rows) (EventRow, error) {
		var r EventRow
		p := r.ptrs()
		return r, rows.Scan(p[:len(p)-eventPayloadCols]...)
	})
}

var eventByIDSQL = "SELECT " + strings.Join(eventCols, ", ") + " FROM events WHERE id = ?"

// Event returns one event with its error object, metadata and raw object,
// or ErrNotFound.
func (s *Store) Event(ctx context.Context, id string) (EventRow, error) {
	var r EventRow
	err := s.queryRow(ctx, eventByIDSQL, id).Scan(r.ptrs()...)
	return r, notFound(err, "event", id)
}
