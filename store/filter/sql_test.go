package filter

import (
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

var t0 = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

func tp(t time.Time) *time.Time { return &t }

// jobRows are Go records as the emulator would see them: a missing key is
// SQL NULL; times mix time.Time (zero = unset) and *time.Time (nil = unset).
func jobRows() []map[string]any {
	row := func(id int, kv ...any) map[string]any {
		r := map[string]any{
			"id": id, "state": "COMPLETED", "job_id": fmt.Sprintf("job-%02d", id), "policy_task": "task-1",
			"action_name": "Sync AD", "action_type": "SYNC_IDENTITIES", "policy_id": "pol-1",
			"workflow_name": "Joiner", "identity_id": fmt.Sprintf("id-%02d", id), "identity_name": fmt.Sprintf("user %d", id),
			"event_source": "POLICY", "event_source_id": "pol-1", "extraction_event": "ex-1",
			"extraction_event_type": "FULL", "started_at": tp(t0.Add(time.Duration(id) * time.Hour)),
			"completed_at": t0.Add(time.Duration(id)*time.Hour + time.Minute), "created_at": t0,
			"any_changes": id%2 == 0, "events_created": id % 3, "error_message": "",
			"acked": false, // no marks in openDB's database
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(r, kv[i].(string))
			} else {
				r[kv[i].(string)] = kv[i+1]
			}
		}
		return r
	}
	var noTime *time.Time
	return []map[string]any{
		row(1, "state", "ERRORED", "identity_name", "alice", "identity_id", "id-A1", "error_message", "Timeout talking to AD"),
		row(2, "state", "errored", "action_name", "sync ad", "identity_name", "ALICE JOHNSON", "identity_id", "ID-a1",
			"started_at", t0.Add(-time.Hour), "completed_at", time.Time{}, "extraction_event_type", "full"),
		row(3, "state", "RUNNING", "identity_name", "bob", "completed_at", noTime, "created_at", nil,
			"any_changes", nil, "events_created", nil, "error_message", nil),
		row(4, "identity_name", "50%_off", "identity_id", "id-*star"),
		row(5, "identity_name", "5000 off", "identity_id", "id-05x"),
		row(6, "identity_name", `back\slash`, "identity_id", "id-?q"),
		row(7, "identity_name", `say "hi"`, "identity_id", "id-[x]"),
		row(8, "identity_name", "Émile", "identity_id", "id-x"),
		row(9, "identity_name", "émile"),
		row(10, "identity_name", "", "identity_id", ""),
		row(11, "identity_name", nil, "state", nil, "identity_id", nil, "extraction_event_type", nil),
		row(12, "action_type", "ACCESS_PLAN", "event_source", "ACCESS_PLAN", "action_name", "Access Plan: grant"),
		row(13, "state", "SKIPPED", "action_type", "sync_identities"),
		row(14, "started_at", time.UnixMilli(0), "any_changes", true),
		row(15, "started_at", time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC)),
		row(16, "started_at", t0.Add(500*time.Millisecond), "created_at", t0.Add(time.Millisecond)),
		row(17, "error_message", "TIMEOUT: retry later", "any_changes", true, "state", "ERRORED"),
		row(18, "events_created", 5, "extraction_event_type", "Incremental"),
		row(19, "identity_id", "id-AB"),
		row(20, "identity_id", "id-ab", "state", "BLOCKED", "workflow_name", "Joiner*"),
		row(21, "job_id", "job_%", "workflow_name", "Mover"),
		row(22, "state", "PENDING", "identity_name", "Zoë", "any_changes", false, "events_created", 0),
	}
}

// sqlValue is how the store would write v.
func sqlValue(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case bool:
		if v {
			return int64(1)
		}
		return int64(0)
	case int:
		return int64(v)
	case time.Time:
		if v.IsZero() {
			return int64(0)
		}
		return v.UnixMilli()
	case *time.Time:
		if v == nil {
			return nil
		}
		return sqlValue(*v)
	}
	return v
}

// openDB creates an in-memory table named after s with one column per field
// and inserts rows.
func openDB(tb testing.TB, s *Schema, rows []map[string]any) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	cols := []string{"id INTEGER PRIMARY KEY"}
	names := []string{"id"}
	var stored []Field
	for _, f := range s.Fields {
		if strings.HasPrefix(f.Column, "(") {
			continue // computed (acked): reads the empty marks table below
		}
		stored = append(stored, f)
		typ := "INTEGER"
		if f.Kind == KindString || f.Kind == KindEnum {
			typ = "TEXT"
		}
		cols = append(cols, f.Column+" "+typ)
		names = append(names, f.Column)
	}
	if _, err := db.Exec(fmt.Sprintf("CREATE TABLE %s (%s)", s.Entity, strings.Join(cols, ", "))); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE marks (entity TEXT, key TEXT)"); err != nil {
		tb.Fatal(err)
	}
	ins := fmt.Sprintf("INSERT INTO %s (%s) VALUES (?%s)", s.Entity, strings.Join(names, ", "), strings.Repeat(", ?", len(names)-1))
	for _, r := range rows {
		args := []any{int64(r["id"].(int))}
		for _, f := range stored {
			args = append(args, sqlValue(r[f.Name]))
		}
		if _, err := db.Exec(ins, args...); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

func sqlIDs(tb testing.TB, db *sql.DB, table, where string, args []any) []int {
	tb.Helper()
	q := "SELECT id FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	rs, err := db.Query(q+" ORDER BY id", args...)
	if err != nil {
		tb.Fatalf("%s %v: %v", q, args, err)
	}
	defer rs.Close()
	var ids []int
	for rs.Next() {
		var id int
		if err := rs.Scan(&id); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rs.Err(); err != nil {
		tb.Fatal(err)
	}
	return ids
}

func goIDs(p func(func(string) (any, bool)) bool, rows []map[string]any) []int {
	var ids []int
	for _, r := range rows {
		if p(func(f string) (any, bool) { v, ok := r[f]; return v, ok }) {
			ids = append(ids, r["id"].(int))
		}
	}
	return ids
}

// TestSQLMatchesPredicate runs every filter through a real SQLite and
// through Predicate and requires the same rows; want pins the expected rows
// where the semantics are subtle.
func TestSQLMatchesPredicate(t *testing.T) {
	rows := jobRows()
	db := openDB(t, Jobs, rows)
	defer db.Close()
	all := make([]int, len(rows))
	for i := range all {
		all[i] = i + 1
	}
	except := func(ids ...int) []int {
		return slices.DeleteFunc(slices.Clone(all), func(i int) bool { return slices.Contains(ids, i) })
	}
	tests := []struct {
		src  string
		want []int // nil: only compare SQL with Predicate
	}{
		{`state eq "ERRORED"`, []int{1, 2, 17}},
		{`state eq "errored"`, []int{1, 2, 17}},
		{`not (state eq "COMPLETED")`, []int{1, 2, 3, 11, 13, 17, 20, 22}},
		{`state eq null`, []int{11}},
		{`state pr`, except(11)},
		{`state eq "ERRORED" or state eq "RUNNING" and any_changes eq true`, []int{1, 2, 17}},
		{`(state eq "ERRORED" or state eq "RUNNING") and any_changes eq true`, []int{2, 17}},
		{`job_id co "1"`, []int{1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}},
		{`job_id co "_"`, []int{21}},
		{`job_id eq "job-07"`, []int{7}},
		{`action_name eq "SYNC AD"`, except(12)},
		{`action_name co "plan:"`, []int{12}},
		{`action_type eq "sync_identities"`, except(12)},
		{`event_source eq "access_plan"`, []int{12}},
		{`identity_name eq "ALICE"`, []int{1}},
		{`identity_name sw "al"`, []int{1, 2}},
		{`identity_name ew "SON"`, []int{2}},
		{`identity_name co "50%_"`, []int{4}},
		{`identity_name co "%"`, []int{4}},
		{`identity_name co "_"`, []int{4}},
		{`identity_name co "\\"`, []int{6}},
		{`identity_name co "\""`, []int{7}},
		{`identity_name eq "say \"HI\""`, []int{7}},
		{`identity_name eq "émile"`, []int{9}}, // case folding is ASCII-only, like SQLite
		{`identity_name co "MILE"`, []int{8, 9}},
		{`identity_name co "É"`, []int{8}},
		{`identity_name sw "é"`, []int{9}},
		{`identity_name co "zoë"`, []int{22}},
		{`identity_name eq ""`, []int{10}},
		{`identity_name co ""`, except(11)},
		{`identity_name eq null`, []int{10, 11}},
		{`not (identity_name eq "alice")`, except(1)},
		{`identity_id co "*"`, []int{4}},
		{`identity_id co "?"`, []int{6}},
		{`identity_id co "[x]"`, []int{7}},
		{`identity_id ew "AB"`, []int{19}},
		{`identity_id ew "ab"`, []int{20}},
		{`identity_id sw "ID-"`, []int{2}},
		{`identity_id co "a1"`, []int{2}},
		{`identity_id co "x"`, []int{5, 7, 8}},
		{`workflow_name co "*"`, []int{20}},
		{`extraction_event_type eq "FULL"`, except(11, 18)},
		{`extraction_event_type ne "full"`, []int{11, 18}},
		{`extraction_event_type ne "incremental"`, except(18)},
		{`started_at gt "2024-05-01T00:00:00Z"`, except(2, 14, 15)},
		{`started_at lt "2024-05-01T00:00:00Z"`, []int{2, 15}},
		{`started_at le "2024-05-01T00:00:00.5Z"`, []int{2, 15, 16}},
		{`started_at lt "2024-05-01T02:00:00.500+02:00"`, []int{2, 15}},
		{`started_at ge "1960-01-01T00:00:00Z" and started_at lt "1970-01-01T00:00:00.001Z"`, []int{15}},
		{`not (started_at pr)`, []int{14}},
		{`completed_at lt "2030-01-01T00:00:00Z"`, except(2, 3)},
		{`not (completed_at lt "2030-01-01T00:00:00Z")`, []int{2, 3}},
		{`created_at gt "2024-05-01T00:00:00Z"`, []int{16}},
		{`created_at pr`, except(3)},
		{`any_changes eq true`, []int{2, 4, 6, 8, 10, 12, 14, 16, 17, 18, 20}},
		{`any_changes eq false`, []int{1, 5, 7, 9, 11, 13, 15, 19, 21, 22}},
		{`not (any_changes eq true)`, []int{1, 3, 5, 7, 9, 11, 13, 15, 19, 21, 22}},
		{`any_changes pr`, []int{2, 4, 6, 8, 10, 12, 14, 16, 17, 18, 20}},
		{`any_changes eq null`, []int{1, 3, 5, 7, 9, 11, 13, 15, 19, 21, 22}},
		{`events_created eq 0`, []int{6, 9, 12, 15, 21, 22}},
		{`events_created eq null`, []int{3, 6, 9, 12, 15, 21, 22}},
		{`events_created pr`, except(3, 6, 9, 12, 15, 21, 22)},
		{`events_created eq 5`, []int{18}},
		{`error_message co "TIMEOUT"`, []int{1, 17}},
		{`error_message eq "timeout: RETRY later"`, []int{17}},
		{`error_message eq null`, except(1, 17)},
		{`not (error_message pr) and not (identity_name pr)`, []int{10, 11}},
		{`state eq "ERRORED" and (identity_name sw "A" or any_changes eq true)`, []int{1, 2, 17}},
		{`not (state eq "COMPLETED" or state eq "SKIPPED") and started_at ge "2024-05-01T03:00:00Z"`, []int{3, 11, 17, 20, 22}},
		{`not (not (identity_name co "e") or identity_id co "x")`, nil},
		{`identity_name co "x'); DROP TABLE jobs; --"`, []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			n, err := ParseFor(tt.src, Jobs)
			if err != nil {
				t.Fatal(err)
			}
			where, args, err := ToSQL(n, Jobs)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(where, "?") != len(args) {
				t.Errorf("%d placeholders, %d args: %s", strings.Count(where, "?"), len(args), where)
			}
			got := sqlIDs(t, db, "jobs", where, args)
			p, err := Predicate(n, Jobs)
			if err != nil {
				t.Fatal(err)
			}
			pred := goIDs(p, rows)
			if !slices.Equal(got, pred) {
				t.Errorf("SQL and Predicate disagree\n  sql  %v\n  pred %v\n  %s %#v", got, pred, where, args)
			}
			if tt.want != nil && !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("rows %v, want %v\n  %s %#v", got, tt.want, where, args)
			}
			// NOT of the fragment must select exactly the other rows.
			inv := sqlIDs(t, db, "jobs", "NOT "+where, args)
			if len(inv)+len(got) != len(rows) {
				t.Errorf("NOT (%s) selects %v: the fragment is not two-valued", where, inv)
			}
		})
	}
	if n := len(sqlIDs(t, db, "jobs", "", nil)); n != len(rows) {
		t.Fatalf("table has %d rows after the filters, want %d", n, len(rows))
	}
}

func TestToSQLText(t *testing.T) {
	ms := t0.UnixMilli()
	tests := []struct {
		schema *Schema
		src    string
		where  string
		args   []any
	}{
		{Jobs, `state eq "errored"`, `(state IS NOT NULL AND state = ? COLLATE NOCASE)`, []any{"ERRORED"}},
		{Jobs, `job_id eq "A"`, `(job_id IS NOT NULL AND job_id = ?)`, []any{"A"}},
		{Jobs, `extraction_event_type ne "full"`, `(extraction_event_type IS NULL OR extraction_event_type <> ? COLLATE NOCASE)`, []any{"full"}},
		{Jobs, `identity_name co "50%_\\"`, `(identity_name IS NOT NULL AND identity_name LIKE ? ESCAPE '\')`, []any{`%50\%\_\\%`}},
		{Jobs, `identity_name sw "a_"`, `(identity_name IS NOT NULL AND identity_name LIKE ? ESCAPE '\')`, []any{`a\_%`}},
		{Jobs, `identity_name ew "%"`, `(identity_name IS NOT NULL AND identity_name LIKE ? ESCAPE '\')`, []any{`%\%`}},
		{Jobs, `identity_id co "a*?[b]"`, `(identity_id IS NOT NULL AND identity_id GLOB ?)`, []any{`*a[*][?][[]b]*`}},
		{Jobs, `identity_id sw "x"`, `(identity_id IS NOT NULL AND identity_id GLOB ?)`, []any{`x*`}},
		{Jobs, `identity_id ew "x"`, `(identity_id IS NOT NULL AND identity_id GLOB ?)`, []any{`*x`}},
		{Jobs, `started_at gt "2024-05-01T00:00:00Z"`, `(started_at IS NOT NULL AND started_at <> 0 AND started_at > ?)`, []any{ms}},
		{Jobs, `started_at le "2024-05-01T02:00:00.123456+02:00"`, `(started_at IS NOT NULL AND started_at <> 0 AND started_at <= ?)`, []any{ms + 123}},
		{Jobs, `any_changes eq true`, `(any_changes IS NOT NULL AND any_changes = ?)`, []any{int64(1)}},
		{Jobs, `any_changes eq false`, `(any_changes IS NOT NULL AND any_changes = ?)`, []any{int64(0)}},
		{Jobs, `events_created eq 3`, `(events_created IS NOT NULL AND events_created = ?)`, []any{int64(3)}},
		{Tasks, `priority ne 3`, `(priority IS NULL OR priority <> ?)`, []any{int64(3)}},
		{Tasks, `priority ge -2`, `(priority IS NOT NULL AND priority >= ?)`, []any{int64(-2)}},
		{Jobs, `state pr`, `(state IS NOT NULL AND state <> '')`, nil},
		{Jobs, `started_at pr`, `(started_at IS NOT NULL AND started_at <> 0)`, nil},
		{Jobs, `state eq null`, `(state IS NULL OR state = '')`, nil},
		{Tasks, `priority eq null`, `(priority IS NULL OR priority = 0)`, nil},
		{Jobs, `not (state eq "RUNNING")`, `(NOT (state IS NOT NULL AND state = ? COLLATE NOCASE))`, []any{"RUNNING"}},
		{Jobs, `state eq "RUNNING" or job_id eq "a" and not (any_changes pr)`,
			`((state IS NOT NULL AND state = ? COLLATE NOCASE) OR ((job_id IS NOT NULL AND job_id = ?) AND (NOT (any_changes IS NOT NULL AND any_changes <> 0))))`,
			[]any{"RUNNING", "a"}},
		{&Schema{Entity: "t", Fields: []Field{{Name: "Name", Column: "t.name_col", Kind: KindString, Ops: []Op{OpEq}}}},
			`name eq "x"`, `(t.name_col IS NOT NULL AND t.name_col = ?)`, []any{"x"}},
	}
	for _, tt := range tests {
		n, err := Parse(tt.src)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		where, args, err := ToSQL(n, tt.schema)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if where != tt.where || !reflect.DeepEqual(args, tt.args) {
			t.Errorf("%s:\n  got  %s %#v\n  want %s %#v", tt.src, where, args, tt.where, tt.args)
		}
	}
}

// TestSQLTextIgnoresLiterals: the statement text for different literals of
// the same shape is identical, even for hostile values.
func TestSQLTextIgnoresLiterals(t *testing.T) {
	pairs := [][2]string{
		{`identity_name co "a"`, `identity_name co "'); DROP TABLE jobs; --"`},
		{`identity_id sw "a"`, `identity_id sw "*?[]%_\\\""`},
		{`state eq "RUNNING"`, `state eq "errored"`},
		{`events_created eq 1`, `events_created eq -99999`},
		{`any_changes eq true`, `any_changes eq false`},
		{`started_at gt "2024-05-01T00:00:00Z"`, `started_at gt "1969-01-01T00:00:00.999-07:00"`},
	}
	for _, p := range pairs {
		var wheres [2]string
		for i, src := range p {
			n, err := ParseFor(src, Jobs)
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			if wheres[i], _, err = ToSQL(n, Jobs); err != nil {
				t.Fatal(err)
			}
		}
		if wheres[0] != wheres[1] {
			t.Errorf("SQL depends on the literal:\n  %s\n  %s", wheres[0], wheres[1])
		}
	}
}

// TestSQLiteLimits: the largest filter Parse accepts still runs in SQLite.
func TestSQLiteLimits(t *testing.T) {
	db := openDB(t, Jobs, jobRows())
	defer db.Close()
	var b strings.Builder
	for i := 0; i < maxTerms; i++ {
		if i > 0 {
			b.WriteString([]string{" and ", " or "}[i%2])
		}
		if i < maxDepth {
			b.WriteString("not (")
		}
		b.WriteString(`identity_name co "x"`)
	}
	b.WriteString(strings.Repeat(")", maxDepth))
	n, err := ParseFor(b.String(), Jobs)
	if err != nil {
		t.Fatal(err)
	}
	where, args, err := ToSQL(n, Jobs)
	if err != nil {
		t.Fatal(err)
	}
	sqlIDs(t, db, "jobs", where, args)
}

func TestPredicateValueTypes(t *testing.T) {
	type state string
	name := "Alice"
	n := int64(3)
	ok := true
	tests := []struct {
		src  string
		rec  map[string]any
		want bool
	}{
		{`identity_name eq "alice"`, map[string]any{"identity_name": &name}, true},
		{`identity_name eq "alice"`, map[string]any{"identity_name": (*string)(nil)}, false},
		{`identity_name eq "alice"`, map[string]any{"identity_name": []byte("ALICE")}, true},
		{`identity_name eq "alice"`, map[string]any{"identity_name": 42}, false},
		{`state eq "running"`, map[string]any{"state": state("RUNNING")}, true},
		{`error_message co "b"`, map[string]any{"error_message": []string{"a", "B"}}, true},
		{`events_created eq 3`, map[string]any{"events_created": &n}, true},
		{`events_created eq 3`, map[string]any{"events_created": uint8(3)}, true},
		{`events_created eq 3`, map[string]any{"events_created": 3.0}, true},
		{`events_created eq 3`, map[string]any{"events_created": 3.5}, false},
		{`events_created pr`, map[string]any{"events_created": 0.0}, false},
		{`any_changes eq true`, map[string]any{"any_changes": &ok}, true},
		{`any_changes eq true`, map[string]any{"any_changes": 1}, true},
		{`started_at gt "2024-05-01T00:00:00Z"`, map[string]any{"started_at": t0.Add(time.Millisecond)}, true},
		{`started_at gt "2024-05-01T00:00:00Z"`, map[string]any{"started_at": t0.Add(time.Microsecond)}, false},
		{`started_at gt "2024-05-01T00:00:00Z"`, map[string]any{"started_at": t0.UnixMilli() + 1}, true},
		{`started_at gt "2024-05-01T00:00:00Z"`, map[string]any{"started_at": "2024-05-02T00:00:00+01:00"}, true},
		{`started_at lt "2024-05-01T00:00:00Z"`, map[string]any{"started_at": time.Time{}}, false},
		{`started_at lt "2024-05-01T00:00:00Z"`, map[string]any{"started_at": (*time.Time)(nil)}, false},
		{`started_at lt "2024-05-01T00:00:00Z"`, map[string]any{"started_at": 0}, false},
		{`not (started_at pr)`, map[string]any{"started_at": time.UnixMilli(0)}, true},
		{`started_at pr`, map[string]any{"started_at": "nonsense"}, false},
		{`state eq "RUNNING"`, map[string]any{}, false},
		{`extraction_event_type ne "full"`, map[string]any{}, true},
		{`extraction_event_type ne "full"`, map[string]any{"extraction_event_type": nil}, true},
		{`extraction_event_type ne "full"`, map[string]any{"extraction_event_type": "FULL"}, false},
	}
	for _, tt := range tests {
		n, err := ParseFor(tt.src, Jobs)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Predicate(n, Jobs)
		if err != nil {
			t.Fatal(err)
		}
		get := func(f string) (any, bool) { v, ok := tt.rec[f]; return v, ok }
		if got := p(get); got != tt.want {
			t.Errorf("%s on %#v = %v, want %v", tt.src, tt.rec, got, tt.want)
		}
	}
}
