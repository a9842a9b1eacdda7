package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Cursor is where a sync stream stopped, written in the same transaction as
// the rows it covers so that a crash never skips or double-counts a page.
type Cursor struct {
	Source string // e.g. "veza/jobs"
	Value  string // opaque to the store: a page token or a high-water mark
}

// WriteStats counts what a write did with each row. Unchanged rows (a
// re-sync of data the cache already has) cost a lookup and no write.
type WriteStats struct {
	Inserted, Updated, Unchanged int
}

func (w *WriteStats) add(o WriteStats) {
	w.Inserted += o.Inserted
	w.Updated += o.Updated
	w.Unchanged += o.Unchanged
}

// upsertSQL builds INSERT ... ON CONFLICT(key) DO UPDATE SET ... WHERE <a
// column would change>. set overrides the plain "col = excluded.col" for
// columns that must survive a write without them (payloads). synced_at is
// written but never compared, so an unchanged re-sync is a read, not a write.
func upsertSQL(table string, cols []string, key string, set map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES (?%s)\nON CONFLICT (%s) DO UPDATE SET ",
		table, strings.Join(cols, ", "), strings.Repeat(", ?", len(cols)-1), key)
	isKey := map[string]bool{}
	for _, k := range strings.Split(key, ",") {
		isKey[strings.TrimSpace(k)] = true
	}
	var where []string
	first := true
	for _, c := range cols {
		if isKey[c] {
			continue
		}
		expr, ok := set[c]
		if !ok {
			expr = "excluded." + c
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		fmt.Fprintf(&b, "%s = %s", c, expr)
		if c != "synced_at" {
			where = append(where, fmt.Sprintf("%s IS NOT %s", c, expr))
		}
	}
	b.WriteString("\nWHERE ")
	b.WriteString(strings.Join(where, " OR "))
	return b.String()
}

var (
	// A list without details carries no payloads: keep the stored ones, and
	// the error message derived from them.
	jobUpsertSQL = upsertSQL("jobs", jobCols[1:], "job_id", map[string]string{
		"request":       "coalesce(excluded.request, request)",
		"result":        "coalesce(excluded.result, result)",
		"error_message": "CASE WHEN excluded.result IS NULL AND excluded.error_message = '' THEN error_message ELSE excluded.error_message END",
	})
	taskUpsertSQL   = upsertSQL("tasks", taskCols[1:], "id", nil)
	actionUpsertSQL = upsertSQL("actions", actionCols[1:], "policy_task, action_name", nil)
)

const cursorUpsertSQL = `INSERT INTO sync_cursors (source, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`

// WriteJobs upserts rows and then sets cur (when non-nil), all in one
// transaction: either every row and the cursor are stored, or none.
func (s *Store) WriteJobs(ctx context.Context, rows []JobRow, cur *Cursor) (WriteStats, error) {
	return s.write(ctx, "jobs", jobUpsertSQL, len(rows), func(i int, now int64) ([]any, error) {
		r := &rows[i]
		if r.JobID == "" {
			return nil, fmt.Errorf("job %d: empty job_id", i)
		}
		raw, req, res := splitJobRaw(r.Raw)
		if r.Request != nil {
			req = r.Request
		}
		if r.Result != nil {
			res = r.Result
		}
		row := *r
		if row.ErrorMessage == "" && res != nil {
			row.ErrorMessage = firstErrorMessage(res)
		}
		return row.args(now, nullableText(req), nullableText(res), textOrDefault(raw, "{}")), nil
	}, cur)
}

// WriteTasks: see WriteJobs.
func (s *Store) WriteTasks(ctx context.Context, rows []TaskRow, cur *Cursor) (WriteStats, error) {
	return s.write(ctx, "tasks", taskUpsertSQL, len(rows), func(i int, now int64) ([]any, error) {
		r := &rows[i]
		if r.ID == "" {
			return nil, fmt.Errorf("task %d: empty id", i)
		}
		msgs := "[]"
		if len(r.Messages) > 0 {
			b, err := json.Marshal(r.Messages)
			if err != nil {
				return nil, err
			}
			msgs = string(b)
		}
		row := *r
		if row.ErrorMessage == "" && len(row.Messages) > 0 {
			row.ErrorMessage = row.Messages[0]
		}
		return row.args(msgs, now), nil
	}, cur)
}

// WriteActions: see WriteJobs.
func (s *Store) WriteActions(ctx context.Context, rows []ActionRow, cur *Cursor) (WriteStats, error) {
	return s.write(ctx, "actions", actionUpsertSQL, len(rows), func(i int, now int64) ([]any, error) {
		r := &rows[i]
		if r.PolicyTask == "" || r.ActionName == "" {
			return nil, fmt.Errorf("action %d: empty policy_task or action_name", i)
		}
		return r.args(now), nil
	}, cur)
}

func (s *Store) write(ctx context.Context, table, upsert string, n int, args func(i int, now int64) ([]any, error), cur *Cursor) (st WriteStats, err error) {
	if s.readOnly {
		return st, ErrReadOnly
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		st = WriteStats{}
		var err error
		st, err = upsertAll(ctx, tx, table, upsert, n, args)
		if err != nil {
			return err
		}
		if cur != nil {
			if _, err := tx.ExecContext(ctx, cursorUpsertSQL, cur.Source, cur.Value, nowMS()); err != nil {
				return fmt.Errorf("set cursor %s: %w", cur.Source, err)
			}
		}
		return nil
	})
	if err != nil {
		return WriteStats{}, fmt.Errorf("write %s: %w", table, err)
	}
	return st, nil
}

func upsertAll(ctx context.Context, tx *sql.Tx, table, upsert string, n int, args func(i int, now int64) ([]any, error)) (WriteStats, error) {
	var st WriteStats
	if n == 0 {
		return st, nil
	}
	// A new row's rowid is always above every rowid present, and an upsert
	// that updates leaves last_insert_rowid at the previous insert: so a row
	// was inserted iff the statement changed a row and reported a rowid above
	// the highest one seen so far.
	var maxID int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(rowid), 0) FROM "+table).Scan(&maxID); err != nil {
		return st, err
	}
	stmt, err := tx.PrepareContext(ctx, upsert)
	if err != nil {
		return st, err
	}
	defer stmt.Close()
	// A cancellable ctx makes the driver start a watcher goroutine per
	// statement; check it once per row instead. The transaction itself is
	// bound to ctx and rolls back when it is cancelled.
	stmtCtx := context.WithoutCancel(ctx)
	now := nowMS()
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		a, err := args(i, now)
		if err != nil {
			return st, err
		}
		res, err := stmt.ExecContext(stmtCtx, a...)
		if err != nil {
			return st, fmt.Errorf("row %d: %w", i, err)
		}
		changed, _ := res.RowsAffected()
		id, _ := res.LastInsertId()
		switch {
		case changed == 0:
			st.Unchanged++
		case id > maxID:
			st.Inserted++
			maxID = id
		default:
			st.Updated++
		}
	}
	return st, nil
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE via the DSN's
// _txlock, so two writers queue on busy_timeout instead of deadlocking).
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Commit succeeds even when ctx was cancelled after the last statement;
	// that is fine: the work is durable and consistent.
	return nil
}

// GetCursor returns the stored value for source.
func (s *Store) GetCursor(ctx context.Context, source string) (value string, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, "SELECT value FROM sync_cursors WHERE source = ?", source).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return value, err == nil, err
}

// Well-known meta keys.
const (
	MetaSourceURL = "source_url"
	MetaLastSync  = "last_sync" // RFC 3339 time of the last successful sync
	MetaProfile   = "profile"
)

// SetMeta stores a small fact about the cache. Keys that name a credential
// are refused: the cache file may be copied around, a token must never be in
// it.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	if s.readOnly {
		return ErrReadOnly
	}
	k := strings.ToLower(key)
	for _, bad := range []string{"token", "secret", "password", "api_key", "apikey", "authorization", "credential"} {
		if strings.Contains(k, bad) {
			return fmt.Errorf("meta key %q looks like a credential; the cache never stores credentials", key)
		}
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// GetMeta returns the value stored for key.
func (s *Store) GetMeta(ctx context.Context, key string) (value string, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return value, err == nil, err
}

// firstErrorMessage is result.error_messages[0], or "" when there is none or
// the result is not the JSON object we expect.
func firstErrorMessage(result []byte) string {
	if !bytes.Contains(result, []byte(`"error_messages"`)) {
		return ""
	}
	var r struct {
		ErrorMessages []string `json:"error_messages"`
	}
	if json.Unmarshal(result, &r) != nil || len(r.ErrorMessages) == 0 {
		return ""
	}
	return r.ErrorMessages[0]
}

// splitJobRaw moves the top-level "request" and "result" members out of a
// job object, returning the rest (member bytes preserved) and the two values
// (nil when absent or null). Anything that is not a well-formed object is
// returned as is.
func splitJobRaw(raw []byte) (rest, request, result []byte) {
	if !bytes.Contains(raw, []byte(`"request"`)) && !bytes.Contains(raw, []byte(`"result"`)) {
		return raw, nil, nil
	}
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return raw, nil, nil
	}
	out := make([]byte, 0, len(raw))
	out = append(out, '{')
	i++
	for {
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return raw, nil, nil
		}
		if raw[i] == '}' {
			break
		}
		memberStart := i
		keyEnd, ok := skipValue(raw, i)
		if !ok || raw[i] != '"' {
			return raw, nil, nil
		}
		key := raw[i+1 : keyEnd-1]
		i = skipSpace(raw, keyEnd)
		if i >= len(raw) || raw[i] != ':' {
			return raw, nil, nil
		}
		valStart := skipSpace(raw, i+1)
		valEnd, ok := skipValue(raw, valStart)
		if !ok {
			return raw, nil, nil
		}
		val := raw[valStart:valEnd]
		switch {
		case string(key) == "request":
			if string(val) != "null" {
				request = val
			}
		case string(key) == "result":
			if string(val) != "null" {
				result = val
			}
		default:
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, raw[memberStart:valEnd]...)
		}
		i = skipSpace(raw, valEnd)
		if i < len(raw) && raw[i] == ',' {
			i++
			continue
		}
		if i < len(raw) && raw[i] == '}' {
			break
		}
		return raw, nil, nil
	}
	out = append(out, '}')
	return out, request, result
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value starting at i. It
// trusts the value to be valid JSON apart from balancing brackets and
// strings, which is all splitting needs.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}
		return len(b), false
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := skipValue(b, j)
				if !ok {
					return end, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return len(b), false
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
			j++
		}
		return j, j > i
	}
}
