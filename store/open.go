package store

import (
	"context"
	"fmt"
)

// OpenTasks returns up to limit tasks that may have changed upstream
// without an incremental pass seeing it: BLOCKED ones of any age (incremental
// passes do not hold their window open for them: a task can wait days for an
// unblock) and RUNNING, PENDING, SCHEDULED or INITIAL ones created before
// before (unix ms); in rowid order after afterRowID, with their rowids. A sync refreshes
// them one by one: an incremental pass only re-reads recent tasks, and a
// task restarted or unblocked days after it was created would otherwise
// stay RUNNING in the cache forever.
func (s *Store) OpenTasks(ctx context.Context, before, afterRowID int64, limit int) (ids []string, rowids []int64, err error) {
	rows, err := s.query(ctx, `SELECT id, rowid FROM tasks
		WHERE (state = 'BLOCKED' OR state IN ('RUNNING', 'PENDING', 'SCHEDULED', 'INITIAL') AND t_created_at < ?)
		  AND rowid > ?
		ORDER BY rowid LIMIT ?`, before, afterRowID, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("open tasks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var r int64
		if err := rows.Scan(&id, &r); err != nil {
			return nil, nil, err
		}
		ids, rowids = append(ids, id), append(rowids, r)
	}
	return ids, rowids, rows.Err()
}
