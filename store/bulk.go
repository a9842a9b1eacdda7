package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bulk load: the first sync of an empty jobs table.
//
// Two of the jobs indexes are keyed by random UUIDs (jobs_job_id, the
// upsert key, and jobs_task). Kept during a first sync of a million jobs,
// each 100-row page dirties ~200 random index pages that go to the WAL and
// again to the file at the checkpoint: most of the writer's time. A first
// sync has nothing to update, so BeginBulkJobs drops both, pages are plain
// INSERTs, and EndBulkJobs builds the indexes once, sorted (about 2 µs a
// row), removes the rows a faulty server sent twice (the last one stored
// wins, as an upsert would have), recounts the states and hands the text
// index its whole backlog in one pass.
//
// Whether a write is in bulk mode is decided inside its transaction by
// whether jobs_job_id exists, so several processes agree without telling
// each other: whoever ends the bulk first turns everyone's next write back
// into an upsert. A sync killed mid-way leaves the mode on; the next sync of
// the source resumes it and ends it, and a writer that opens the cache
// after bulkStale with no bulk write in between ends it at Open. Meanwhile
// every read still works: lookups by job_id or task scan instead of
// seeking (slower, never wrong).

// metaBulkJobs holds the unix ms of the last bulk write (a heartbeat);
// metaBulkHead the last rowid of the load's head (set by the first page
// of the pass).
const (
	metaBulkJobs = "bulk_jobs"
	metaBulkHead = "bulk_jobs_head"
)

// bulkStale is how long a bulk load may go without a write before a
// process that opens the cache ends it.
const bulkStale = 2 * time.Minute

// bulkTable is what a bulk load of one table needs to know. Tasks and
// actions have random keys too (a task's UUID; an action's task UUID and
// name), so a first sync loads them the same way; only jobs have a head
// and a free-text index.
type bulkTable struct {
	table   string
	indexes []string // built at the end, the unique (upsert) key first; dropped at the start
	names   []string // their names; no names[0] index = bulk mode
	key     string   // the unique key's columns, for the dedupe
	upsert  string   // the table's upsert, prepared again at the end
	insert  string   // a plain single-row INSERT
	meta    string   // heartbeat key
}

func insertSQL(table string, cols []string) string {
	return "INSERT INTO " + table + " (" + strings.Join(cols[1:], ", ") + ") VALUES (?" + strings.Repeat(", ?", len(cols)-2) + ")"
}

var jobInsertSQL = insertSQL("jobs", jobCols)

var (
	bulkJobs = &bulkTable{table: "jobs",
		indexes: []string{"CREATE UNIQUE INDEX IF NOT EXISTS jobs_job_id ON jobs (job_id)", "CREATE INDEX IF NOT EXISTS jobs_task ON jobs (policy_task)"},
		names:   []string{"jobs_job_id", "jobs_task"},
		key:     "job_id", upsert: jobUpsertSQL, insert: jobInsertSQL, meta: metaBulkJobs}
	bulkTasks = &bulkTable{table: "tasks",
		indexes: []string{"CREATE UNIQUE INDEX IF NOT EXISTS tasks_id ON tasks (id)"},
		names:   []string{"tasks_id"},
		key:     "id", upsert: taskUpsertSQL, insert: insertSQL("tasks", taskCols), meta: "bulk_tasks"}
	bulkActions = &bulkTable{table: "actions",
		indexes: []string{"CREATE UNIQUE INDEX IF NOT EXISTS actions_key ON actions (policy_task, action_name)"},
		names:   []string{"actions_key"},
		key:     "policy_task, action_name", upsert: actionUpsertSQL, insert: insertSQL("actions", actionCols), meta: "bulk_actions"}
	bulkTables = map[string]*bulkTable{"jobs": bulkJobs, "tasks": bulkTasks, "actions": bulkActions}
)

func bulkTableOf(table string) (*bulkTable, error) {
	bt, ok := bulkTables[table]
	if !ok {
		return nil, fmt.Errorf("no bulk load for %q", table)
	}
	return bt, nil
}

// insertRowsPerStmt is how many rows one bulk INSERT statement carries:
// the per-statement work of database/sql and the driver is paid once for
// them.
const insertRowsPerStmt = 20

// jobInsertManySQL is jobInsertSQL for n rows.
func jobInsertManySQL(n int) string {
	row := "(?" + strings.Repeat(", ?", len(jobCols)-2) + ")"
	return "INSERT INTO jobs (" + strings.Join(jobCols[1:], ", ") + ") VALUES " + row + strings.Repeat(", "+row, n-1)
}

var jobInsertFullSQL = jobInsertManySQL(insertRowsPerStmt)

// insertMany inserts ops (jobs) with insertRowsPerStmt rows a statement.
func (s *Store) insertMany(ctx context.Context, tx *sql.Tx, ops []op) error {
	stmtCtx := context.WithoutCancel(ctx) // see upsertAllStored
	args := make([]any, 0, insertRowsPerStmt*(len(jobCols)-1))
	for i := 0; i < len(ops); i += insertRowsPerStmt {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := ops[i:min(i+insertRowsPerStmt, len(ops))]
		args = args[:0]
		for _, o := range chunk {
			args = append(args, o.args...)
		}
		q := jobInsertFullSQL
		if len(chunk) < insertRowsPerStmt {
			q = jobInsertManySQL(len(chunk))
		}
		st, err := s.txStmt(ctx, tx, q)
		if err != nil {
			return err
		}
		_, err = st.ExecContext(stmtCtx, args...)
		st.Close()
		if err != nil {
			return fmt.Errorf("rows %d-%d: %w", i, i+len(chunk)-1, err)
		}
	}
	return nil
}

type queryRower interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// bulkTx reports whether bt's table is in bulk mode, inside tx.
func bulkTx(ctx context.Context, tx queryRower, bt *bulkTable) (bool, error) {
	var has bool
	err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?)", bt.names[0]).Scan(&has)
	return !has, err
}

// jobsBulkTx is bulkTx for jobs.
func jobsBulkTx(ctx context.Context, tx queryRower) (bool, error) { return bulkTx(ctx, tx, bulkJobs) }

// JobsBulk reports whether the jobs table is in bulk mode.
func (s *Store) JobsBulk(ctx context.Context) (bool, error) { return s.Bulk(ctx, "jobs") }

// Bulk reports whether table ("jobs", "tasks" or "actions") is in bulk mode.
func (s *Store) Bulk(ctx context.Context, table string) (bool, error) {
	bt, err := bulkTableOf(table)
	if err != nil {
		return false, err
	}
	return bulkTx(ctx, s.r, bt)
}

// BeginBulkJobs is BeginBulk for jobs.
func (s *Store) BeginBulkJobs(ctx context.Context) (bool, error) { return s.BeginBulk(ctx, "jobs") }

// BeginBulk puts an empty table ("jobs", "tasks" or "actions") in bulk
// mode and reports whether it is in bulk mode now (true as well when it
// already was: a resumed first sync). A table with rows is left alone.
func (s *Store) BeginBulk(ctx context.Context, table string) (bool, error) {
	if s.readOnly {
		return false, ErrReadOnly
	}
	bt, err := bulkTableOf(table)
	if err != nil {
		return false, err
	}
	var bulk bool
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if bulk, err = bulkTx(ctx, tx, bt); err != nil || bulk {
			return err
		}
		var any bool
		if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+bt.table+")").Scan(&any); err != nil || any {
			return err
		}
		for _, name := range bt.names {
			if _, err := tx.ExecContext(ctx, "DROP INDEX IF EXISTS "+name); err != nil {
				return err
			}
		}
		if bt == bulkJobs {
			// Nothing is indexed for text: a table emptied by prune may
			// have left its mark high, and new rows start at rowid 1.
			for _, q := range []string{
				"INSERT INTO jobs_fts (jobs_fts) VALUES ('delete-all')",
				"UPDATE jobs_fts_state SET indexed_upto = 0",
				"DELETE FROM jobs_fts_pending",
			} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
		}
		if err := setBulkHeartbeat(ctx, tx, bt); err != nil {
			return err
		}
		bulk = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("begin bulk load of %s: %w", table, err)
	}
	return bulk, nil
}

func setBulkHeartbeat(ctx context.Context, tx *sql.Tx, bt *bulkTable) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		bt.meta, strconv.FormatInt(nowMS(), 10))
	return err
}

// EndBulkJobs is EndBulk for jobs.
func (s *Store) EndBulkJobs(ctx context.Context) (int64, error) { return s.EndBulk(ctx, "jobs") }

// EndBulk ends table's bulk mode (a no-op outside it): duplicates go (the
// last stored copy of a row stays), the indexes are built, the state
// counters recounted, and then (jobs) the free-text index takes the whole
// table in one pass. It reports how many duplicate rows it removed.
func (s *Store) EndBulk(ctx context.Context, table string) (int64, error) {
	if s.readOnly {
		return 0, ErrReadOnly
	}
	bt, err := bulkTableOf(table)
	if err != nil {
		return 0, err
	}
	var removed int64
	ended := false
	// The index builds sort a million keys: with a helper thread, SQLite
	// sorts in two halves at once (2.9 + 2.5 s against 3.2 + 3.1 s for 1M
	// jobs). The load is over, so the cores are free.
	if _, err := s.w.ExecContext(ctx, "PRAGMA threads = 2"); err == nil {
		defer s.w.ExecContext(context.WithoutCancel(ctx), "PRAGMA threads = 0")
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		bulk, err := bulkTx(ctx, tx, bt)
		if err != nil {
			return err
		}
		if !bulk {
			_, err := tx.ExecContext(ctx, "DELETE FROM meta WHERE key IN (?, ?)", bt.meta, metaBulkHead)
			return err
		}
		// The unique index fails on a duplicate: only then is the
		// (table-wide) dedupe worth its sort. Rows of a bulk load are
		// all above the text index's mark, so removing some needs no
		// index update.
		if _, err := tx.ExecContext(ctx, bt.indexes[0]); err != nil {
			if !strings.Contains(err.Error(), "UNIQUE") {
				return err
			}
			res, err := tx.ExecContext(ctx, "DELETE FROM "+bt.table+" WHERE rowid NOT IN (SELECT max(rowid) FROM "+bt.table+" GROUP BY "+bt.key+")")
			if err != nil {
				return fmt.Errorf("remove duplicates: %w", err)
			}
			removed, _ = res.RowsAffected()
			if _, err := tx.ExecContext(ctx, bt.indexes[0]); err != nil {
				return err
			}
		}
		for _, q := range append(append([]string(nil), bt.indexes[1:]...),
			"DELETE FROM state_counts WHERE entity = '"+bt.table+"'",
			"INSERT INTO state_counts (entity, state, n) SELECT '"+bt.table+"', state, count(*) FROM "+bt.table+" GROUP BY state",
			"DELETE FROM meta WHERE key IN ('"+bt.meta+"', '"+metaBulkHead+"')",
		) {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		ended = true
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("end bulk load of %s: %w", table, err)
	}
	if ended {
		// Prepared again now that its conflict target exists.
		if _, err := s.ws.get(ctx, bt.upsert); err != nil {
			return removed, fmt.Errorf("end bulk load: %w", err)
		}
		if bt == bulkJobs {
			if err := s.FlushTextIndex(ctx); err != nil {
				return removed, err
			}
		}
	}
	return removed, nil
}

// endStaleBulk ends the bulk loads nobody has written to for bulkStale
// (their sync was killed and has not been run again). Called by Open.
func (s *Store) endStaleBulk(ctx context.Context) error {
	for _, bt := range []*bulkTable{bulkJobs, bulkActions, bulkTasks} {
		bulk, err := bulkTx(ctx, s.w, bt)
		if err != nil {
			return err
		}
		if !bulk {
			continue
		}
		v, _, err := s.GetMeta(ctx, bt.meta)
		if err != nil {
			return err
		}
		last, _ := strconv.ParseInt(v, 10, 64)
		if time.Since(time.UnixMilli(last)) < bulkStale {
			continue
		}
		if _, err := s.EndBulk(ctx, bt.table); err != nil {
			return err
		}
	}
	return nil
}

// dropBulkHeadCopies deletes, inside a bulk write of the pass, the head
// rows (rowid <= metaBulkHead) that rows store again, takes them off the
// state counters and returns how many it deleted. The first page of the
// pass sets the mark.
func (s *Store) dropBulkHeadCopies(ctx context.Context, tx *sql.Tx, rows []JobRow) (int, error) {
	var head int64
	err := tx.QueryRowContext(ctx, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?", metaBulkHead).Scan(&head)
	if errors.Is(err, sql.ErrNoRows) {
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(rowid), 0) FROM jobs").Scan(&head); err != nil {
			return 0, err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?)", metaBulkHead, strconv.FormatInt(head, 10))
	}
	if err != nil || head == 0 {
		return 0, err
	}
	keys, err := s.bulkHeadKeys(ctx, tx, head, rows)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	arr, err := json.Marshal(keys)
	if err != nil {
		return 0, err
	}
	const copies = "FROM jobs NOT INDEXED WHERE rowid <= ?1 AND job_id IN (SELECT value FROM json_each(?2))"
	q, err := tx.QueryContext(ctx, "SELECT state, count(*) "+copies+" GROUP BY state", head, string(arr))
	if err != nil {
		return 0, fmt.Errorf("bulk head: %w", err)
	}
	found := map[string]int{}
	for q.Next() {
		var state string
		var n int
		if err := q.Scan(&state, &n); err != nil {
			q.Close()
			return 0, err
		}
		found[state] = n
	}
	if err := q.Close(); err != nil {
		return 0, err
	}
	removed := 0
	for state, n := range found {
		if _, err := tx.ExecContext(ctx, "UPDATE state_counts SET n = n - ? WHERE entity = 'jobs' AND state = ?", n, state); err != nil {
			return 0, fmt.Errorf("bulk head: %w", err)
		}
		removed += n
	}
	if removed == 0 {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, "DELETE "+copies, head, string(arr)); err != nil {
		return 0, fmt.Errorf("bulk head: %w", err)
	}
	// Once the pass has stored the whole head again, stop looking.
	_, err = tx.ExecContext(ctx, "UPDATE meta SET value = '0' WHERE key = ? AND NOT EXISTS (SELECT 1 FROM jobs NOT INDEXED WHERE rowid <= ?)", metaBulkHead, head)
	return removed, err
}

// bulkHeadKeys returns the job ids of rows that are in the head (rowid <=
// head). The head's ids are read once per process: most pages have none.
func (s *Store) bulkHeadKeys(ctx context.Context, tx *sql.Tx, head int64, rows []JobRow) ([]string, error) {
	s.bulkHeadMu.Lock()
	defer s.bulkHeadMu.Unlock()
	if s.bulkHead.upto != head {
		ids := map[string]bool{}
		q, err := tx.QueryContext(ctx, "SELECT job_id FROM jobs NOT INDEXED WHERE rowid <= ?", head)
		if err != nil {
			return nil, fmt.Errorf("bulk head: %w", err)
		}
		for q.Next() {
			var id string
			if err := q.Scan(&id); err != nil {
				q.Close()
				return nil, fmt.Errorf("bulk head: %w", err)
			}
			ids[id] = true
		}
		if err := q.Close(); err != nil {
			return nil, fmt.Errorf("bulk head: %w", err)
		}
		s.bulkHead.upto, s.bulkHead.ids = head, ids
	}
	var keys []string
	for i := range rows {
		if s.bulkHead.ids[rows[i].JobID] {
			keys = append(keys, rows[i].JobID)
		}
	}
	return keys, nil
}
