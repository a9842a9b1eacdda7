package filter

import (
	"math"
	"reflect"
	"strings"
	"time"
)

type getter = func(field string) (any, bool)

// Predicate validates n against s and compiles it to a Go evaluator with the
// semantics of ToSQL (see the package comment); the API emulator filters
// with it. get returns the value of a field by its schema Name, or false if
// the record has no such value. Accepted values:
//
//	strings/enums: string, *string, []byte, []string (joined by newlines), named string types
//	ints/bools:    any integer or float type, bool, or pointers to them
//	times:         time.Time (zero = unset), *time.Time (nil = unset), unix ms as an integer,
//	               or an RFC 3339 string
//
// A nil value or a value of another type counts as unset. A nil node yields
// a predicate that is always true. The returned function is safe for
// concurrent use.
func Predicate(n Node, s *Schema) (func(get func(field string) (any, bool)) bool, error) {
	cn, e := resolve(n, s)
	if e != nil {
		return nil, e
	}
	if cn == nil {
		return func(getter) bool { return true }, nil
	}
	return compile(cn), nil
}

type pred = func(getter) bool

func compile(n *cnode) pred {
	switch n.kind {
	case cAnd:
		l, r := compile(n.l), compile(n.r)
		return func(g getter) bool { return l(g) && r(g) }
	case cOr:
		l, r := compile(n.l), compile(n.r)
		return func(g getter) bool { return l(g) || r(g) }
	case cNot:
		x := compile(n.l)
		return func(g getter) bool { return !x(g) }
	}
	if n.f.Kind == KindString || n.f.Kind == KindEnum {
		return compileText(n)
	}
	return compileNumber(n)
}

func not(p pred) pred { return func(g getter) bool { return !p(g) } }

func compileText(n *cnode) pred {
	name := n.f.Name
	get := func(g getter) (string, bool) {
		v, ok := g(name)
		if !ok {
			return "", false
		}
		return asString(v)
	}
	present := func(g getter) bool {
		s, ok := get(g)
		return ok && s != ""
	}
	switch {
	case n.op == OpPr || (n.null && n.op == OpNe):
		return present
	case n.null:
		return not(present)
	}
	fold := n.f.fold()
	norm := func(s string) string { return s }
	if fold {
		norm = asciiLower
	}
	lit := norm(n.str)
	var test func(s string) bool
	switch n.op {
	case OpEq, OpNe:
		if fold {
			test = func(s string) bool { return asciiEqualFold(s, lit) }
		} else {
			test = func(s string) bool { return s == lit }
		}
	case OpCo:
		test = func(s string) bool { return strings.Contains(norm(s), lit) }
	case OpSw:
		test = func(s string) bool { return strings.HasPrefix(norm(s), lit) }
	case OpEw:
		test = func(s string) bool { return strings.HasSuffix(norm(s), lit) }
	default:
		want := order(n.op)
		test = func(s string) bool { return want(strings.Compare(norm(s), lit)) }
	}
	match := func(g getter) bool {
		s, ok := get(g)
		return ok && test(s)
	}
	if n.op == OpNe {
		return not(match)
	}
	return match
}

// order returns the test an ordering operator applies to a -1/0/1 comparison.
func order(op Op) func(c int) bool {
	switch op {
	case OpGt:
		return func(c int) bool { return c > 0 }
	case OpGe:
		return func(c int) bool { return c >= 0 }
	case OpLt:
		return func(c int) bool { return c < 0 }
	case OpLe:
		return func(c int) bool { return c <= 0 }
	}
	return func(c int) bool { return c == 0 }
}

func compileNumber(n *cnode) pred {
	name := n.f.Name
	isTime := n.f.Kind == KindTime
	get := func(g getter) (number, bool) {
		v, ok := g(name)
		if !ok {
			return number{}, false
		}
		if isTime {
			ms, set := asMillis(v)
			return number{i: ms}, set
		}
		return asNumber(v)
	}
	present := func(g getter) bool {
		x, ok := get(g)
		return ok && x.cmp(0) != 0
	}
	switch {
	case n.op == OpPr || (n.null && n.op == OpNe):
		return present
	case n.null:
		return not(present)
	}
	lit := n.num
	want := order(n.op)
	if n.op == OpNe {
		want = order(OpEq)
	}
	match := func(g getter) bool {
		x, ok := get(g)
		return ok && want(x.cmp(lit))
	}
	if n.op == OpNe {
		return not(match)
	}
	return match
}

// number is an integer, or a float when isF.
type number struct {
	i   int64
	f   float64
	isF bool
}

func (x number) cmp(lit int64) int {
	if !x.isF {
		switch {
		case x.i < lit:
			return -1
		case x.i > lit:
			return 1
		}
		return 0
	}
	if x.f == math.Trunc(x.f) && x.f >= -(1<<63) && x.f < 1<<63 {
		return number{i: int64(x.f)}.cmp(lit)
	}
	switch l := float64(lit); {
	case x.f < l:
		return -1
	case x.f > l:
		return 1
	}
	return 0
}

func asString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case *string:
		if v == nil {
			return "", false
		}
		return *v, true
	case []byte:
		return string(v), v != nil
	case []string:
		return strings.Join(v, "\n"), true
	case nil:
		return "", false
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "", false
		}
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.String {
		return rv.String(), true
	}
	return "", false
}

func asNumber(v any) (number, bool) {
	switch v := v.(type) {
	case int:
		return number{i: int64(v)}, true
	case int64:
		return number{i: v}, true
	case int32:
		return number{i: int64(v)}, true
	case float64:
		return floatNumber(v)
	case bool:
		if v {
			return number{i: 1}, true
		}
		return number{}, true
	case nil:
		return number{}, false
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return number{}, false
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return number{i: rv.Int()}, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return number{f: float64(u), isF: true}, true
		}
		return number{i: int64(u)}, true
	case reflect.Float32, reflect.Float64:
		return floatNumber(rv.Float())
	case reflect.Bool:
		if rv.Bool() {
			return number{i: 1}, true
		}
		return number{}, true
	}
	return number{}, false
}

func floatNumber(f float64) (number, bool) {
	if math.IsNaN(f) {
		return number{}, false // SQLite stores NaN as NULL
	}
	return number{f: f, isF: true}, true
}

// asMillis converts a time value to unix ms; set is false for unset times
// (nil, zero time.Time, 0 ms, "").
func asMillis(v any) (ms int64, set bool) {
	switch t := v.(type) {
	case time.Time:
		if t.IsZero() {
			return 0, false
		}
		ms = t.UnixMilli()
		return ms, ms != 0
	case *time.Time:
		if t == nil {
			return 0, false
		}
		return asMillis(*t)
	case string:
		if ms, ok := parseTime(t); ok {
			return ms, ms != 0
		}
		return 0, false
	}
	x, ok := asNumber(v)
	if !ok {
		return 0, false
	}
	if x.isF {
		if x.f != math.Trunc(x.f) || x.f < -(1<<63) || x.f >= 1<<63 {
			return 0, false
		}
		x.i = int64(x.f)
	}
	return x.i, x.i != 0
}

// asciiLower lower-cases ASCII letters only, like SQLite's NOCASE and LIKE.
func asciiLower(s string) string {
	i := 0
	for i < len(s) && !(s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// asciiEqualFold is strings.EqualFold for ASCII letters only; lower is
// already lower-cased.
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
