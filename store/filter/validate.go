package filter

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Validate checks n against s: every attribute must be a field of s, every
// operator must be allowed for its field, and every literal must have the
// field's type (a quoted string for strings, a known value for enums, true or
// false for bools, an integral number for integers, a quoted RFC 3339 time for
// times; null only with eq/ne). A nil node is valid. Errors are *Error with
// the position of the offending comparison and the field name.
func Validate(n Node, s *Schema) error {
	if _, err := resolve(n, s); err != nil {
		return err
	}
	return nil
}

// cnode is a validated filter with fields resolved and literals converted to
// what SQL and Go compare: ToSQL and Predicate both work from it, so they
// cannot disagree on validation.
type cnode struct {
	kind cKind
	l, r *cnode // cAnd, cOr; cNot uses l
	f    Field
	op   Op
	null bool   // "eq null" / "ne null"
	str  string // string and enum literals (enums in canonical case)
	num  int64  // int literal, bool as 1/0, time as unix ms
}

type cKind int

const (
	cCmp cKind = iota
	cAnd
	cOr
	cNot
)

func isNil(n Node) bool {
	switch n := n.(type) {
	case nil:
		return true
	case *Compare:
		return n == nil
	case *Logical:
		return n == nil
	case *Not:
		return n == nil
	}
	return false
}

// posOf returns the source offset of the leftmost token of n.
func posOf(n Node) int {
	switch n := n.(type) {
	case *Compare:
		if n != nil {
			return n.Pos
		}
	case *Not:
		if n != nil {
			return n.Pos
		}
	case *Logical:
		if n != nil {
			return posOf(n.Left)
		}
	}
	return 0
}

// resolve validates n against s. A nil node yields (nil, nil).
func resolve(n Node, s *Schema) (*cnode, *Error) {
	if isNil(n) {
		return nil, nil
	}
	if s == nil {
		return nil, &Error{Pos: posOf(n), Msg: "no schema to check the filter against"}
	}
	return resolveNode(n, s, 0)
}

func resolveNode(n Node, s *Schema, pos int) (*cnode, *Error) {
	if isNil(n) {
		return nil, &Error{Pos: pos, Msg: "missing expression"}
	}
	switch n := n.(type) {
	case *Compare:
		return resolveCompare(n, s)
	case *Not:
		x, err := resolveNode(n.X, s, n.Pos)
		if err != nil {
			return nil, err
		}
		return &cnode{kind: cNot, l: x}, nil
	case *Logical:
		var k cKind
		switch {
		case strings.EqualFold(n.Op, "and"):
			k = cAnd
		case strings.EqualFold(n.Op, "or"):
			k = cOr
		default:
			return nil, &Error{Pos: posOf(n), Msg: fmt.Sprintf("unknown logical operator %q (expected and, or)", n.Op)}
		}
		l, err := resolveNode(n.Left, s, posOf(n))
		if err != nil {
			return nil, err
		}
		r, err := resolveNode(n.Right, s, posOf(n))
		if err != nil {
			return nil, err
		}
		return &cnode{kind: k, l: l, r: r}, nil
	}
	return nil, &Error{Pos: pos, Msg: fmt.Sprintf("unsupported filter node %T", n)}
}

func resolveCompare(c *Compare, s *Schema) (*cnode, *Error) {
	f, ok := s.Field(c.Attr)
	if !ok {
		return nil, &Error{Pos: c.Pos, Field: c.Attr, Msg: unknownField(c.Attr, s)}
	}
	fail := func(format string, args ...any) (*cnode, *Error) {
		return nil, &Error{Pos: c.Pos, Field: f.Name, Msg: fmt.Sprintf(format, args...)}
	}
	op, ok := lookupOp(string(c.Op))
	if !ok {
		return fail("unknown operator %q (expected one of %s)", c.Op, opList)
	}
	cn := &cnode{kind: cCmp, f: f, op: op}
	v := c.Value
	if op == OpPr {
		if v.Kind != ValueNone {
			return fail(`operator "pr" takes no value, found %s`, v)
		}
		return cn, nil
	}
	if !f.Allows(op) {
		hint := ""
		if v.Kind == ValueNull {
			hint = fmt.Sprintf(`; to test for a value use "%s pr" or "not (%s pr)"`, f.Name, f.Name)
		}
		return fail("field %q does not allow operator %q (allowed: %s)%s", f.Name, op, joinOps(f.Ops), hint)
	}
	if !kindSupports(f.Kind, op) {
		return fail("operator %q cannot be used on %s field %q", op, f.Kind, f.Name)
	}
	switch v.Kind {
	case ValueNone:
		return fail("operator %q needs a value", op)
	case ValueNull:
		if op != OpEq && op != OpNe {
			return fail("null can only be compared with eq or ne, not %q", op)
		}
		cn.null = true
		return cn, nil
	}
	switch f.Kind {
	case KindString:
		if v.Kind != ValueString {
			return fail("field %q expects a string, found %s%s", f.Name, v, quoteHint(v))
		}
		cn.str = v.Str
	case KindEnum:
		if v.Kind != ValueString {
			return fail("field %q expects one of %s, found %s%s", f.Name, strings.Join(f.Values, ", "), v, quoteHint(v))
		}
		cn.str = v.Str
		if op == OpEq || op == OpNe {
			canon, ok := enumValue(f, v.Str)
			if !ok {
				hint := ""
				if close := closest(v.Str, f.Values, 3); len(close) > 0 {
					hint = "; did you mean " + strings.Join(close, " or ") + "?"
				}
				return fail("field %q has no value %s%s (valid: %s)", f.Name, v, hint, strings.Join(f.Values, ", "))
			}
			cn.str = canon
		}
	case KindBool:
		if v.Kind != ValueBool {
			return fail("field %q expects true or false, found %s", f.Name, v)
		}
		if v.Bool {
			cn.num = 1
		}
	case KindInt:
		switch {
		case v.Kind == ValueString:
			return fail("field %q expects an integer, found %s (numbers are not quoted)", f.Name, v)
		case v.Kind != ValueNumber || v.Num != math.Trunc(v.Num) || v.Num < -(1<<63) || v.Num >= 1<<63:
			return fail("field %q expects an integer, found %s", f.Name, v)
		}
		cn.num = int64(v.Num)
	case KindTime:
		ms, ok := int64(0), false
		if v.Kind == ValueString {
			ms, ok = parseTime(v.Str)
		}
		if !ok {
			return fail(`field %q expects a quoted RFC 3339 time such as "2024-05-01T13:45:00Z", found %s`, f.Name, v)
		}
		cn.num = ms
	default:
		return fail("field %q has unsupported kind %s", f.Name, f.Kind)
	}
	return cn, nil
}

// kindSupports reports whether op makes sense for a field of kind k,
// whatever a schema lists.
func kindSupports(k Kind, op Op) bool {
	switch op {
	case OpEq, OpNe, OpPr:
		return true
	case OpCo, OpSw, OpEw:
		return k == KindString || k == KindEnum
	case OpGt, OpGe, OpLt, OpLe:
		return k == KindString || k == KindInt || k == KindTime
	}
	return false
}

func quoteHint(v Value) string {
	if v.Kind == ValueNumber || v.Kind == ValueBool {
		return fmt.Sprintf(" (quote it: %s)", quote(v.String()))
	}
	return ""
}

func joinOps(ops []Op) string {
	s := make([]string, len(ops))
	for i, op := range ops {
		s[i] = string(op)
	}
	return strings.Join(s, ", ")
}

// enumValue returns the canonical spelling of s among f.Values. A field
// without Values accepts anything as typed.
func enumValue(f Field, s string) (string, bool) {
	if len(f.Values) == 0 {
		return s, true
	}
	for _, v := range f.Values {
		if strings.EqualFold(v, s) {
			return v, true
		}
	}
	return "", false
}

// parseTime parses an RFC 3339 time (fractional seconds optional, "Z" or an
// offset, "T"/"Z" in either case) to unix milliseconds.
func parseTime(s string) (int64, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

func unknownField(name string, s *Schema) string {
	names := s.Names()
	entity := ""
	if s.Entity != "" {
		entity = " for " + s.Entity
	}
	if close := closest(name, names, 3); len(close) > 0 {
		return fmt.Sprintf("unknown field %q%s; did you mean %s?", name, entity, strings.Join(close, " or "))
	}
	return fmt.Sprintf("unknown field %q%s (fields: %s)", name, entity, strings.Join(names, ", "))
}

// closest returns up to limitN candidates that look like a misspelling of s:
// a small edit distance, or one contains the other. Nearest first.
func closest(s string, candidates []string, limitN int) []string {
	type scored struct {
		name string
		d    int
	}
	ls := strings.ToLower(s)
	var hits []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := editDistance(ls, lc)
		limit := max(1, len(ls)*2/5)
		switch {
		case d <= limit:
		case len(ls) >= 3 && (strings.Contains(lc, ls) || strings.Contains(ls, lc)):
			d = limit + 1
		default:
			continue
		}
		hits = append(hits, scored{c, d})
	}
	slices.SortStableFunc(hits, func(a, b scored) int { return a.d - b.d })
	var out []string
	for i := 0; i < len(hits) && i < limitN; i++ {
		out = append(out, hits[i].name)
	}
	return out
}

// editDistance is the Levenshtein distance in bytes (inputs are short).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
