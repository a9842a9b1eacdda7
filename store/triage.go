package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/signature"
	"github.com/opsdeck/opsdeck/store/filter"
)

// Triage: error groups by signature, local acknowledgement marks, and
// free-text search (migration 0006). Signatures are computed on write
// (write.go), so every read here is an index scan.

// ---- free-text index (jobs_fts) ----------------------------------------

// textIndexBatch is how long the backlog of the free-text index (see
// jobs_fts_state in migration 0006) grows before the write that grew it
// indexes it. Measured on 100k jobs: indexing each 1,000-job page in its
// own transaction cost ~50 CPU-µs per job (ingest CPU doubled), indexing
// 20,000 at a time ~6.5 (5,000 at a time ~10). A search reads at most
// this many backlog rows directly.
const textIndexBatch = 20_000

// textIndexState is the Store's count of the backlog.
type textIndexState struct {
	backlog atomic.Int64 // jobs not indexed or indexed stale (counted at Open, then kept)
	batch   int          // 0: textIndexBatch; tests set it
	dense   int          // 0: textDense; tests set it
}

// jobText is what the free-text index needs from a job being written that
// the row itself does not say: the error message the store derived, and
// whether the write carries a result (without one the stored message is
// kept, see jobUpsertSQL).
type jobText struct {
	msg       string
	hasResult bool
}

const (
	// New rows take rowid max+1: after a delete at the top (Prune) the
	// mark must come down to max, or a new row could take a rowid below it
	// and pass for indexed.
	textClampSQL = `UPDATE jobs_fts_state SET indexed_upto = (SELECT coalesce(max(rowid), 0) FROM jobs)
		WHERE indexed_upto > (SELECT coalesce(max(rowid), 0) FROM jobs)`
	// It also returns each job's state: the write's stored-state lookup
	// (storedStates) comes from the same query.
	textLookupSQL = `SELECT json_group_array(json_array(job_id, CAST(rowid AS TEXT), identity_name, action_name, workflow_name, error_message, state))
		|| char(0) || (SELECT indexed_upto FROM jobs_fts_state)
		FROM jobs WHERE job_id IN (SELECT value FROM json_each(?1))`
	// A job already in the backlog keeps its entry: its values are what
	// the index holds.
	textStaleSQL = `INSERT OR IGNORE INTO jobs_fts_pending (rowid, identity_name, action_name, workflow_name, error_message)
		VALUES (?, ?, ?, ?, ?)`
)

// prepareJobText caches the statements on the writer, outside any
// transaction (the writer's one connection cannot prepare for itself while
// a transaction holds it).
func (s *Store) prepareJobText(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	for _, q := range []string{textClampSQL, textLookupSQL, textStaleSQL, jobInsertSQL, jobInsertFullSQL} {
		if _, err := s.ws.get(ctx, q); err != nil {
			return fmt.Errorf("write jobs: prepare: %w", err)
		}
	}
	return nil
}

type ftsText struct{ identity, action, workflow, msg string }

// indexJobText runs upsert and records, for the free-text index, the jobs
// whose indexed columns change while the index holds their old values (a
// new job needs nothing: its rowid is above the index's mark). An
// unchanged job costs its share of one batched lookup. It returns how much
// the backlog grew.
func (s *Store) indexJobText(ctx context.Context, tx *sql.Tx, rows []JobRow, texts []jobText, upsert upsertFunc) (WriteStats, int64, error) {
	keys := make([]string, len(rows))
	for i := range rows {
		keys[i] = rows[i].JobID
	}
	arr, err := json.Marshal(keys)
	if err != nil {
		return WriteStats{}, 0, err
	}
	type stored struct {
		rowid int64
		text  ftsText
	}
	old := map[string]stored{}
	states := make(map[string]string, len(rows)) // job_id -> stored state, for upsert
	var upto int64
	{
		clamp, err := s.txStmt(ctx, tx, textClampSQL)
		if err != nil {
			return WriteStats{}, 0, err
		}
		_, err = clamp.ExecContext(ctx)
		clamp.Close()
		if err != nil {
			return WriteStats{}, 0, fmt.Errorf("text index mark: %w", err)
		}
		lookup, err := s.txStmt(ctx, tx, textLookupSQL)
		if err != nil {
			return WriteStats{}, 0, err
		}
		var found string
		err = lookup.QueryRowContext(ctx, string(arr)).Scan(&found)
		lookup.Close()
		if err != nil {
			return WriteStats{}, 0, fmt.Errorf("look up stored job text: %w", err)
		}
		list, mark, _ := strings.Cut(found, "\x00")
		if upto, err = strconv.ParseInt(mark, 10, 64); err != nil {
			return WriteStats{}, 0, fmt.Errorf("text index mark %q: %w", mark, err)
		}
		if list != "[]" {
			var tuples [][7]string
			if err := json.Unmarshal([]byte(list), &tuples); err != nil {
				return WriteStats{}, 0, fmt.Errorf("look up stored job text: %w", err)
			}
			for _, t := range tuples {
				id, err := strconv.ParseInt(t[1], 10, 64)
				if err != nil {
					return WriteStats{}, 0, fmt.Errorf("look up stored job text: %w", err)
				}
				states[t[0]] = t[6]
				if id <= upto { // above the mark: not indexed, nothing to undo
					old[t[0]] = stored{id, ftsText{t[2], t[3], t[4], t[5]}}
				}
			}
		}
	}
	st, err := upsert(states, "") // fills texts
	if err != nil {
		return st, 0, err
	}
	grew := int64(st.Inserted)
	if len(old) == 0 {
		return st, grew, nil
	}
	// What each indexed job's columns hold now, replaying the batch in
	// order (a job may come twice; a write without a result keeps the
	// stored message).
	final := make(map[string]ftsText, len(old))
	for i := range rows {
		r := &rows[i]
		o, ok := old[r.JobID]
		if !ok {
			continue
		}
		t := ftsText{r.IdentityName, r.ActionName, r.WorkflowName, texts[i].msg}
		if t.msg == "" && !texts[i].hasResult {
			if prev, ok := final[r.JobID]; ok {
				t.msg = prev.msg
			} else {
				t.msg = o.text.msg
			}
		}
		final[r.JobID] = t
	}
	var stale *sql.Stmt
	defer func() {
		if stale != nil {
			stale.Close()
		}
	}()
	for _, k := range keys {
		t, ok := final[k]
		if !ok {
			continue // not indexed, or a repeated key done already
		}
		delete(final, k)
		o := old[k]
		if o.text == t {
			continue
		}
		if stale == nil {
			if stale, err = s.txStmt(ctx, tx, textStaleSQL); err != nil {
				return st, 0, err
			}
		}
		res, err := stale.ExecContext(ctx, o.rowid, o.text.identity, o.text.action, o.text.workflow, o.text.msg)
		if err != nil {
			return st, 0, fmt.Errorf("text index backlog, job %s: %w", k, err)
		}
		n, _ := res.RowsAffected()
		grew += n
	}
	return st, grew, nil
}

// textBacklogGrew notes n more jobs in the backlog and indexes it when it
// is long enough.
func (s *Store) textBacklogGrew(ctx context.Context, n int64) error {
	batch := int64(cmp.Or(s.text.batch, textIndexBatch))
	if s.text.backlog.Add(n) < batch {
		return nil
	}
	return s.FlushTextIndex(ctx)
}

// FlushTextIndex indexes the backlog now, in one transaction. Writes call
// it when the backlog is long enough; searches never need it (they read
// the backlog directly), so calling it is only ever an optimisation, say
// at the end of a sync.
func (s *Store) FlushTextIndex(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := flushTextIndexTx(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	s.text.backlog.Store(0)
	return nil
}

// flushTextIndexTx indexes the backlog inside tx and returns how many jobs
// it indexed. Whatever deletes jobs must call it first in the same
// transaction (Prune does): the index can only be told to forget a row
// with the values it holds for it, and a backlog row's are not in jobs.
func flushTextIndexTx(ctx context.Context, tx *sql.Tx) (int64, error) {
	var upto int64
	if err := tx.QueryRowContext(ctx, "SELECT indexed_upto FROM jobs_fts_state").Scan(&upto); err != nil {
		return 0, fmt.Errorf("index job text: %w", err)
	}
	var n int64
	for i, q := range []string{
		`INSERT INTO jobs_fts (jobs_fts, rowid, identity_name, action_name, workflow_name, error_message)
		 SELECT 'delete', rowid, identity_name, action_name, workflow_name, error_message FROM jobs_fts_pending`,
		`INSERT INTO jobs_fts (rowid, identity_name, action_name, workflow_name, error_message)
		 SELECT j.rowid, j.identity_name, j.action_name, j.workflow_name, j.error_message
		 FROM jobs_fts_pending p JOIN jobs j ON j.rowid = p.rowid`,
		`INSERT INTO jobs_fts (rowid, identity_name, action_name, workflow_name, error_message)
		 SELECT rowid, identity_name, action_name, workflow_name, error_message FROM jobs WHERE rowid > ?1`,
		`UPDATE jobs_fts_state SET indexed_upto = (SELECT coalesce(max(rowid), 0) FROM jobs)`,
		`DELETE FROM jobs_fts_pending`,
	} {
		res, err := tx.ExecContext(ctx, q, upto)
		if err != nil {
			return 0, fmt.Errorf("index job text: %w", err)
		}
		if i == 1 || i == 2 {
			k, _ := res.RowsAffected()
			n += k
		}
	}
	return n, nil
}

// textSearch names, per entity, the columns Query.Text searches and the
// trigram index over them ("" for none: a LIKE scan).
var textSearch = map[string]struct {
	fts  string
	cols []string
}{
	EntityJobs:    {"jobs_fts", []string{"identity_name", "action_name", "workflow_name", "error_message"}},
	EntityTasks:   {"", []string{"identity_name", "workflow", "error_message"}},
	EntityActions: {"", []string{"identity_name", "action_name", "workflow_name", "error_message"}},
}

// textHow is how a page query matches Query.Text.
type textHow int

const (
	// textIndexed: the rows the trigram index finds (and its backlog),
	// fetched by rowid and sorted: cheap when they are few.
	textIndexed textHow = iota
	// textScanned: LIKE on each row, in the order's index: cheap when
	// matches are dense, since the first page is met within a few hundred
	// rows (a common name on 1M jobs: 125k matches, 1.5 s sorted, ms
	// scanned).
	textScanned
)

// textDense is the number of index matches from which a page query scans
// instead: scanning costs ~50/density rows read, fetching and sorting ~one
// row read per match; with ~3 µs per row scanned against ~10 µs per row
// fetched and sorted, they cross near sqrt(15·N) matches, ~4k on 1M jobs.
const textDense = 4000

// textPlan decides how a page query matches text on e: it counts the
// index's matches, stopping at textDense.
func (s *Store) textPlan(ctx context.Context, e *entity, text string) (textHow, error) {
	ts, ok := textSearch[e.table]
	if !ok || ts.fts == "" || utf8.RuneCountInString(text) < 3 {
		return textScanned, nil // LIKE either way
	}
	dense := cmp.Or(s.text.dense, textDense)
	var n int
	err := s.queryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM "+ts.fts+" WHERE "+ts.fts+" MATCH ? LIMIT ?)",
		ftsTrigrams(cleanText(text)), dense).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("free text %q: %w", text, err)
	}
	if n >= dense {
		return textScanned, nil
	}
	return textIndexed, nil
}

func cleanText(text string) string { return strings.ReplaceAll(text, "\x00", "") }

// textCond is the WHERE condition for Query.Text on e, through the index
// when it can (textIndexed).
func textCond(e *entity, text string) (string, []any, error) {
	return textCondHow(e, text, textIndexed)
}

// textCondHow is textCond matched as how says. The trigram index needs
// three characters; shorter texts (and tables without an index) are LIKE
// scans. Both ways select exactly the same rows (TestFreeTextMatchesLike).
func textCondHow(e *entity, text string, how textHow) (string, []any, error) {
	ts, ok := textSearch[e.table]
	if !ok {
		return "", nil, fmt.Errorf("%s has no free-text search", e.table)
	}
	text = cleanText(text)
	like, largs := likeAny(ts.cols, e.table+".", text)
	if ts.fts == "" || how == textScanned || utf8.RuneCountInString(text) < 3 {
		return like, largs, nil
	}
	// The index, minus the rows it holds stale text for, plus the backlog
	// (see jobs_fts_state) read from the table: rows above the mark and
	// the stale ones. CROSS JOIN keeps the (small) backlog table outside.
	// The index answers "has all these trigrams" (detail=none: not
	// whether they are adjacent), so its rows are checked with LIKE too.
	tlike, _ := likeAny(ts.cols, "t.", text)
	return "(" + e.table + ".rowid IN (SELECT rowid FROM " + ts.fts + " WHERE " + ts.fts + " MATCH ?" +
			" AND rowid NOT IN (SELECT rowid FROM jobs_fts_pending)" +
			" UNION ALL SELECT t.rowid FROM " + e.table + " t WHERE t.rowid > (SELECT indexed_upto FROM jobs_fts_state) AND " + tlike +
			" UNION ALL SELECT t.rowid FROM jobs_fts_pending p CROSS JOIN " + e.table + " t ON t.rowid = p.rowid WHERE " + tlike + ")" +
			" AND " + like + ")",
		append(append(append([]any{ftsTrigrams(text)}, largs...), largs...), largs...), nil
}

// numbered rewrites the ? of q as ?from, ?from+1, …
func numbered(q string, from int) string {
	var b strings.Builder
	for _, part := range strings.SplitAfter(q, "?") {
		b.WriteString(part)
		if strings.HasSuffix(part, "?") {
			b.WriteString(strconv.Itoa(from))
			from++
		}
	}
	return b.String()
}

// likeAny is "any of cols contains text" (ASCII letters folded, as LIKE
// does), with prefix before each column name.
func likeAny(cols []string, prefix, text string) (string, []any) {
	pat := likeContains(text)
	conds := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		conds[i] = prefix + c + ` LIKE ? ESCAPE '\'`
		args[i] = pat
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// ftsTrigrams is the FTS5 query for "has every trigram of text" (text has
// three characters or more): each trigram quoted (inside double quotes
// every character is literal but the quote, which is doubled), joined by
// AND. A long text asks for at most maxTrigrams of them, spread over it:
// the LIKE check that follows makes the result exact anyway, and each term
// reads one list of jobs.
func ftsTrigrams(text string) string {
	rs := []rune(text)
	n := len(rs) - 2
	step := 1
	if n > maxTrigrams {
		step = (n + maxTrigrams - 1) / maxTrigrams
	}
	seen := map[string]bool{}
	var b strings.Builder
	add := func(i int) {
		t := strings.ToLower(string(rs[i : i+3]))
		if seen[t] {
			return
		}
		seen[t] = true
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(`"` + strings.ReplaceAll(t, `"`, `""`) + `"`)
	}
	for i := 0; i < n; i += step {
		add(i)
	}
	add(n - 1) // the last one, whatever the step
	return b.String()
}

// maxTrigrams bounds the terms of ftsTrigrams.
const maxTrigrams = 12

func likeContains(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('%')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('%')
	return b.String()
}

// CountQuery is Count honouring all of q (Where and Text; the order does
// not matter).
func (s *Store) CountQuery(ctx context.Context, entityName string, q Query) (int, error) {
	if q.Text == "" {
		return s.Count(ctx, entityName, q.Where)
	}
	e, err := entityByName(entityName)
	if err != nil {
		return 0, err
	}
	where, args, err := filter.ToSQL(q.Where, e.schema)
	if err != nil {
		return 0, err
	}
	tc, targs, err := textCond(e, q.Text)
	if err != nil {
		return 0, err
	}
	// Every row the index finds is read for the LIKE check (detail=none,
	// migration 0008): a count costs about a row read per match.
	query := "SELECT count(*) FROM " + e.table + " WHERE " + tc
	if where != "" {
		query += " AND (" + where + ")"
	}
	args = append(targs, args...)
	var n int
	if err := s.queryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", e.table, err)
	}
	return n, nil
}

// isColumnName: a plain column, not an expression (store/filter fields may
// be computed, like acked).
func isColumnName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// ---- signatures of rows cached before migration 0006 ---------------------

// metaSignatureVersion records which signature.Version the stored
// signatures were computed with.
const metaSignatureVersion = "signature_version"

// openTriage runs when a cache is opened for writing: it computes the
// signatures of rows cached before signatures existed, or with other
// normalisation rules. A full pass reads every row once (seconds on a
// million jobs), so it runs only when the version changes.
func (s *Store) openTriage(ctx context.Context) error {
	if s.readOnly {
		return nil
	}
	if err := s.prepareJobText(ctx); err != nil {
		return err
	}
	var backlog int64
	if err := s.w.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM jobs_fts_pending)
		+ (SELECT count(*) FROM jobs WHERE rowid > (SELECT indexed_upto FROM jobs_fts_state))`).Scan(&backlog); err != nil {
		return err
	}
	s.text.backlog.Store(backlog)
	// The writer reads too: opening the read pool here would keep a
	// connection that stops anyone changing the journal mode (the benchmark
	// cache builder does).
	var v string
	err := s.w.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", metaSignatureVersion).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if v == signature.Version {
		return nil
	}
	if _, err := s.backfillSignatures(ctx); err != nil {
		return err
	}
	return s.SetMeta(ctx, metaSignatureVersion, signature.Version)
}

// backfillSignatures recomputes error_signature for every row of jobs and
// tasks with an error message, in batches of one transaction each, and
// returns how many rows changed.
func (s *Store) backfillSignatures(ctx context.Context) (int, error) {
	const batch = 2000
	changed := 0
	for _, table := range []string{"jobs", "tasks"} {
		after := int64(0)
		for {
			type row struct {
				id       int64
				msg, sig string
			}
			var todo []row
			rows, err := s.w.QueryContext(ctx, "SELECT rowid, error_message, error_signature FROM "+table+
				" WHERE rowid > ? AND error_message <> '' ORDER BY rowid LIMIT ?", after, batch)
			if err != nil {
				return changed, fmt.Errorf("signatures of %s: %w", table, err)
			}
			n := 0
			for rows.Next() {
				var r row
				if err := rows.Scan(&r.id, &r.msg, &r.sig); err != nil {
					rows.Close()
					return changed, err
				}
				n++
				after = r.id
				if sig := errorSignature(r.msg); sig != r.sig {
					r.sig = sig
					todo = append(todo, r)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return changed, err
			}
			if len(todo) > 0 {
				err := s.inTx(ctx, func(tx *sql.Tx) error {
					st, err := tx.PrepareContext(ctx, "UPDATE "+table+" SET error_signature = ? WHERE rowid = ?")
					if err != nil {
						return err
					}
					defer st.Close()
					for _, r := range todo {
						if _, err := st.ExecContext(ctx, r.sig, r.id); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					return changed, fmt.Errorf("signatures of %s: %w", table, err)
				}
				changed += len(todo)
			}
			if n < batch {
				break
			}
		}
	}
	return changed, nil
}

// ---- marks ----------------------------------------------------------------

// Mark entities: what a mark's Key names.
const (
	MarkJobs  = "jobs"  // Key is a job_id
	MarkTasks = "tasks" // Key is a task id
	MarkGroup = "group" // Key is an error signature: the whole group
	// MarkSocotraFailed: Key is a failed scheduled job, "group\x1fname".
	MarkSocotraFailed = "socotra_failed"
)

// Mark is a local acknowledgement: it lives only in this cache (never sent
// upstream, never touched by sync) and survives re-syncs and restarts.
type Mark struct {
	Entity, Key string
	Note        string
	AckedAt     int64 // unix ms
}

func checkMarkEntity(entity string) error {
	switch entity {
	case MarkJobs, MarkTasks, MarkGroup, MarkSocotraFailed:
		return nil
	}
	return fmt.Errorf("cannot mark %q: marks are for %s, %s, %s or %s", entity, MarkJobs, MarkTasks, MarkGroup, MarkSocotraFailed)
}

// Ack acknowledges one job, task or group, with an optional note; acking
// again replaces the note and the time.
func (s *Store) Ack(ctx context.Context, entity, key, note string) error {
	return s.AckMany(ctx, entity, []string{key}, note)
}

// AckMany acknowledges several keys of one entity in one transaction.
func (s *Store) AckMany(ctx context.Context, entity string, keys []string, note string) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if err := checkMarkEntity(entity); err != nil {
		return err
	}
	now := nowMS()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO marks (entity, key, note, acked_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (entity, key) DO UPDATE SET note = excluded.note, acked_at = excluded.acked_at`,
				entity, k, note, now); err != nil {
				return fmt.Errorf("ack %s %q: %w", entity, k, err)
			}
		}
		return nil
	})
}

// Unack removes the acknowledgement of one job, task or group (none is
// fine).
func (s *Store) Unack(ctx context.Context, entity, key string) error {
	return s.UnackMany(ctx, entity, []string{key})
}

// UnackMany removes several acknowledgements in one transaction.
func (s *Store) UnackMany(ctx context.Context, entity string, keys []string) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if err := checkMarkEntity(entity); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, "DELETE FROM marks WHERE entity = ? AND key = ?", entity, k); err != nil {
				return fmt.Errorf("unack %s %q: %w", entity, k, err)
			}
		}
		return nil
	})
}

// Mark returns the mark of one job, task or group, if any.
func (s *Store) Mark(ctx context.Context, entity, key string) (Mark, bool, error) {
	m := Mark{Entity: entity, Key: key}
	err := s.queryRow(ctx, "SELECT note, acked_at FROM marks WHERE entity = ? AND key = ?", entity, key).Scan(&m.Note, &m.AckedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Mark{}, false, nil
	}
	if err != nil {
		return Mark{}, false, err
	}
	return m, true, nil
}

// Marks returns the marks among keys (a page of rows), by key. For jobs it
// reports their own marks only; a job whose group is acknowledged is
// acknowledged too: ask Marks(MarkGroup, their signatures).
func (s *Store) Marks(ctx context.Context, entity string, keys []string) (map[string]Mark, error) {
	out := map[string]Mark{}
	if len(keys) == 0 {
		return out, nil
	}
	arr, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, "SELECT key, note, acked_at FROM marks WHERE entity = ? AND key IN (SELECT value FROM json_each(?))", entity, string(arr))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		m := Mark{Entity: entity}
		if err := rows.Scan(&m.Key, &m.Note, &m.AckedAt); err != nil {
			return nil, err
		}
		out[m.Key] = m
	}
	return out, rows.Err()
}

// NextUnacked returns the first ERRORED, unacknowledged row of entity (jobs
// or tasks) strictly after the key after (nil: from the start) in q's
// order, among the rows q selects: the "jump to the next unacknowledged
// failure" key of a list. A row is acknowledged when it or its error group
// is (the `acked` filter field). ok is false when there is none after.
func (s *Store) NextUnacked(ctx context.Context, entityName string, q Query, after *Key) (id string, key Key, ok bool, err error) {
	cond, err := filter.Parse(`state eq "ERRORED" and acked eq false`)
	if err != nil {
		return "", Key{}, false, err
	}
	if q.Where != nil {
		cond = &filter.Logical{Op: "and", Left: q.Where, Right: cond}
	}
	q.Where = cond
	switch entityName {
	case EntityJobs:
		rows, err := s.Jobs(ctx, q, after, false, 1)
		if err != nil || len(rows) == 0 {
			return "", Key{}, false, err
		}
		return rows[0].JobID, JobKey(q, rows[0]), true, nil
	case EntityTasks:
		rows, err := s.Tasks(ctx, q, after, false, 1)
		if err != nil || len(rows) == 0 {
			return "", Key{}, false, err
		}
		return rows[0].ID, TaskKey(q, rows[0]), true, nil
	}
	return "", Key{}, false, fmt.Errorf("%s have no acknowledgements", entityName)
}

// ---- error groups -----------------------------------------------------------

// NameCount is one value of a group's dimension and how many of the
// group's rows have it.
type NameCount struct {
	Name  string
	Count int
}

// ErrorGroup is the ERRORED rows sharing one error signature.
type ErrorGroup struct {
	Signature string
	Count     int
	// FirstSeen and LastSeen are the oldest and newest row's creation time
	// (jobs) or start time (tasks), unix ms.
	FirstSeen, LastSeen int64
	// Example is the newest row's message, as received (untrusted text).
	Example string
	// Identities is the number of distinct identities affected.
	Identities int
	// Sources (jobs: data sources by name), ActionTypes (jobs) and
	// Workflows (tasks) list the most frequent values, at most
	// GroupOptions.MaxNames, most frequent first; the *Total fields count
	// all distinct values.
	Sources, ActionTypes, Workflows                []NameCount
	SourcesTotal, ActionTypesTotal, WorkflowsTotal int
	// Buckets counts the group's rows over time: Buckets[i] covers
	// [Span[0] + i*w, Span[0] + (i+1)*w) with w = (Span[1]-Span[0]+1)/len.
	// Every group shares one span, so their sparklines compare.
	Buckets []int
	Span    [2]int64
	// Acked: the group itself is acknowledged (Mark holds the note).
	// AckedRows counts its rows acknowledged one by one.
	Acked     bool
	Mark      Mark
	AckedRows int
}

// GroupSort orders ErrorGroups.
type GroupSort string

const (
	SortCount      GroupSort = "count" // the default
	SortLastSeen   GroupSort = "last"
	SortFirstSeen  GroupSort = "first"
	SortIdentities GroupSort = "identities"
	SortSignature  GroupSort = "signature"
)

// GroupOptions selects and shapes ErrorGroups.
type GroupOptions struct {
	// Entity is EntityJobs ("": jobs) or EntityTasks.
	Entity string
	// Where restricts the ERRORED rows grouped (a filter over the entity).
	Where filter.Node
	// Since and Until (unix ms, 0: open) restrict the rows by time and set
	// the buckets' span; open ends take the data's first and last time.
	Since, Until int64
	// Unacked drops the acknowledged groups.
	Unacked bool
	// Sort and Asc order the groups (default: count, largest first; every
	// key sorts descending unless Asc). Ties go by signature.
	Sort GroupSort
	Asc  bool
	// Limit keeps the first Limit groups (0: all).
	Limit int
	// Buckets is the sparkline's resolution (0: 24). MaxNames bounds each
	// dimension's list (0: 3).
	Buckets, MaxNames int
}

// groupSpec is what grouping needs to know about one entity.
type groupSpec struct {
	entity *entity
	index  string // the partial index over ERRORED rows
	time   string // column that places a row in time
	// dims are extra columns of the index, each feeding one list.
	dims []string
	id   string // key column for row marks
}

// jobsDataSource is the data source expression of the jobs_errors index,
// written exactly as there so the planner reads it from the index.
const jobsDataSource = "(CASE WHEN json_valid(request) THEN request ->> '$.data_source.name' END)"

var groupSpecs = map[string]groupSpec{
	EntityJobs:  {jobsEntity, "jobs_errors", "created_at", []string{jobsDataSource, "action_type"}, "job_id"},
	EntityTasks: {tasksEntity, "tasks_errors", "started_at", []string{"workflow"}, "id"},
}

// groupsSQL is pass 1 of ErrorGroups: one row per signature. Both passes
// name the index: without statistics the planner prefers the (state,
// time) index, which is not covering and costs a table row per ERRORED row;
// the literal state = 'ERRORED' in where lets the partial index apply.
func (g groupSpec) groupsSQL(where string) string {
	return fmt.Sprintf(`SELECT error_signature, count(*), min(%[1]s), max(%[1]s), count(DISTINCT identity_id)
		FROM %[2]s INDEXED BY %[4]s WHERE %[3]s GROUP BY error_signature`, g.time, g.entity.table, where, g.index)
}

// detailSQL is pass 2: counts per signature, time bucket and dimension
// value. Its first four arguments, before where's, are the last bucket's
// index, the span's start, the number of buckets and the span's length.
//
// The scan is a subquery that cannot be flattened (LIMIT -1): grouping by
// the data source expression directly makes SQLite evaluate it from the
// table row, not read it from the index.
func (g groupSpec) detailSQL(where string) string {
	sel := []string{"error_signature AS c1", "min(?, (" + g.time + " - ?) * ? / ?) AS c2"}
	cols := []string{"c1", "c2"}
	for i, d := range g.dims {
		c := "c" + strconv.Itoa(i+3)
		sel, cols = append(sel, d+" AS "+c), append(cols, c)
	}
	return fmt.Sprintf("SELECT %[1]s, count(*) FROM (SELECT %[2]s FROM %[3]s INDEXED BY %[4]s WHERE %[5]s LIMIT -1) GROUP BY %[1]s",
		strings.Join(cols, ", "), strings.Join(sel, ", "), g.entity.table, g.index, where)
}

// exampleSQL reads a group's newest message: one seek of the index.
func (g groupSpec) exampleSQL() string {
	return fmt.Sprintf("SELECT error_message FROM %s INDEXED BY %s WHERE state = 'ERRORED' AND error_signature = ? ORDER BY %s DESC LIMIT 1",
		g.entity.table, g.index, g.time)
}

// ErrorGroups groups the ERRORED jobs (or tasks) by error signature.
// Measured on 1M jobs (67k ERRORED): see BenchmarkErrorGroups.
func (s *Store) ErrorGroups(ctx context.Context, opts GroupOptions) ([]ErrorGroup, error) {
	name := cmp.Or(opts.Entity, EntityJobs)
	spec, ok := groupSpecs[name]
	if !ok {
		return nil, fmt.Errorf("%s have no error groups", name)
	}
	nb := cmp.Or(opts.Buckets, 24)
	if nb < 1 || nb > 1000 {
		return nil, fmt.Errorf("error groups: %d buckets", nb)
	}
	maxNames := cmp.Or(opts.MaxNames, 3)

	// The rows: ERRORED (literally, so the partial index applies), in the
	// time window, matching Where.
	conds := []string{"state = 'ERRORED'"}
	var args []any
	if opts.Since != 0 {
		conds, args = append(conds, spec.time+" >= ?"), append(args, opts.Since)
	}
	if opts.Until != 0 {
		conds, args = append(conds, spec.time+" <= ?"), append(args, opts.Until)
	}
	if opts.Where != nil {
		w, wargs, err := filter.ToSQL(opts.Where, spec.entity.schema)
		if err != nil {
			return nil, err
		}
		if w != "" {
			conds, args = append(conds, "("+w+")"), append(args, wargs...)
		}
	}
	where := strings.Join(conds, " AND ")

	// Pass 1: one row per group.
	rows, err := s.query(ctx, spec.groupsSQL(where), args...)
	if err != nil {
		return nil, fmt.Errorf("error groups: %w", err)
	}
	var groups []ErrorGroup
	bySig := map[string]int{}
	lo, hi := opts.Since, opts.Until
	first := true
	for rows.Next() {
		var g ErrorGroup
		if err := rows.Scan(&g.Signature, &g.Count, &g.FirstSeen, &g.LastSeen, &g.Identities); err != nil {
			rows.Close()
			return nil, err
		}
		if opts.Since == 0 && (first || g.FirstSeen < lo) {
			lo = g.FirstSeen
		}
		if opts.Until == 0 && (first || g.LastSeen > hi) {
			hi = g.LastSeen
		}
		first = false
		bySig[g.Signature] = len(groups)
		groups = append(groups, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error groups: %w", err)
	}
	if len(groups) == 0 {
		return nil, nil
	}
	if hi < lo {
		hi = lo
	}
	span := hi - lo + 1

	// Pass 2: the dimensions and the buckets, in one scan.
	rows, err = s.query(ctx, spec.detailSQL(where), append([]any{nb - 1, lo, nb, span}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("error groups: %w", err)
	}
	dimCounts := make([]map[string]map[string]int, len(spec.dims)) // dim -> sig -> value -> n
	for d := range dimCounts {
		dimCounts[d] = map[string]map[string]int{}
	}
	for i := range groups {
		groups[i].Buckets = make([]int, nb)
		groups[i].Span = [2]int64{lo, hi}
	}
	vals := make([]sql.NullString, len(spec.dims))
	for rows.Next() {
		var sig string
		var b, n int
		dest := []any{&sig, &b}
		for d := range vals {
			dest = append(dest, &vals[d])
		}
		dest = append(dest, &n)
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, err
		}
		gi, ok := bySig[sig]
		if !ok {
			continue // a row written between the two scans
		}
		if b >= 0 && b < nb {
			groups[gi].Buckets[b] += n
		}
		for d, v := range vals {
			m := dimCounts[d][sig]
			if m == nil {
				m = map[string]int{}
				dimCounts[d][sig] = m
			}
			m[v.String] += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error groups: %w", err)
	}
	for i := range groups {
		g := &groups[i]
		for d := range spec.dims {
			list, total := topNames(dimCounts[d][g.Signature], maxNames)
			switch {
			case name == EntityTasks:
				g.Workflows, g.WorkflowsTotal = list, total
			case d == 0:
				g.Sources, g.SourcesTotal = list, total
			default:
				g.ActionTypes, g.ActionTypesTotal = list, total
			}
		}
	}

	// Marks: of the groups, and of single rows (usually few).
	if err := s.groupMarks(ctx, groups, bySig, spec); err != nil {
		return nil, err
	}
	if opts.Unacked {
		groups = slices.DeleteFunc(groups, func(g ErrorGroup) bool { return g.Acked })
	}
	SortGroups(groups, opts.Sort, opts.Asc)
	if opts.Limit > 0 && len(groups) > opts.Limit {
		groups = groups[:opts.Limit]
	}
	// Examples only for the groups returned: one index seek each.
	exq := spec.exampleSQL()
	for i := range groups {
		err := s.queryRow(ctx, exq, groups[i].Signature).Scan(&groups[i].Example)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("error groups: example: %w", err)
		}
	}
	return groups, nil
}

func (s *Store) groupMarks(ctx context.Context, groups []ErrorGroup, bySig map[string]int, spec groupSpec) error {
	rows, err := s.query(ctx, "SELECT key, note, acked_at FROM marks WHERE entity = 'group'")
	if err != nil {
		return err
	}
	for rows.Next() {
		m := Mark{Entity: MarkGroup}
		if err := rows.Scan(&m.Key, &m.Note, &m.AckedAt); err != nil {
			rows.Close()
			return err
		}
		if gi, ok := bySig[m.Key]; ok {
			groups[gi].Acked, groups[gi].Mark = true, m
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	table := spec.entity.table
	q := fmt.Sprintf(`SELECT t.error_signature, count(*) FROM marks m JOIN %[1]s t ON t.%[2]s = m.key
		WHERE m.entity = '%[1]s' AND t.state = 'ERRORED' GROUP BY t.error_signature`, table, spec.id)
	rows, err = s.query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sig string
		var n int
		if err := rows.Scan(&sig, &n); err != nil {
			return err
		}
		if gi, ok := bySig[sig]; ok {
			groups[gi].AckedRows = n
		}
	}
	return rows.Err()
}

// topNames is the max most frequent names of m (ties by name) and the
// number of distinct names. The empty name (no data source known) is
// counted but not listed.
func topNames(m map[string]int, max int) ([]NameCount, int) {
	list := make([]NameCount, 0, len(m))
	for k, n := range m {
		if k != "" {
			list = append(list, NameCount{k, n})
		}
	}
	slices.SortFunc(list, func(a, b NameCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Name, b.Name))
	})
	total := len(list)
	if len(list) > max {
		list = list[:max]
	}
	return list, total
}

// SortGroups orders gs as ErrorGroups does for GroupOptions Sort and Asc
// (a screen re-sorts the groups it holds without grouping again).
func SortGroups(gs []ErrorGroup, by GroupSort, asc bool) {
	key := func(a, b *ErrorGroup) int {
		switch by {
		case SortLastSeen:
			return cmp.Compare(a.LastSeen, b.LastSeen)
		case SortFirstSeen:
			return cmp.Compare(a.FirstSeen, b.FirstSeen)
		case SortIdentities:
			return cmp.Compare(a.Identities, b.Identities)
		case SortSignature:
			return strings.Compare(a.Signature, b.Signature)
		}
		return cmp.Compare(a.Count, b.Count)
	}
	slices.SortStableFunc(gs, func(a, b ErrorGroup) int {
		c := key(&a, &b)
		if !asc {
			c = -c
		}
		return cmp.Or(c, strings.Compare(a.Signature, b.Signature))
	})
}
