package store

import (
	"slices"
	"testing"

	"github.com/opsdeck/opsdeck/store/filter"
)

// TestColumnListsMatchSchema: every column of each table is read and
// written, so a column added by a migration cannot be silently dropped.
func TestColumnListsMatchSchema(t *testing.T) {
	s := openTest(t)
	for _, c := range []struct {
		table string
		cols  []string
		ptrs  int
		args  int
	}{
		{"jobs", jobCols, len((&JobRow{}).ptrs()), len((&JobRow{}).args(0, "", "", nil, nil, nil))},
		{"tasks", taskCols, len((&TaskRow{}).ptrs(new(string))), len((&TaskRow{}).args(0, "", "", ""))},
		{"actions", actionCols, len((&ActionRow{}).ptrs()), len((&ActionRow{}).args(0))},
	} {
		rows, err := s.r.Query("SELECT name FROM pragma_table_info(?)", c.table)
		if err != nil {
			t.Fatal(err)
		}
		var have []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			have = append(have, n)
		}
		rows.Close()
		want := slices.Clone(c.cols)
		slices.Sort(have)
		slices.Sort(want)
		if !slices.Equal(have, want) {
			t.Errorf("%s: table has %v\ncolumn list has %v", c.table, have, want)
		}
		if c.ptrs != len(c.cols) || c.args != len(c.cols)-1 {
			t.Errorf("%s: %d columns, %d scan targets, %d args", c.table, len(c.cols), c.ptrs, c.args)
		}
	}
}

// TestFieldsCoverSchemas: every filter field is a column and a Field of the
// row type, so any of them can sort a query and make its Key (but the
// computed ones, which cannot sort).
func TestFieldsCoverSchemas(t *testing.T) {
	for _, c := range []struct {
		schema *filter.Schema
		cols   []string
		row    fielder
	}{
		{filter.Jobs, jobCols, &JobRow{}},
		{filter.Tasks, taskCols, &TaskRow{}},
		{filter.Actions, actionCols, &ActionRow{}},
	} {
		for _, f := range c.schema.Fields {
			if !isColumnName(f.Column) {
				continue // computed (acked): filters only, sortField refuses it
			}
			if !slices.Contains(c.cols, f.Column) {
				t.Errorf("%s.%s: no column %q", c.schema.Entity, f.Name, f.Column)
			}
			if _, ok := c.row.Field(f.Name); !ok {
				t.Errorf("%s.%s: not a Field of %T", c.schema.Entity, f.Name, c.row)
			}
		}
	}
}
