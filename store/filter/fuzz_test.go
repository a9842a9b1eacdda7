package filter

import (
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	``,
	`state eq "ERRORED"`,
	`state eq "errored" and (identity_name sw "al" or any_changes eq true)`,
	`not (state eq "COMPLETED" or state eq "SKIPPED") and started_at ge "2024-05-01T03:00:00Z"`,
	`identity_name co "50%_\\\""`,
	`identity_id co "a*?[b]" or identity_id ew "\u00e9\ud83d\ude00"`,
	`a eq 1 or b eq 2 and c eq 3 or not(x pr)`,
	`(a eq 1 or b eq 2) and c pr`,
	`events_created eq -1.5e3 and events_created eq 0 or events_created eq null`,
	`started_at lt "2024-05-01T02:00:00.500+02:00" and completed_at gt "1969-07-20T20:17:00Z"`,
	`NOT (Job_Id Co "1") AnD ERROR_MESSAGE pr`,
	`priority ge 3 and dry_run eq false and workflow ne "x"`,
	`state eq`,
	`state eqq "x"`,
	`(a pr`,
	`a pr)`,
	`x eq "\x"`,
	`x eq "\ud800"`,
	"x eq \"\xff\"",
	`((((not (a pr)))))`,
}

var fuzzSchemas = []*Schema{Jobs, Tasks, Actions, users}

// fuzzGet returns a value of a type that depends on the field name, so the
// evaluator sees every supported (and some unsupported) type.
func fuzzGet(field string) (any, bool) {
	switch len(field) % 7 {
	case 0:
		return nil, false
	case 1:
		return "Abc%_\\", true
	case 2:
		return int64(len(field)), true
	case 3:
		return time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), true
	case 4:
		return (*time.Time)(nil), true
	case 5:
		return 1.5, true
	}
	return true, true
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := Parse(src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if e.Pos < 0 || e.Pos > len(src) {
				t.Fatalf("error position %d outside [0,%d]: %v", e.Pos, len(src), err)
			}
			if n != nil {
				t.Fatalf("node returned with an error")
			}
			return
		}
		if n == nil {
			if !isBlank(src) {
				t.Fatalf("nil node for non-blank %q", src)
			}
			return
		}
		s1 := n.String()
		n2, err := Parse(s1)
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", s1, src, err)
		}
		if !equalAST(n, n2) {
			t.Fatalf("round trip changed the tree:\n  %q\n  %s\n  %q\n  %s", src, sexpr(n), s1, sexpr(n2))
		}
		if s2 := n2.String(); s2 != s1 {
			t.Fatalf("String() is not canonical: %q then %q", s1, s2)
		}
		for _, s := range fuzzSchemas {
			verr := Validate(n, s)
			_, _, serr := ToSQL(n, s)
			p, perr := Predicate(n, s)
			if (verr == nil) != (serr == nil) || (verr == nil) != (perr == nil) {
				t.Fatalf("Validate %v, ToSQL %v, Predicate %v disagree", verr, serr, perr)
			}
			if verr != nil {
				var e *Error
				if !errors.As(verr, &e) || e.Pos < 0 || e.Pos > len(src) {
					t.Fatalf("bad validation error %#v", verr)
				}
				continue
			}
			p(fuzzGet)
		}
	})
}

// replaceLiterals copies n with every literal replaced by repl.
func replaceLiterals(n Node, repl func(c *Compare) Value) Node {
	switch n := n.(type) {
	case *Compare:
		c := *n
		c.Value = repl(n)
		return &c
	case *Logical:
		return &Logical{Op: n.Op, Left: replaceLiterals(n.Left, repl), Right: replaceLiterals(n.Right, repl)}
	case *Not:
		return &Not{X: replaceLiterals(n.X, repl), Pos: n.Pos}
	}
	return n
}

// plainLiterals replaces strings by "x" and numbers by 1.
func plainLiterals(c *Compare) Value {
	switch c.Value.Kind {
	case ValueString:
		return Value{Kind: ValueString, Str: "x"}
	case ValueNumber:
		return Value{Kind: ValueNumber, Num: 1}
	}
	return c.Value
}

// otherLiterals replaces every literal by a different one that is still
// valid for its field, so ToSQL must succeed and emit the same text.
func otherLiterals(s *Schema) func(c *Compare) Value {
	return func(c *Compare) Value {
		f, _ := s.Field(c.Attr)
		v := c.Value
		switch {
		case v.Kind == ValueNone || v.Kind == ValueNull:
			return v
		case v.Kind == ValueBool:
			return Value{Kind: ValueBool, Bool: !v.Bool}
		case v.Kind == ValueNumber:
			if v.Num == 1 {
				return Value{Kind: ValueNumber, Num: 2}
			}
			return Value{Kind: ValueNumber, Num: 1}
		case f.Kind == KindTime:
			return Value{Kind: ValueString, Str: "1999-12-31t23:59:59.123+01:00"}
		case f.Kind == KindEnum && (c.Op == OpEq || c.Op == OpNe) && len(f.Values) > 0:
			canon, _ := enumValue(f, v.Str)
			i := slices.Index(f.Values, canon)
			return Value{Kind: ValueString, Str: strings.ToLower(f.Values[(i+1)%len(f.Values)])}
		}
		return Value{Kind: ValueString, Str: `'); DROP TABLE x; -- %_\*?["`}
	}
}

// FuzzToSQL checks, for the input as a filter and for a valid jobs filter
// generated from the input bytes: ToSQL and Predicate agree on validity;
// literals only reach args (replacing them leaves the SQL text unchanged);
// and the SQL run by SQLite selects exactly the rows Predicate selects.
func FuzzToSQL(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Add("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09")
	f.Add("\x10\x21\x32\x43\x54\x65\x76\x87\x98\xa9\xba\xcb\xdc\xed\xfe")
	rows := jobRows()
	db := openDB(f, Jobs, rows)
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, src string) {
		checkSQL(t, db, rows, src, false)
		g := &byteReader{b: src}
		checkSQL(t, db, rows, genFilter(g, 0), true)
	})
}

func checkSQL(t *testing.T, db *sql.DB, rows []map[string]any, src string, mustJobs bool) {
	n, err := Parse(src)
	if err != nil || n == nil {
		if mustJobs && err != nil {
			t.Fatalf("generated filter %q: %v", src, err)
		}
		return
	}
	for _, s := range []*Schema{Jobs, Tasks, Actions} {
		where, args, err := ToSQL(n, s)
		if err != nil {
			if s == Jobs && mustJobs {
				t.Fatalf("generated filter %q: %v", src, err)
			}
			if _, perr := Predicate(n, s); perr == nil || perr.Error() != err.Error() {
				t.Fatalf("ToSQL error %v, Predicate error %v", err, perr)
			}
			continue
		}
		if c := strings.Count(where, "?"); c != len(args) {
			t.Fatalf("%d placeholders, %d args: %s", c, len(args), where)
		}
		plain := replaceLiterals(n, plainLiterals)
		if w, _, err := ToSQL(plain, s); err == nil && w != where {
			t.Fatalf("SQL depends on literals:\n  %s\n  %s (%s)", where, w, plain)
		}
		other := replaceLiterals(n, otherLiterals(s))
		w, a, err := ToSQL(other, s)
		if err != nil {
			t.Fatalf("%s: %v", other, err)
		}
		if w != where || len(a) != len(args) {
			t.Fatalf("SQL depends on literals:\n  %s\n  %s (%s)", where, w, other)
		}
		if s != Jobs {
			continue
		}
		p, err := Predicate(n, s)
		if err != nil {
			t.Fatal(err)
		}
		got, want := sqlIDs(t, db, "jobs", where, args), goIDs(p, rows)
		if !slices.Equal(got, want) {
			t.Fatalf("%s\n  sql  %v\n  pred %v\n  %s %#v", n, got, want, where, args)
		}
	}
}

type byteReader struct {
	b string
	i int
}

func (r *byteReader) next(n int) int {
	if r.i >= len(r.b) {
		return 0
	}
	c := r.b[r.i]
	r.i++
	return int(c) % n
}

var (
	genStrings = []string{"", "a", "A", "al", "ALICE", "son", "%", "_", `\\`, `\"`, "50%_", "*", "?",
		"[x]", "x", "é", "É", "mile", "MILE", "zoë", "timeout", "job-1", "job_", "sync ad", "full",
		"id-", "ID-", "ab", "AB", "1", "user 1", "Joiner*", "Access Plan: grant", "PLAN"}
	genTimes = []string{"2024-05-01T00:00:00Z", "2024-05-01T00:00:00.5Z", "2024-05-01T00:00:00.001Z",
		"1970-01-01T00:00:00Z", "1969-07-20T20:17:00Z", "2024-05-01T03:00:00+01:00",
		"2030-01-01T00:00:00Z", "2024-04-30T23:00:00Z", "2024-05-01T05:00:00.000-00:00"}
)

// genFilter builds a valid jobs filter (with random letter case) from r.
func genFilter(r *byteReader, depth int) string {
	if depth < 4 {
		switch r.next(8) {
		case 1:
			return genFilter(r, depth+1) + [...]string{" and ", " AND "}[r.next(2)] + genFilter(r, depth+1)
		case 2:
			return genFilter(r, depth+1) + [...]string{" or ", " Or "}[r.next(2)] + genFilter(r, depth+1)
		case 3:
			return "not (" + genFilter(r, depth+1) + ")"
		case 4:
			return "(" + genFilter(r, depth+1) + ")"
		}
	}
	f := Jobs.Fields[r.next(len(Jobs.Fields))]
	ops := append(slices.Clone(f.Ops), OpPr)
	op := ops[r.next(len(ops))]
	attr := f.Name
	if r.next(4) == 0 {
		attr = strings.ToUpper(attr)
	}
	if op == OpPr {
		return attr + " pr"
	}
	if (op == OpEq || op == OpNe) && r.next(6) == 0 {
		return attr + " " + string(op) + " null"
	}
	var v string
	switch f.Kind {
	case KindString:
		v = quote(genStrings[r.next(len(genStrings))])
	case KindEnum:
		v = f.Values[r.next(len(f.Values))]
		if r.next(2) == 0 {
			v = strings.ToLower(v)
		}
		v = quote(v)
	case KindBool:
		v = [...]string{"true", "false"}[r.next(2)]
	case KindInt:
		v = strconv.Itoa(r.next(8) - 1)
	case KindTime:
		v = quote(genTimes[r.next(len(genTimes))])
	}
	return attr + " " + string(op) + " " + v
}
