package store

import (
	"github.com/opsdeck/opsdeck/internal/jsonscan"
	"github.com/opsdeck/opsdeck/internal/signature"

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
	var sets, where []string
	for _, c := range cols {
		if isKey[c] {
			continue
		}
		expr, ok := set[c]
		if !ok {
			expr = "excluded." + c
		}
		sets = append(sets, fmt.Sprintf("%s = %s", c, expr))
		if c != "synced_at" {
			where = append(where, fmt.Sprintf("%s IS NOT %s", c, expr))
		}
	}
	b.WriteString(strings.Join(sets, ", "))
	b.WriteString("\nWHERE ")
	b.WriteString(strings.Join(where, " OR "))
	return b.String()
}

var (
	// A list without details carries no payloads: keep the stored ones, and
	// the error message derived from them.
	jobUpsertSQL = upsertSQL("jobs", jobCols[1:], "job_id", map[string]string{
		"request":         "coalesce(excluded.request, request)",
		"result":          "coalesce(excluded.result, result)",
		"error_message":   "CASE WHEN excluded.result IS NULL AND excluded.error_message = '' THEN error_message ELSE excluded.error_message END",
		"error_signature": "CASE WHEN excluded.result IS NULL AND excluded.error_message = '' THEN error_signature ELSE excluded.error_signature END",
	})
	taskUpsertSQL   = upsertSQL("tasks", taskCols[1:], "id", nil)
	actionUpsertSQL = upsertSQL("actions", actionCols[1:], "policy_task, action_name", nil)
)

// writeSpec is what a write needs to know about its table.
type writeSpec struct {
	table  string
	upsert string
	// lookup gets the keys of a batch as a JSON array (?1) and returns, in
	// one JSON text, [key..., state] for each of them already stored: one
	// statement and one value instead of a query or a row per key.
	lookup string
}

var (
	jobsWrite = writeSpec{"jobs", jobUpsertSQL,
		"SELECT json_group_array(json_array(job_id, state)) FROM jobs WHERE job_id IN (SELECT value FROM json_each(?1))"}
	tasksWrite = writeSpec{"tasks", taskUpsertSQL,
		"SELECT json_group_array(json_array(id, state)) FROM tasks WHERE id IN (SELECT value FROM json_each(?1))"}
	actionsWrite = writeSpec{"actions", actionUpsertSQL,
		`SELECT json_group_array(json_array(policy_task, action_name, state)) FROM actions
		 WHERE (policy_task, action_name) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1))`}
)

const cursorUpsertSQL = `INSERT INTO sync_cursors (source, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`

// op is one row ready to write: its key as the lookup takes it (a string,
// or a [2]string for actions), its state, and the upsert's arguments.
type op struct {
	key   any
	state string
	args  []any
}

// opKey is the map key of a lookup key.
func opKey(k any) string {
	if pair, ok := k.([2]string); ok {
		return pair[0] + "\x00" + pair[1]
	}
	return k.(string)
}

// WriteJobs upserts rows and then sets cur (when non-nil), all in one
// transaction: either every row and the cursor are stored, or none. The
// cheapest batch is about 1,000 rows: each transaction rewrites every index
// page it touches, and job ids are random.
func (s *Store) WriteJobs(ctx context.Context, rows []JobRow, cur *Cursor) (WriteStats, error) {
	if err := s.prepareJobText(ctx); err != nil {
		return WriteStats{}, err
	}
	texts := make([]jobText, len(rows)) // what the free-text index needs, filled by prep
	var queued int64
	var bulk bool
	st, err := s.writeWith(ctx, jobsWrite, len(rows), func(i int, now int64) (op, error) {
		r := &rows[i]
		if r.JobID == "" {
			return op{}, fmt.Errorf("job %d: empty job_id", i)
		}
		if r.prepared {
			texts[i] = jobText{msg: r.ErrorMessage, hasResult: r.Result != nil}
			return op{
				key:   r.JobID,
				state: r.State,
				args:  r.args(now, r.ErrorMessage, r.ErrorSignature, nullableText(r.Request), nullableText(r.Result), textOrDefault(r.Raw, "{}")),
			}, nil
		}
		raw, req, res := splitJobRaw(r.Raw, r.Request, r.Result)
		if r.Request != nil {
			req = r.Request
		}
		if r.Result != nil {
			res = r.Result
		}
		msg := r.ErrorMessage
		if msg == "" && res != nil {
			msg = firstErrorMessage(res)
		}
		texts[i] = jobText{msg: msg, hasResult: res != nil}
		return op{
			key:   r.JobID,
			state: r.State,
			args:  r.args(now, msg, errorSignature(msg), nullableText(req), nullableText(res), textOrDefault(raw, "{}")),
		}, nil
	}, cur, func(tx *sql.Tx, upsert upsertFunc) (WriteStats, error) {
		var err error
		if bulk, err = jobsBulkTx(ctx, tx); err != nil {
			return WriteStats{}, err
		}
		if bulk {
			// Plain inserts (store/bulk.go): every row is new to a table
			// that was empty, or a duplicate EndBulkJobs removes.
			st, err := s.insertJobsBulk(ctx, tx, rows, cur != nil, upsert)
			queued = int64(st.Inserted)
			return st, err
		}
		st, n, err := s.indexJobText(ctx, tx, rows, texts, upsert)
		queued = n
		return st, err
	})
	if err != nil {
		return st, err
	}
	if bulk {
		// The whole load is indexed at its end, in one pass.
		s.text.backlog.Add(queued)
		return st, nil
	}
	// The rows are stored; indexing the backlog is a separate transaction.
	return st, s.textBacklogGrew(ctx, queued)
}

// insertJobsBulk is the bulk-mode write: upsert runs with the plain insert
// (the stored-state map is empty: every row counts as inserted), and the
// heartbeat that keeps Open from ending the load is set. A page of the pass
// (a write with a cursor) first removes the rows of the load's head (the
// newest jobs, written before the pass without a cursor: see sync's
// syncHead) that it stores again, so that the head costs no table-wide
// dedupe at the end.
func (s *Store) insertJobsBulk(ctx context.Context, tx *sql.Tx, rows []JobRow, pass bool, upsert upsertFunc) (WriteStats, error) {
	again := 0
	if pass {
		var err error
		if again, err = s.dropBulkHeadCopies(ctx, tx, rows); err != nil {
			return WriteStats{}, err
		}
	}
	st, err := upsert(map[string]string{}, jobInsertSQL)
	if err != nil {
		return st, err
	}
	// A head row stored again is not a new job.
	st.Inserted -= again
	st.Updated += again
	return st, setBulkHeartbeat(ctx, tx, bulkJobs)
}

// errorSignature is the grouping key of an error message ("" for none).
func errorSignature(msg string) string {
	if msg == "" {
		return ""
	}
	return signature.Normalize(msg)
}

// WriteTasks: see WriteJobs.
func (s *Store) WriteTasks(ctx context.Context, rows []TaskRow, cur *Cursor) (WriteStats, error) {
	return s.write(ctx, tasksWrite, len(rows), func(i int, now int64) (op, error) {
		r := &rows[i]
		if r.ID == "" {
			return op{}, fmt.Errorf("task %d: empty id", i)
		}
		msgs := "[]"
		if len(r.Messages) > 0 {
			b, err := json.Marshal(r.Messages)
			if err != nil {
				return op{}, err
			}
			msgs = string(b)
		}
		msg := r.ErrorMessage
		if msg == "" && len(r.Messages) > 0 {
			msg = r.Messages[0]
		}
		return op{key: r.ID, state: r.State, args: r.args(now, msgs, msg, errorSignature(msg))}, nil
	}, cur)
}

// WriteActions: see WriteJobs.
func (s *Store) WriteActions(ctx context.Context, rows []ActionRow, cur *Cursor) (WriteStats, error) {
	return s.write(ctx, actionsWrite, len(rows), func(i int, now int64) (op, error) {
		r := &rows[i]
		if r.PolicyTask == "" || r.ActionName == "" {
			return op{}, fmt.Errorf("action %d: empty policy_task or action_name", i)
		}
		return op{key: [2]string{r.PolicyTask, r.ActionName}, state: r.State, args: r.args(now)}, nil
	}, cur)
}

func (s *Store) write(ctx context.Context, spec writeSpec, n int, prep func(i int, now int64) (op, error), cur *Cursor) (WriteStats, error) {
	bt := bulkTables[spec.table]
	if bt == nil {
		return s.writeWith(ctx, spec, n, prep, cur, nil)
	}
	return s.writeWith(ctx, spec, n, prep, cur, func(tx *sql.Tx, upsert upsertFunc) (WriteStats, error) {
		bulk, err := bulkTx(ctx, tx, bt)
		if err != nil || !bulk {
			if err != nil {
				return WriteStats{}, err
			}
			return upsert(nil, "")
		}
		// A first sync (store/bulk.go): plain inserts, all new rows.
		st, err := upsert(map[string]string{}, bt.insert)
		if err != nil {
			return st, err
		}
		return st, setBulkHeartbeat(ctx, tx, bt)
	})
}

// upsertFunc writes a batch given the stored states of its keys (nil: it
// reads them) with the statement insert ("": the table's upsert).
type upsertFunc func(stored map[string]string, insert string) (WriteStats, error)

// writeWith is write with a hook: around, when non-nil, runs the upsert
// (by calling upsert) inside the transaction, so it can read what the rows
// were before and write derived data after (the jobs' free-text index).
// When around has read the stored states of the batch's keys already, it
// passes them to upsert (nil: upsert reads them itself).
func (s *Store) writeWith(ctx context.Context, spec writeSpec, n int, prep func(i int, now int64) (op, error), cur *Cursor,
	around func(tx *sql.Tx, upsert upsertFunc) (WriteStats, error)) (WriteStats, error) {
	if s.readOnly {
		return WriteStats{}, ErrReadOnly
	}
	var st WriteStats
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		upsert := func(stored map[string]string, insert string) (WriteStats, error) {
			sp := spec
			if insert != "" {
				sp.upsert = insert
			}
			return s.upsertAllStored(ctx, tx, sp, n, prep, stored)
		}
		var err error
		if around != nil {
			st, err = around(tx, upsert)
		} else {
			st, err = upsert(nil, "")
		}
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
		return WriteStats{}, fmt.Errorf("write %s: %w", spec.table, err)
	}
	return st, nil
}

// upsertAll writes n rows and moves their state counters. The stored state
// of every row is read first, in one query: it tells an insert from an
// update (with RowsAffected telling an update from no change) and which
// counter to decrement. Measured against the alternatives: triggers force a
// statement journal on every upsert (+11% CPU), a lookup per row or an
// upsert with RETURNING cost more than this one batched read.
func (s *Store) upsertAll(ctx context.Context, tx *sql.Tx, spec writeSpec, n int, prep func(i int, now int64) (op, error)) (WriteStats, error) {
	return s.upsertAllStored(ctx, tx, spec, n, prep, nil)
}

// upsertAllStored is upsertAll given the stored states of the batch's keys
// (as storedStates returns them), when the caller has read them already.
func (s *Store) upsertAllStored(ctx context.Context, tx *sql.Tx, spec writeSpec, n int, prep func(i int, now int64) (op, error), stored map[string]string) (WriteStats, error) {
	var st WriteStats
	if n == 0 {
		return st, nil
	}
	now := nowMS()
	ops := make([]op, n)
	keys := make([]any, n)
	for i := range ops {
		o, err := prep(i, now)
		if err != nil {
			return st, err
		}
		ops[i], keys[i] = o, o.key
	}
	if stored == nil {
		var err error
		if stored, err = s.storedStates(ctx, tx, spec, keys); err != nil {
			return st, err
		}
	}

	// A cancellable ctx makes the driver start a watcher goroutine per
	// statement; check it once per row instead. The transaction itself is
	// bound to ctx and rolls back when it is cancelled.
	stmtCtx := context.WithoutCancel(ctx)
	delta := map[string]int{}
	if spec.upsert == jobInsertSQL {
		// A bulk load (bulk.go): plain inserts, several rows a statement.
		if err := s.insertMany(ctx, tx, ops); err != nil {
			return st, err
		}
		for _, o := range ops {
			st.Inserted++
			delta[o.state]++
		}
		ops = nil
	}
	upsert, err := s.txStmt(ctx, tx, spec.upsert)
	if err != nil {
		return st, err
	}
	defer upsert.Close()
	for i, o := range ops {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		res, err := upsert.ExecContext(stmtCtx, o.args...)
		if err != nil {
			return st, fmt.Errorf("row %d: %w", i, err)
		}
		changed, err := res.RowsAffected()
		if err != nil {
			return st, err
		}
		k := opKey(o.key)
		old, exists := stored[k]
		switch {
		case !exists:
			st.Inserted++
			delta[o.state]++
		case changed == 0:
			st.Unchanged++
		default:
			st.Updated++
			if old != o.state {
				delta[old]--
				delta[o.state]++
			}
		}
		stored[k] = o.state // the same key may come again in this batch
	}
	for state, d := range delta {
		if d == 0 {
			continue
		}
		if _, err := tx.ExecContext(stmtCtx, `INSERT INTO state_counts (entity, state, n) VALUES (?, ?, ?)
			ON CONFLICT (entity, state) DO UPDATE SET n = n + excluded.n`, spec.table, state, d); err != nil {
			return st, err
		}
	}
	return st, nil
}

// txStmt is the writer's statement for query (prepared by Open), bound to
// tx: the upsert is parsed once per Store, not once per page.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	st, ok := s.ws.lookup(query)
	if !ok {
		return tx.PrepareContext(ctx, query)
	}
	return tx.StmtContext(ctx, st), nil
}

// storedStates maps the key (opKey) of every stored row among keys to its
// state.
func (s *Store) storedStates(ctx context.Context, tx *sql.Tx, spec writeSpec, keys []any) (map[string]string, error) {
	arr, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	lookup, err := s.txStmt(ctx, tx, spec.lookup)
	if err != nil {
		return nil, err
	}
	defer lookup.Close()
	var found string
	if err := lookup.QueryRowContext(ctx, string(arr)).Scan(&found); err != nil {
		return nil, fmt.Errorf("look up stored %s: %w", spec.table, err)
	}
	var tuples [][]string
	if err := json.Unmarshal([]byte(found), &tuples); err != nil {
		return nil, fmt.Errorf("look up stored %s: %w", spec.table, err)
	}
	m := make(map[string]string, len(keys))
	for _, t := range tuples {
		switch len(t) {
		case 2:
			m[t[0]] = t[1]
		case 3:
			m[opKey([2]string{t[0], t[1]})] = t[2]
		}
	}
	return m, nil
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
	s.ckpt.poke()
	return nil
}

// GetCursor returns the stored value for source.
func (s *Store) GetCursor(ctx context.Context, source string) (value string, ok bool, err error) {
	err = s.queryRow(ctx, "SELECT value FROM sync_cursors WHERE source = ?", source).Scan(&value)
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
	err = s.queryRow(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return value, err == nil, err
}

// firstErrorMessage is result.error_messages[0], or "" when there is none or
// the result is not the JSON object we expect. It decodes only that string:
// this runs for every job written with details.
func firstErrorMessage(result []byte) string {
	i := bytes.Index(result, []byte(`"error_messages"`))
	if i < 0 {
		return ""
	}
	i = jsonscan.SkipSpace(result, i+len(`"error_messages"`))
	if i >= len(result) || result[i] != ':' {
		return ""
	}
	i = jsonscan.SkipSpace(result, i+1)
	if i >= len(result) || result[i] != '[' {
		return "" // null or not an array
	}
	i = jsonscan.SkipSpace(result, i+1)
	end, ok := jsonscan.SkipValue(result, i)
	if !ok || result[i] != '"' {
		return ""
	}
	var msg string
	if json.Unmarshal(result[i:end], &msg) != nil {
		return ""
	}
	return msg
}

// splitJobRaw moves the top-level "request" and "result" members out of a
// job object, returning the rest (member bytes preserved) and the two values
// (nil when absent or null). Anything that is not a well-formed object is
// returned as is. knownReq and knownRes, when given, are the values the
// caller already decoded: a member whose bytes start with them is skipped
// with one comparison instead of a scan, which is most of the work.
func splitJobRaw(raw, knownReq, knownRes []byte) (rest, request, result []byte) {
	i := jsonscan.SkipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return raw, nil, nil
	}
	out := make([]byte, 0, len(raw))
	out = append(out, '{')
	i++
	for {
		i = jsonscan.SkipSpace(raw, i)
		if i >= len(raw) {
			return raw, nil, nil
		}
		if raw[i] == '}' {
			break
		}
		memberStart := i
		keyEnd, ok := jsonscan.SkipValue(raw, i)
		if !ok || raw[i] != '"' {
			return raw, nil, nil
		}
		key := raw[i+1 : keyEnd-1]
		i = jsonscan.SkipSpace(raw, keyEnd)
		if i >= len(raw) || raw[i] != ':' {
			return raw, nil, nil
		}
		valStart := jsonscan.SkipSpace(raw, i+1)
		var valEnd int
		isReq, isRes := string(key) == "request", string(key) == "result"
		switch {
		case isReq && len(knownReq) > 0 && bytes.HasPrefix(raw[valStart:], knownReq):
			valEnd = valStart + len(knownReq)
		case isRes && len(knownRes) > 0 && bytes.HasPrefix(raw[valStart:], knownRes):
			valEnd = valStart + len(knownRes)
		default:
			if valEnd, ok = jsonscan.SkipValue(raw, valStart); !ok {
				return raw, nil, nil
			}
		}
		val := raw[valStart:valEnd]
		switch {
		case isReq:
			if string(val) != "null" {
				request = val
			}
		case isRes:
			if string(val) != "null" {
				result = val
			}
		default:
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, raw[memberStart:valEnd]...)
		}
		i = jsonscan.SkipSpace(raw, valEnd)
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
