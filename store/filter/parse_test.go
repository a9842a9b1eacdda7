package filter

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// users is an RFC 7644-style schema for the examples of §3.4.2.2.
var users = &Schema{Entity: "users", Fields: []Field{
	{Name: "userName", Column: "user_name", Kind: KindString, Ops: allOps, Fold: true},
	{Name: "userType", Column: "user_type", Kind: KindString, Ops: allOps},
	{Name: "title", Column: "title", Kind: KindString, Ops: allOps},
	{Name: "emails", Column: "emails", Kind: KindString, Ops: allOps, Fold: true},
	{Name: "name.familyName", Column: "family_name", Kind: KindString, Ops: allOps},
	{Name: "meta.lastModified", Column: "last_modified", Kind: KindTime, Ops: allOps},
	{Name: "active", Column: "active", Kind: KindBool, Ops: []Op{OpEq, OpNe}},
	{Name: "a", Column: "a", Kind: KindInt, Ops: allOps},
	{Name: "b", Column: "b", Kind: KindInt, Ops: allOps},
	{Name: "c", Column: "c", Kind: KindInt, Ops: allOps},
	{Name: "x", Column: "x", Kind: KindString, Ops: allOps},
}}

// sexpr renders the tree shape, so tests see grouping that String() hides.
func sexpr(n Node) string {
	switch n := n.(type) {
	case *Compare:
		if n.Op == OpPr {
			return "(pr " + n.Attr + ")"
		}
		return fmt.Sprintf("(%s %s %s)", n.Op, n.Attr, n.Value)
	case *Logical:
		return fmt.Sprintf("(%s %s %s)", n.Op, sexpr(n.Left), sexpr(n.Right))
	case *Not:
		return "(not " + sexpr(n.X) + ")"
	case nil:
		return "nil"
	}
	return fmt.Sprintf("%T", n)
}

// equalAST compares two trees ignoring positions.
func equalAST(a, b Node) bool {
	switch a := a.(type) {
	case *Compare:
		b, ok := b.(*Compare)
		return ok && a.Attr == b.Attr && a.Op == b.Op && a.Value == b.Value
	case *Logical:
		b, ok := b.(*Logical)
		return ok && a.Op == b.Op && equalAST(a.Left, b.Left) && equalAST(a.Right, b.Right)
	case *Not:
		b, ok := b.(*Not)
		return ok && equalAST(a.X, b.X)
	case nil:
		return b == nil
	}
	return false
}

func TestParseRFC7644Examples(t *testing.T) {
	tests := []struct {
		src, canon, shape string
	}{
		{`userName eq "bjensen"`, `userName eq "bjensen"`, `(eq userName "bjensen")`},
		{`name.familyName co "O'Malley"`, `name.familyName co "O'Malley"`, `(co name.familyName "O'Malley")`},
		{`userName sw "J"`, `userName sw "J"`, `(sw userName "J")`},
		{`title pr`, `title pr`, `(pr title)`},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`, `(gt meta.lastModified "2011-05-13T04:42:34Z")`},
		{`title pr and userType eq "Employee"`, `title pr and userType eq "Employee"`, `(and (pr title) (eq userType "Employee"))`},
		{`title pr or userType eq "Intern"`, `title pr or userType eq "Intern"`, `(or (pr title) (eq userType "Intern"))`},
		{`userType eq "Employee" and (emails co "example.com" or emails co "example.org")`,
			`userType eq "Employee" and (emails co "example.com" or emails co "example.org")`,
			`(and (eq userType "Employee") (or (co emails "example.com") (co emails "example.org")))`},
		{`userType ne "Employee" and not (emails co "example.com" or emails co "example.org")`,
			`userType ne "Employee" and not (emails co "example.com" or emails co "example.org")`,
			`(and (ne userType "Employee") (not (or (co emails "example.com") (co emails "example.org"))))`},
		{`(a eq 1 or b eq 2) and c pr`, `(a eq 1 or b eq 2) and c pr`, `(and (or (eq a 1) (eq b 2)) (pr c))`},
		{`not (x co "y")`, `not (x co "y")`, `(not (co x "y"))`},
		{`not(x co "y")`, `not (x co "y")`, `(not (co x "y"))`},
		{`NOT(x co "y")`, `not (x co "y")`, `(not (co x "y"))`},
		{`a eq 1 AND b eq 2 Or NoT (c pr)`, `a eq 1 and b eq 2 or not (c pr)`, `(or (and (eq a 1) (eq b 2)) (not (pr c)))`},
		{`userName EQ "x" aNd title Pr`, `userName eq "x" and title pr`, `(and (eq userName "x") (pr title))`},
		{"\ta eq 1\n and\r\nb eq 2 ", `a eq 1 and b eq 2`, `(and (eq a 1) (eq b 2))`},
		{`((a pr))`, `a pr`, `(pr a)`},
		{`active eq TRUE or active eq False or c eq NULL`, `active eq true or active eq false or c eq null`, `(or (or (eq active true) (eq active false)) (eq c null))`},
		{`x eq "a"and a eq 1`, `x eq "a" and a eq 1`, `(and (eq x "a") (eq a 1))`},
		// precedence: and binds tighter than or; both associate to the left
		{`a eq 1 or b eq 2 and c eq 3`, `a eq 1 or b eq 2 and c eq 3`, `(or (eq a 1) (and (eq b 2) (eq c 3)))`},
		{`a eq 1 and b eq 2 or c eq 3`, `a eq 1 and b eq 2 or c eq 3`, `(or (and (eq a 1) (eq b 2)) (eq c 3))`},
		{`a eq 1 and (b eq 2 or c eq 3)`, `a eq 1 and (b eq 2 or c eq 3)`, `(and (eq a 1) (or (eq b 2) (eq c 3)))`},
		{`(a eq 1 or b eq 2) or c eq 3`, `a eq 1 or b eq 2 or c eq 3`, `(or (or (eq a 1) (eq b 2)) (eq c 3))`},
		{`a eq 1 or (b eq 2 or c eq 3)`, `a eq 1 or (b eq 2 or c eq 3)`, `(or (eq a 1) (or (eq b 2) (eq c 3)))`},
		{`a eq 1 and (b eq 2 and c eq 3)`, `a eq 1 and (b eq 2 and c eq 3)`, `(and (eq a 1) (and (eq b 2) (eq c 3)))`},
		{`a eq 1 or b eq 2 and c eq 3 or x pr`, `a eq 1 or b eq 2 and c eq 3 or x pr`, `(or (or (eq a 1) (and (eq b 2) (eq c 3))) (pr x))`},
		{`not (a pr) and not (b pr) or c pr`, `not (a pr) and not (b pr) or c pr`, `(or (and (not (pr a)) (not (pr b))) (pr c))`},
		{`not (not (a pr))`, `not (not (a pr))`, `(not (not (pr a)))`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			n, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := n.String(); got != tt.canon {
				t.Errorf("String() = %q, want %q", got, tt.canon)
			}
			if got := sexpr(n); got != tt.shape {
				t.Errorf("shape = %s, want %s", got, tt.shape)
			}
			n2, err := Parse(n.String())
			if err != nil || !equalAST(n, n2) {
				t.Errorf("String() does not round-trip: %v, %s", err, sexpr(n2))
			}
			if err := Validate(n, users); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestParsePositions(t *testing.T) {
	n, err := Parse(`a eq 1 and  not (x pr)`)
	if err != nil {
		t.Fatal(err)
	}
	l := n.(*Logical)
	if p := l.Left.(*Compare).Pos; p != 0 {
		t.Errorf("left Pos = %d, want 0", p)
	}
	not := l.Right.(*Not)
	if not.Pos != 12 {
		t.Errorf("not Pos = %d, want 12", not.Pos)
	}
	if p := not.X.(*Compare).Pos; p != 17 {
		t.Errorf("x Pos = %d, want 17", p)
	}
}

// TestPrecedenceByEvaluation checks grouping through Predicate: with a=1,
// b=0, c=0, "a or b and c" is true only if and binds tighter than or.
func TestPrecedenceByEvaluation(t *testing.T) {
	rec := map[string]any{"a": 1, "b": 0, "c": 0, "x": "y"}
	get := func(f string) (any, bool) { v, ok := rec[f]; return v, ok }
	tests := []struct {
		src  string
		want bool
	}{
		{`a eq 1 or b eq 1 and c eq 1`, true},
		{`(a eq 1 or b eq 1) and c eq 1`, false},
		{`b eq 1 and c eq 1 or a eq 1`, true},
		{`b eq 1 and (c eq 1 or a eq 1)`, false},
		{`not (a eq 1) or a eq 1 and b eq 0`, true},
		{`not (a eq 1 or b eq 0)`, false},
		{`not (b eq 1) and not (c eq 1)`, true},
		{`a eq 1 AND b eq 0 OR c eq 5`, true},
		{`x pr and b pr`, false}, // b is 0: present means non-zero
		{`not (x co "y")`, false},
	}
	for _, tt := range tests {
		n, err := ParseFor(tt.src, users)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		p, err := Predicate(n, users)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		if got := p(get); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.src, got, tt.want)
		}
	}
}

func TestParseLiterals(t *testing.T) {
	tests := []struct {
		src  string
		want Value
	}{
		{`x eq ""`, Value{Kind: ValueString}},
		{`x eq "a\"b\\c\/d"`, Value{Kind: ValueString, Str: `a"b\c/d`}},
		{`x eq "\n\t\r\b\f"`, Value{Kind: ValueString, Str: "\n\t\r\b\f"}},
		{`x eq "caf\u00e9 \u00C9"`, Value{Kind: ValueString, Str: "café É"}},
		{`x eq "\ud83d\ude00!"`, Value{Kind: ValueString, Str: "😀!"}},
		{`x eq "naïve 😀 ok"`, Value{Kind: ValueString, Str: "naïve 😀 ok"}},
		{"x eq \"del\x7f\"", Value{Kind: ValueString, Str: "del\x7f"}},
		{`a eq 0`, Value{Kind: ValueNumber, Num: 0}},
		{`a eq 42`, Value{Kind: ValueNumber, Num: 42}},
		{`a eq -7`, Value{Kind: ValueNumber, Num: -7}},
		{`a eq 1.25`, Value{Kind: ValueNumber, Num: 1.25}},
		{`a eq -2.5e3`, Value{Kind: ValueNumber, Num: -2500}},
		{`a eq 1E+2`, Value{Kind: ValueNumber, Num: 100}},
		{`a eq 5e-1`, Value{Kind: ValueNumber, Num: 0.5}},
		{`a eq 007`, Value{Kind: ValueNumber, Num: 7}},
		{`a eq 123456789012`, Value{Kind: ValueNumber, Num: 123456789012}},
		{`a eq true`, Value{Kind: ValueBool, Bool: true}},
		{`a eq fAlSe`, Value{Kind: ValueBool}},
		{`a eq Null`, Value{Kind: ValueNull}},
	}
	for _, tt := range tests {
		n, err := Parse(tt.src)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		c := n.(*Compare)
		if c.Value != tt.want {
			t.Errorf("%s: value = %#v, want %#v", tt.src, c.Value, tt.want)
		}
		n2, err := Parse(n.String())
		if err != nil || !equalAST(n, n2) {
			t.Errorf("%s: String() %q does not round-trip (%v)", tt.src, n.String(), err)
		}
	}
}

func TestValueString(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{Value{Kind: ValueString, Str: "a\"b\\c\n\x01é"}, `"a\"b\\c\n\u0001é"`},
		{Value{Kind: ValueNumber, Num: 1e8}, `100000000`},
		{Value{Kind: ValueNumber, Num: 1e21}, `1e+21`},
		{Value{Kind: ValueNumber, Num: 0.1}, `0.1`},
		{Value{Kind: ValueNumber, Num: -3}, `-3`},
		{Value{Kind: ValueBool, Bool: true}, `true`},
		{Value{Kind: ValueNull}, `null`},
		{Value{}, ``},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%#v.String() = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	deep := strings.Repeat("(", maxDepth+1) + "a pr" + strings.Repeat(")", maxDepth+1)
	long := strings.Repeat("a pr and ", maxTerms) + "a pr"
	tests := []struct {
		src   string
		pos   int
		field string
		msg   string // exact message
	}{
		{`state eq`, 8, "state", `unexpected end of filter: expected a value after "eq"`},
		{`state eqq "x"`, 6, "state", `unknown operator "eqq" (expected one of eq ne co sw ew gt ge lt le pr)`},
		{`state eq "x" foo eq "y"`, 13, "", `expected and/or, found "foo"`},
		{`(state eq "x"`, 0, "", `unbalanced parenthesis: this "(" is never closed`},
		{`state eq "x")`, 12, "", `unbalanced parenthesis: unexpected ")"`},
		{`(a pr) and (b pr))`, 17, "", `unbalanced parenthesis: unexpected ")"`},
		{`state eq "abc`, 9, "", `unterminated string: missing closing '"'`},
		{`state eq "abc\`, 9, "", `unterminated string: missing closing '"'`},
		{`state eq "a\qb"`, 11, "", `invalid escape "\q" in string (valid: \" \\ \/ \b \f \n \r \t \uXXXX)`},
		{`x eq "\u12"`, 6, "", `invalid \u escape: expected 4 hex digits`},
		{`x eq "\ud800"`, 6, "", `invalid \u escape: unpaired surrogate \ud800`},
		{`x eq "\udc00"`, 6, "", `invalid \u escape: unpaired surrogate \udc00`},
		{`x eq "ab\u0000"`, 8, "", `the NUL character (\u0000) is not allowed in a string`},
		{"x eq \"a\nb\"", 7, "", `control character 0x0a in string: use an escape such as \n or \t`},
		{"x eq \"a\xffb\"", 7, "", `invalid UTF-8 byte 0xff in string`},
		{"x eq \xff", 5, "", `invalid UTF-8 byte 0xff`},
		{`state eq ERRORED`, 9, "state", `expected a value after "eq", found "ERRORED" (strings must be double-quoted: "ERRORED")`},
		{`state eq and`, 9, "state", `expected a value after "eq", found "and"`},
		{`state eq )`, 9, "state", `expected a value after "eq", found ")"`},
		{`state`, 5, "state", `unexpected end of filter: expected an operator after "state" (one of eq ne co sw ew gt ge lt le pr)`},
		{`state "x"`, 6, "state", `expected an operator after "state", found "x" (one of eq ne co sw ew gt ge lt le pr)`},
		{`state eq "x" and`, 16, "", `unexpected end of filter: expected a filter after "and"`},
		{`state eq "x" OR `, 16, "", `unexpected end of filter: expected a filter after "OR"`},
		{`a pr and or b pr`, 9, "", `expected a filter after "and", found "or"`},
		{`and eq 1`, 0, "", `expected a filter, found "and"`},
		{`not state eq "x"`, 4, "", `expected "(" after "not", found "state" (write: not (expression))`},
		{`not`, 3, "", `unexpected end of filter: expected "(" after "not"`},
		{`()`, 1, "", `empty parentheses: expected a filter inside`},
		{`(`, 1, "", `unexpected end of filter: expected a filter after "("`},
		{`a pr and )`, 9, "", `expected a filter after "and", found ")"`},
		{`a pr "x"`, 5, "a", `operator "pr" takes no value, found "x"`},
		{`a pr true`, 5, "a", `operator "pr" takes no value, found "true"`},
		{`a eq 1x`, 5, "a", `invalid number "1x"`},
		{`a eq 1.`, 5, "a", `invalid number "1."`},
		{`a eq 1e`, 5, "a", `invalid number "1e"`},
		{`a eq 1e999`, 5, "a", `number 1e999 is out of range`},
		{`a eq -`, 5, "", `unexpected character '-'`},
		{`a eq 'x'`, 5, "", `unexpected character "'": strings must be double-quoted`},
		{`1a eq 2`, 0, "", `expected an attribute name, found 1a (attribute names start with a letter)`},
		{`a pr and "x" eq 1`, 9, "", `expected an attribute name after "and", found "x" (attribute names start with a letter)`},
		{`(a eq 1 b eq 2)`, 8, "", `expected and/or or ")", found "b"`},
		{`emails[type eq "work"]`, 6, "", `unexpected character '[': complex attribute filters are not supported`},
		{`a eq 1 & b eq 2`, 7, "", `unexpected character '&'`},
		{`_a pr`, 0, "", `unexpected character '_'`},
		{deep, maxDepth, "", fmt.Sprintf("filter nested too deeply (more than %d levels of parentheses)", maxDepth)},
		{long, len(long) - 4, "a", fmt.Sprintf("filter too long (more than %d comparisons)", maxTerms)},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			n, err := Parse(tt.src)
			if err == nil {
				t.Fatalf("Parse succeeded: %s", n)
			}
			if n != nil {
				t.Errorf("Parse returned a node with an error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			if e.Pos != tt.pos || e.Msg != tt.msg || e.Field != tt.field {
				t.Errorf("got  pos %d field %q msg %s\nwant pos %d field %q msg %s", e.Pos, e.Field, e.Msg, tt.pos, tt.field, tt.msg)
			}
			if want := fmt.Sprintf("col %d: %s", tt.pos+1, tt.msg); err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestParseLimitsAccepted(t *testing.T) {
	deep := strings.Repeat("(", maxDepth) + "a pr" + strings.Repeat(")", maxDepth)
	if _, err := Parse(deep); err != nil {
		t.Errorf("depth %d: %v", maxDepth, err)
	}
	nots := strings.Repeat("not (", maxDepth) + "a pr" + strings.Repeat(")", maxDepth)
	if _, err := Parse(nots); err != nil {
		t.Errorf("%d nots: %v", maxDepth, err)
	}
	long := strings.Repeat("a pr and ", maxTerms-1) + "a pr"
	if _, err := Parse(long); err != nil {
		t.Errorf("%d terms: %v", maxTerms, err)
	}
}

func TestEmptyFilter(t *testing.T) {
	for _, src := range []string{"", " ", "\t\n\r  "} {
		n, err := Parse(src)
		if n != nil || err != nil {
			t.Errorf("Parse(%q) = %v, %v; want nil, nil", src, n, err)
		}
		n, err = ParseFor(src, Jobs)
		if n != nil || err != nil {
			t.Errorf("ParseFor(%q) = %v, %v; want nil, nil", src, n, err)
		}
	}
	if err := Validate(nil, Jobs); err != nil {
		t.Errorf("Validate(nil) = %v", err)
	}
	where, args, err := ToSQL(nil, Jobs)
	if where != "" || args != nil || err != nil {
		t.Errorf("ToSQL(nil) = %q, %v, %v", where, args, err)
	}
	p, err := Predicate(nil, Jobs)
	if err != nil || !p(func(string) (any, bool) { return nil, false }) {
		t.Errorf("Predicate(nil) is not always true (%v)", err)
	}
	var c *Compare
	if _, _, err := ToSQL(c, Jobs); err != nil {
		t.Errorf("ToSQL(typed nil) = %v", err)
	}
}

func TestParseForValidates(t *testing.T) {
	if _, err := ParseFor(`state eq "x"`, Jobs); err == nil {
		t.Error("ParseFor accepted an unknown enum value")
	}
	if _, err := ParseFor(`state eq`, Jobs); err == nil {
		t.Error("ParseFor accepted a syntax error")
	}
	n, err := ParseFor(`state eq "errored" and started_at gt "2024-05-01T00:00:00Z"`, Jobs)
	if err != nil || n == nil {
		t.Fatalf("ParseFor = %v, %v", n, err)
	}
}

func BenchmarkParse(b *testing.B) {
	src := `state eq "ERRORED" and (identity_name sw "al" or action_name co "Sync AD") and ` +
		`started_at ge "2024-05-01T00:00:00Z" and not (extraction_event_type eq "full" or any_changes eq true) ` +
		`and events_created eq 3 and error_message co "timeout \"x\" \u00e9"`
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToSQL(b *testing.B) {
	n, err := ParseFor(`state eq "ERRORED" and (identity_name sw "al" or action_name co "Sync AD") and started_at ge "2024-05-01T00:00:00Z"`, Jobs)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ToSQL(n, Jobs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPredicate(b *testing.B) {
	n, err := ParseFor(`state eq "ERRORED" and (identity_name sw "al" or action_name co "Sync AD") and started_at ge "2024-05-01T00:00:00Z"`, Jobs)
	if err != nil {
		b.Fatal(err)
	}
	p, err := Predicate(n, Jobs)
	if err != nil {
		b.Fatal(err)
	}
	started := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	rec := map[string]any{"state": "ERRORED", "identity_name": "Bob", "action_name": "sync ad attrs", "started_at": &started}
	get := func(f string) (any, bool) { v, ok := rec[f]; return v, ok }
	b.ReportAllocs()
	for b.Loop() {
		if !p(get) {
			b.Fatal("no match")
		}
	}
}
