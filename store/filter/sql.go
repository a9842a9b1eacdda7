package filter

import "strings"

// ToSQL validates n against s and translates it to a parameterised SQLite
// WHERE fragment over the fields' Columns. Literals only ever travel as
// args; the SQL text depends on the tree shape, fields and operators alone
// (a null literal counts as part of the operator: "eq null" is "not pr").
// The fragment is fully parenthesised and never evaluates to NULL, so a
// caller may wrap it in NOT (...) or combine it with AND. A nil node yields
// ("", nil, nil).
//
// Storage assumed: strings and enums as TEXT, bools as INTEGER 1/0, integers
// as INTEGER, times as INTEGER unix milliseconds with 0 = unset; NULL is
// accepted anywhere and means unset.
func ToSQL(n Node, s *Schema) (where string, args []any, err error) {
	cn, e := resolve(n, s)
	if e != nil {
		return "", nil, e
	}
	if cn == nil {
		return "", nil, nil
	}
	var b strings.Builder
	writeSQL(&b, &args, cn)
	return b.String(), args, nil
}

func writeSQL(b *strings.Builder, args *[]any, n *cnode) {
	switch n.kind {
	case cAnd, cOr:
		op := " AND "
		if n.kind == cOr {
			op = " OR "
		}
		b.WriteString("(")
		writeSQL(b, args, n.l)
		b.WriteString(op)
		writeSQL(b, args, n.r)
		b.WriteString(")")
	case cNot:
		b.WriteString("(NOT ")
		writeSQL(b, args, n.l)
		b.WriteString(")")
	case cCmp:
		writeCompareSQL(b, args, n)
	}
}

var sqlOps = map[Op]string{OpEq: " = ", OpNe: " <> ", OpGt: " > ", OpGe: " >= ", OpLt: " < ", OpLe: " <= "}

func writeCompareSQL(b *strings.Builder, args *[]any, n *cnode) {
	f := n.f
	col := f.Column
	text := f.Kind == KindString || f.Kind == KindEnum
	zero := "0"
	if text {
		zero = "''"
	}
	w := func(parts ...string) {
		for _, p := range parts {
			b.WriteString(p)
		}
	}
	// Presence: pr, ne null (set to a non-zero value) and eq null (unset).
	if n.op == OpPr || (n.null && n.op == OpNe) {
		w("(", col, " IS NOT NULL AND ", col, " <> ", zero, ")")
		return
	}
	if n.null {
		w("(", col, " IS NULL OR ", col, " = ", zero, ")")
		return
	}
	if text {
		collate := ""
		if f.fold() {
			collate = " COLLATE NOCASE"
		}
		switch n.op {
		case OpCo, OpSw, OpEw:
			if f.fold() {
				w("(", col, " IS NOT NULL AND ", col, ` LIKE ? ESCAPE '\')`)
				*args = append(*args, likePattern(n.op, n.str))
			} else {
				w("(", col, " IS NOT NULL AND ", col, " GLOB ?)")
				*args = append(*args, globPattern(n.op, n.str))
			}
		case OpNe:
			w("(", col, " IS NULL OR ", col, " <> ?", collate, ")")
			*args = append(*args, n.str)
		default: // eq gt ge lt le
			w("(", col, " IS NOT NULL AND ", col, sqlOps[n.op], "?", collate, ")")
			*args = append(*args, n.str)
		}
		return
	}
	// Numbers: bool (1/0), int, time (ms; 0 = unset never compares).
	unsetIsZero := f.Kind == KindTime
	switch {
	case n.op == OpNe && unsetIsZero:
		w("(", col, " IS NULL OR ", col, " = 0 OR ", col, " <> ?)")
	case n.op == OpNe:
		w("(", col, " IS NULL OR ", col, " <> ?)")
	case unsetIsZero:
		w("(", col, " IS NOT NULL AND ", col, " <> 0 AND ", col, sqlOps[n.op], "?)")
	default:
		w("(", col, " IS NOT NULL AND ", col, sqlOps[n.op], "?)")
	}
	*args = append(*args, n.num)
}

// likePattern builds the LIKE pattern for co/sw/ew with %, _ and the escape
// character \ in v escaped.
func likePattern(op Op, v string) string {
	var b strings.Builder
	b.Grow(len(v) + 4)
	if op != OpSw {
		b.WriteByte('%')
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	if op != OpEw {
		b.WriteByte('%')
	}
	return b.String()
}

// globPattern builds the case-sensitive GLOB pattern for co/sw/ew; the GLOB
// metacharacters * ? [ in v are made literal by bracketing them.
func globPattern(op Op, v string) string {
	var b strings.Builder
	b.Grow(len(v) + 4)
	if op != OpSw {
		b.WriteByte('*')
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '*', '?', '[':
			b.WriteByte('[')
			b.WriteByte(c)
			b.WriteByte(']')
		default:
			b.WriteByte(c)
		}
	}
	if op != OpEw {
		b.WriteByte('*')
	}
	return b.String()
}
