package filter

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Op is a SCIM comparison operator, always lower case.
type Op string

// The SCIM attribute operators of RFC 7644 §3.4.2.2.
const (
	OpEq Op = "eq" // equal
	OpNe Op = "ne" // not equal
	OpCo Op = "co" // contains
	OpSw Op = "sw" // starts with
	OpEw Op = "ew" // ends with
	OpGt Op = "gt" // greater than
	OpGe Op = "ge" // greater than or equal
	OpLt Op = "lt" // less than
	OpLe Op = "le" // less than or equal
	OpPr Op = "pr" // present (has a non-zero value); takes no value
)

// allOps is every operator in the order used by messages and help.
var allOps = []Op{OpEq, OpNe, OpCo, OpSw, OpEw, OpGt, OpGe, OpLt, OpLe, OpPr}

// opList is allOps joined by spaces, for messages.
const opList = "eq ne co sw ew gt ge lt le pr"

// lookupOp returns the operator spelled w in any letter case.
func lookupOp(w string) (Op, bool) {
	if len(w) != 2 {
		return "", false
	}
	for _, op := range allOps {
		if strings.EqualFold(w, string(op)) {
			return op, true
		}
	}
	return "", false
}

// ValueKind says which kind of literal a Value holds.
type ValueKind int

const (
	ValueNone   ValueKind = iota // no value: the operand of "pr"
	ValueString                  // "double-quoted"
	ValueNumber                  // 42, -1.5, 2e3
	ValueBool                    // true, false
	ValueNull                    // null
)

func (k ValueKind) String() string {
	switch k {
	case ValueNone:
		return "none"
	case ValueString:
		return "string"
	case ValueNumber:
		return "number"
	case ValueBool:
		return "bool"
	case ValueNull:
		return "null"
	}
	return "ValueKind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a comparison literal. Only the member selected by Kind is used.
type Value struct {
	Kind ValueKind
	Str  string
	Num  float64
	Bool bool
}

// String renders the literal in filter syntax ("" for ValueNone).
func (v Value) String() string {
	switch v.Kind {
	case ValueString:
		return quote(v.Str)
	case ValueNumber:
		return formatNumber(v.Num)
	case ValueBool:
		if v.Bool {
			return "true"
		}
		return "false"
	case ValueNull:
		return "null"
	}
	return ""
}

// Node is a parsed filter: *Compare, *Logical or *Not. String renders a
// canonical filter that parses back to the same tree (positions aside).
type Node interface{ String() string }

// Compare is "Attr Op Value", or "Attr pr" with a ValueNone value. Attr is
// kept as typed; Pos is the byte offset of Attr in the source.
type Compare struct {
	Attr  string
	Op    Op
	Value Value
	Pos   int
}

// Logical is "Left and Right" or "Left or Right"; Op is "and" or "or".
type Logical struct {
	Op          string
	Left, Right Node
}

// Not is "not (X)"; Pos is the byte offset of the "not" keyword.
type Not struct {
	X   Node
	Pos int
}

func (c *Compare) String() string {
	if c == nil {
		return ""
	}
	if c.Op == OpPr || c.Value.Kind == ValueNone {
		return c.Attr + " " + string(c.Op)
	}
	return c.Attr + " " + string(c.Op) + " " + c.Value.String()
}

func (l *Logical) String() string {
	if l == nil {
		return ""
	}
	var b strings.Builder
	writeNode(&b, l)
	return b.String()
}

func (n *Not) String() string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	writeNode(&b, n)
	return b.String()
}

// writeNode renders n with the fewest parentheses that keep its shape:
// "and" binds tighter than "or" and both associate to the left.
func writeNode(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case *Logical:
		if n == nil {
			return
		}
		op := strings.ToLower(n.Op)
		l, lok := n.Left.(*Logical)
		writeChild(b, n.Left, lok && l != nil && op == "and" && strings.EqualFold(l.Op, "or"))
		b.WriteString(" ")
		b.WriteString(op)
		b.WriteString(" ")
		r, rok := n.Right.(*Logical)
		writeChild(b, n.Right, rok && r != nil && !(op == "or" && strings.EqualFold(r.Op, "and")))
	case *Not:
		if n == nil {
			return
		}
		b.WriteString("not (")
		writeNode(b, n.X)
		b.WriteString(")")
	case nil:
	default:
		b.WriteString(n.String())
	}
}

func writeChild(b *strings.Builder, n Node, parens bool) {
	if parens {
		b.WriteString("(")
	}
	writeNode(b, n)
	if parens {
		b.WriteString(")")
	}
}

// quote renders s as a double-quoted filter string with JSON-style escapes.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		case c < utf8.RuneSelf:
			b.WriteByte(c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString(`\ufffd`) // not produced by Parse
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		i++
	}
	b.WriteByte('"')
	return b.String()
}

const hexDigits = "0123456789abcdef"

// formatNumber renders f so that the lexer reads back the same float64.
// Integral values are written without an exponent where that is short.
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
