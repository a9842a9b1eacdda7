package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Sync never deletes history (the cache outlives upstream retention); Prune
// is the one explicit way to trim it.

// pruneSpec says how old a row of a history table is, and which column its
// state_counts entry counts by.
type pruneSpec struct {
	table   string
	timeCol string // unix ms; 0 (unset) rows are never pruned
	countBy string // the column state_counts counts for this table
}

// pruneTables are the history tables. Snapshot tables (socotra_failed,
// socotra_scheduled, automations) are not here: sync already replaces them
// with what upstream has. A table or column missing from this cache's
// schema is skipped.
var pruneTables = []pruneSpec{
	{EntityTasks, "t_created_at", "state"},
	{EntityActions, "started_at", "state"},
	{EntityJobs, "created_at", "state"},
	{EntityEvents, "timestamp", "severity"},
	{EntitySocotraEvents, "timestamp", "type_prefix"},
}

// pruneBatch bounds one delete transaction, so another opsdeck on the same
// cache (a sync, the TUI) waits milliseconds for the write lock, never the
// busy timeout.
const pruneBatch = 5000

// Prune deletes the rows of every history table whose time is before
// `before`, adjusting state_counts in the same transaction as each batch of
// deletes, and returns how many rows each table lost (with dryRun: would
// lose; nothing is written). Rows whose time is unset are kept. When the
// cache uses incremental auto-vacuum the freed pages are returned to the
// file system; otherwise they are reused by later syncs (see FreeBytes and
// Vacuum).
func (s *Store) Prune(ctx context.Context, before time.Time, dryRun bool) (map[string]int, error) {
	if s.readOnly && !dryRun {
		return nil, ErrReadOnly
	}
	cutoff := before.UnixMilli()
	out := map[string]int{}
	for _, p := range pruneTables {
		var db handler = s.w
		if s.w == nil {
			db = s.r
		}
		ok, err := hasColumns(ctx, db, p.table, p.timeCol, p.countBy)
		if err != nil {
			return out, err
		}
		if !ok {
			continue
		}
		var n int
		if dryRun {
			err = s.r.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s > 0 AND %s < ?`, p.table, p.timeCol, p.timeCol), cutoff).Scan(&n)
		} else {
			n, err = s.pruneTable(ctx, p, cutoff)
		}
		if err != nil {
			return out, fmt.Errorf("prune %s: %w", p.table, err)
		}
		out[p.table] = n
	}
	if dryRun {
		return out, nil
	}
	var mode int
	if err := s.w.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return out, err
	}
	if mode == 2 { // INCREMENTAL
		if _, err := s.w.ExecContext(ctx, "PRAGMA incremental_vacuum"); err != nil {
			return out, fmt.Errorf("prune: incremental vacuum: %w", err)
		}
	}
	return out, nil
}

// pruneTable deletes p's old rows in batches, walking the rowid upwards so
// each row is looked at once even where timeCol has no index.
func (s *Store) pruneTable(ctx context.Context, p pruneSpec, cutoff int64) (int, error) {
	pick := fmt.Sprintf(`SELECT max(rowid), count(*) FROM (SELECT rowid FROM %s WHERE rowid > ? AND %s > 0 AND %s < ? ORDER BY rowid LIMIT %d)`,
		p.table, p.timeCol, p.timeCol, pruneBatch)
	del := fmt.Sprintf(`DELETE FROM %s WHERE rowid > ? AND rowid <= ? AND %s > 0 AND %s < ? RETURNING %s`,
		p.table, p.timeCol, p.timeCol, p.countBy)
	// An external-content text index must be told what leaves its table,
	// with the values it indexed, before they are gone.
	unindex := ""
	if ts, ok := textSearch[p.table]; ok && ts.fts != "" {
		exists, err := hasColumns(ctx, s.w, ts.fts, ts.cols...)
		if err != nil {
			return 0, err
		}
		if exists {
			cols := strings.Join(ts.cols, ", ")
			unindex = fmt.Sprintf(`INSERT INTO %s (%s, rowid, %s) SELECT 'delete', rowid, %s FROM %s WHERE rowid > ? AND rowid <= ? AND %s > 0 AND %s < ?`,
				ts.fts, ts.fts, cols, cols, p.table, p.timeCol, p.timeCol)
		}
	}
	total := 0
	var after int64
	for {
		var last sql.NullInt64
		var n int
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if err := tx.QueryRowContext(ctx, pick, after, cutoff).Scan(&last, &n); err != nil {
				return err
			}
			if n == 0 {
				return nil
			}
			if unindex != "" {
				// Queued jobs first: their indexed values are not in jobs.
				if _, err := flushTextIndexTx(ctx, tx); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, unindex, after, last.Int64, cutoff); err != nil {
					return fmt.Errorf("text index: %w", err)
				}
			}
			rows, err := tx.QueryContext(ctx, del, after, last.Int64, cutoff)
			if err != nil {
				return err
			}
			gone := map[string]int{}
			deleted := 0
			for rows.Next() {
				var st string
				if err := rows.Scan(&st); err != nil {
					rows.Close()
					return err
				}
				gone[st]++
				deleted++
			}
			if err := rows.Close(); err != nil {
				return err
			}
			for st, d := range gone {
				if _, err := tx.ExecContext(ctx, `UPDATE state_counts SET n = n - ? WHERE entity = ? AND state = ?`, d, p.table, st); err != nil {
					return err
				}
			}
			n = deleted
			return nil
		})
		if err != nil {
			return total, err
		}
		if !last.Valid {
			return total, nil
		}
		total += n
		after = last.Int64
	}
}

// hasColumns reports whether table exists with all of cols.
func hasColumns(ctx context.Context, db handler, table string, cols ...string) (bool, error) {
	for _, c := range cols {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, table, c).Scan(&n); err != nil {
			return false, err
		}
		if n == 0 {
			return false, nil
		}
	}
	return true, nil
}

// FreeBytes is the space inside the cache file that deleted rows left
// free: later syncs reuse it; Vacuum gives it back to the file system.
func (s *Store) FreeBytes(ctx context.Context) (int64, error) {
	var pages, size int64
	if err := s.r.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&pages); err != nil {
		return 0, err
	}
	if err := s.r.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return 0, err
	}
	return pages * size, nil
}

// Vacuum rewrites the cache file without its free pages. It needs about the
// file's size again in free disk space, and other opsdeck processes wait (or
// fail on the busy timeout) while it runs: it is for `opsdeck prune
// --vacuum`, never for a background job.
func (s *Store) Vacuum(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	_, err := s.w.ExecContext(ctx, "VACUUM")
	return err
}
