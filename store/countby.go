package store

import (
	"context"
	"fmt"

	"github.com/opsdeck/opsdeck/store/filter"
)

// CountByState counts the rows of entity matching where, per state. Unlike
// StateCounts it scans: use it for small scopes (the jobs of one task), not
// for a whole million-row table.
func (s *Store) CountByState(ctx context.Context, entityName string, where filter.Node) (map[string]int, error) {
	e, err := entityByName(entityName)
	if err != nil {
		return nil, err
	}
	if _, ok := e.schema.Field("state"); !ok {
		return nil, fmt.Errorf("%s has no state", e.table)
	}
	w, args, err := filter.ToSQL(where, e.schema)
	if err != nil {
		return nil, err
	}
	q := "SELECT state, count(*) FROM " + e.table
	if w != "" {
		q += " WHERE " + w
	}
	q += " GROUP BY state"
	m, err := s.countsByState(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count %s by state: %w", e.table, err)
	}
	return m, nil
}
