package filter

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits that keep a pasted or hostile filter from producing SQL that SQLite
// refuses (its expression depth limit is 1000) or from recursing deeply.
const (
	maxDepth = 64  // nested parentheses, including those of "not (...)"
	maxTerms = 256 // comparisons in one filter
)

// Error is a filter error at a byte offset of the source. Field names the
// attribute concerned, if any. Error() renders the 1-based column.
type Error struct {
	Pos   int    // 0-based byte offset into the source
	Field string // attribute the error is about ("" if none)
	Msg   string
}

func (e *Error) Error() string { return fmt.Sprintf("col %d: %s", e.Pos+1, e.Msg) }

type tokKind int

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tWord   // attribute, operator, and/or/not, true/false/null, or a bare word
	tString // "..."; str holds the decoded value
	tNumber // num holds the value unless err is set
)

type token struct {
	kind tokKind
	pos  int
	text string // source text
	str  string
	num  float64
	err  *Error // a malformed number, reported where a value is expected
}

type parser struct {
	src   string
	off   int // lexer offset
	tok   token
	depth int
	terms int
}

type bailout struct{ err *Error }

func (p *parser) fail(pos int, field, format string, args ...any) {
	panic(bailout{&Error{Pos: pos, Field: field, Msg: fmt.Sprintf(format, args...)}})
}

func isSpace(c byte) bool  { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isWordByte(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_' || c == '.' || c == '-'
}

// isBlank reports whether src is empty or whitespace only.
func isBlank(src string) bool {
	for i := 0; i < len(src); i++ {
		if !isSpace(src[i]) {
			return false
		}
	}
	return true
}

// Parse parses a SCIM filter. It checks syntax only (see Validate). A blank
// source means "no filter" and yields (nil, nil). Errors are *Error.
func Parse(src string) (n Node, err error) {
	if isBlank(src) {
		return nil, nil
	}
	p := &parser{src: src}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			n, err = nil, b.err
		}
	}()
	p.advance()
	n = p.parseOr("")
	switch p.tok.kind {
	case tEOF:
	case tRParen:
		p.fail(p.tok.pos, "", `unbalanced parenthesis: unexpected ")"`)
	default:
		p.fail(p.tok.pos, "", "expected and/or, found %s", describe(p.tok))
	}
	return n, nil
}

// ParseFor parses src and validates it against s. A blank source yields
// (nil, nil).
func ParseFor(src string, s *Schema) (Node, error) {
	n, err := Parse(src)
	if err != nil || n == nil {
		return nil, err
	}
	if err := Validate(n, s); err != nil {
		return nil, err
	}
	return n, nil
}

func (p *parser) advance() { p.tok = p.lex() }

func (p *parser) isKeyword(kw string) bool {
	return p.tok.kind == tWord && strings.EqualFold(p.tok.text, kw)
}

// parseOr: and-expr { "or" and-expr }. after names what precedes the first
// operand, for messages ("" at the start of the filter).
func (p *parser) parseOr(after string) Node {
	left := p.parseAnd(after)
	for p.isKeyword("or") {
		kw := p.tok.text
		p.advance()
		right := p.parseAnd(kw)
		left = &Logical{Op: "or", Left: left, Right: right}
	}
	return left
}

// parseAnd: unary { "and" unary }.
func (p *parser) parseAnd(after string) Node {
	left := p.parseUnary(after)
	for p.isKeyword("and") {
		kw := p.tok.text
		p.advance()
		right := p.parseUnary(kw)
		left = &Logical{Op: "and", Left: left, Right: right}
	}
	return left
}

func afterText(after string) string {
	if after == "" {
		return ""
	}
	return " after " + strconv.Quote(after)
}

// parseUnary: "(" or-expr ")" | "not" "(" or-expr ")" | comparison.
func (p *parser) parseUnary(after string) Node {
	t := p.tok
	switch t.kind {
	case tLParen:
		p.advance()
		return p.parseGroup(t)
	case tWord:
		switch {
		case strings.EqualFold(t.text, "not"):
			p.advance()
			open := p.tok
			switch open.kind {
			case tLParen:
			case tEOF:
				p.fail(open.pos, "", `unexpected end of filter: expected "(" after %q`, t.text)
			default:
				p.fail(open.pos, "", `expected "(" after %q, found %s (write: not (expression))`, t.text, describe(open))
			}
			p.advance()
			return &Not{X: p.parseGroup(open), Pos: t.pos}
		case strings.EqualFold(t.text, "and"), strings.EqualFold(t.text, "or"):
			p.fail(t.pos, "", "expected a filter%s, found %s", afterText(after), describe(t))
		}
		return p.parseComparison()
	case tEOF:
		p.fail(t.pos, "", "unexpected end of filter: expected a filter%s", afterText(after))
	case tRParen:
		if after == "(" {
			p.fail(t.pos, "", "empty parentheses: expected a filter inside")
		}
		p.fail(t.pos, "", "expected a filter%s, found %s", afterText(after), describe(t))
	default:
		p.fail(t.pos, "", "expected an attribute name%s, found %s (attribute names start with a letter)", afterText(after), describe(t))
	}
	panic("unreachable")
}

// parseGroup parses the inside of a parenthesis whose "(" (open) has just
// been consumed, and the closing ")".
func (p *parser) parseGroup(open token) Node {
	p.depth++
	if p.depth > maxDepth {
		p.fail(open.pos, "", "filter nested too deeply (more than %d levels of parentheses)", maxDepth)
	}
	x := p.parseOr("(")
	switch p.tok.kind {
	case tRParen:
	case tEOF:
		p.fail(open.pos, "", `unbalanced parenthesis: this "(" is never closed`)
	default:
		p.fail(p.tok.pos, "", `expected and/or or ")", found %s`, describe(p.tok))
	}
	p.depth--
	p.advance()
	return x
}

func isValueToken(t token) bool {
	switch t.kind {
	case tString, tNumber:
		return true
	case tWord:
		_, ok := keywordValue(t.text)
		return ok
	}
	return false
}

func keywordValue(w string) (Value, bool) {
	switch {
	case strings.EqualFold(w, "true"):
		return Value{Kind: ValueBool, Bool: true}, true
	case strings.EqualFold(w, "false"):
		return Value{Kind: ValueBool}, true
	case strings.EqualFold(w, "null"):
		return Value{Kind: ValueNull}, true
	}
	return Value{}, false
}

// parseComparison: attr op value | attr "pr". The current token is a word.
func (p *parser) parseComparison() Node {
	at := p.tok
	attr := at.text
	p.terms++
	if p.terms > maxTerms {
		p.fail(at.pos, attr, "filter too long (more than %d comparisons)", maxTerms)
	}
	p.advance()
	ot := p.tok
	var op Op
	switch ot.kind {
	case tWord:
		var ok bool
		if op, ok = lookupOp(ot.text); !ok {
			p.fail(ot.pos, attr, "unknown operator %q (expected one of %s)", ot.text, opList)
		}
	case tEOF:
		p.fail(ot.pos, attr, "unexpected end of filter: expected an operator after %q (one of %s)", attr, opList)
	default:
		p.fail(ot.pos, attr, "expected an operator after %q, found %s (one of %s)", attr, describe(ot), opList)
	}
	p.advance()
	c := &Compare{Attr: attr, Op: op, Pos: at.pos}
	if op == OpPr {
		if isValueToken(p.tok) {
			p.fail(p.tok.pos, attr, `operator "pr" takes no value, found %s`, describe(p.tok))
		}
		return c
	}
	vt := p.tok
	switch vt.kind {
	case tString:
		c.Value = Value{Kind: ValueString, Str: vt.str}
	case tNumber:
		if vt.err != nil {
			vt.err.Field = attr
			panic(bailout{vt.err})
		}
		c.Value = Value{Kind: ValueNumber, Num: vt.num}
	case tWord:
		v, ok := keywordValue(vt.text)
		if !ok {
			hint := ""
			if !strings.EqualFold(vt.text, "and") && !strings.EqualFold(vt.text, "or") && !strings.EqualFold(vt.text, "not") {
				hint = fmt.Sprintf(" (strings must be double-quoted: %s)", quote(vt.text))
			}
			p.fail(vt.pos, attr, "expected a value after %q, found %s%s", ot.text, describe(vt), hint)
		}
		c.Value = v
	case tEOF:
		p.fail(vt.pos, attr, "unexpected end of filter: expected a value after %q", ot.text)
	default:
		p.fail(vt.pos, attr, "expected a value after %q, found %s", ot.text, describe(vt))
	}
	p.advance()
	return c
}

// describe renders a token for "found ..." messages.
func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tLParen:
		return `"("`
	case tRParen:
		return `")"`
	case tWord:
		return strconv.Quote(t.text)
	}
	s := t.text
	if utf8.RuneCountInString(s) > 24 {
		r := []rune(s)
		s = string(r[:20]) + "…"
	}
	return s
}

// lex reads the next token at p.off.
func (p *parser) lex() token {
	src := p.src
	i := p.off
	for i < len(src) && isSpace(src[i]) {
		i++
	}
	if i >= len(src) {
		p.off = i
		return token{kind: tEOF, pos: i}
	}
	c := src[i]
	switch {
	case c == '(':
		p.off = i + 1
		return token{kind: tLParen, pos: i, text: "("}
	case c == ')':
		p.off = i + 1
		return token{kind: tRParen, pos: i, text: ")"}
	case c == '"':
		return p.lexString(i)
	case isLetter(c):
		j := i + 1
		for j < len(src) && isWordByte(src[j]) {
			j++
		}
		p.off = j
		return token{kind: tWord, pos: i, text: src[i:j]}
	case isDigit(c) || (c == '-' && i+1 < len(src) && isDigit(src[i+1])):
		return p.lexNumber(i)
	}
	r, size := utf8.DecodeRuneInString(src[i:])
	switch {
	case r == utf8.RuneError && size == 1:
		p.fail(i, "", "invalid UTF-8 byte 0x%02x", c)
	case c == '\'':
		p.fail(i, "", `unexpected character "'": strings must be double-quoted`)
	case c == '[' || c == ']':
		p.fail(i, "", "unexpected character %q: complex attribute filters are not supported", r)
	}
	p.fail(i, "", "unexpected character %q", r)
	panic("unreachable")
}

// lexNumber reads -?digits[.digits][(e|E)[+|-]digits]. A run of letters or
// digits glued to a number makes it invalid ("1abc"), reported lazily.
func (p *parser) lexNumber(i int) token {
	src := p.src
	j := i
	for j < len(src) && (isWordByte(src[j]) || src[j] == '+') {
		j++
	}
	p.off = j
	text := src[i:j]
	t := token{kind: tNumber, pos: i, text: text}
	if !validNumber(text) {
		t.err = &Error{Pos: i, Msg: fmt.Sprintf("invalid number %q", text)}
		return t
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		t.err = &Error{Pos: i, Msg: fmt.Sprintf("number %s is out of range", text)}
		return t
	}
	t.num = f
	return t
}

func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return i > start
	}
	if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

// lexString reads a double-quoted string with JSON escapes starting at i.
func (p *parser) lexString(i int) token {
	src := p.src
	var b []byte // nil until the first escape
	j := i + 1
	for {
		if j >= len(src) {
			p.fail(i, "", `unterminated string: missing closing '"'`)
		}
		c := src[j]
		switch {
		case c == '"':
			p.off = j + 1
			t := token{kind: tString, pos: i, text: src[i : j+1]}
			if b == nil {
				t.str = src[i+1 : j]
			} else {
				t.str = string(b)
			}
			return t
		case c == '\\':
			if b == nil {
				b = append(make([]byte, 0, j-i+8), src[i+1:j]...)
			}
			if j+1 >= len(src) {
				p.fail(i, "", `unterminated string: missing closing '"'`)
			}
			e := src[j+1]
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, n := p.lexUnicode(j)
				b = utf8.AppendRune(b, r)
				j += n
				continue
			default:
				r, _ := utf8.DecodeRuneInString(src[j+1:])
				p.fail(j, "", `invalid escape "\%c" in string (valid: \" \\ \/ \b \f \n \r \t \uXXXX)`, r)
			}
			j += 2
		case c < 0x20:
			p.fail(j, "", "control character 0x%02x in string: use an escape such as \\n or \\t", c)
		case c < utf8.RuneSelf:
			if b != nil {
				b = append(b, c)
			}
			j++
		default:
			r, size := utf8.DecodeRuneInString(src[j:])
			if r == utf8.RuneError && size == 1 {
				p.fail(j, "", "invalid UTF-8 byte 0x%02x in string", c)
			}
			if b != nil {
				b = append(b, src[j:j+size]...)
			}
			j += size
		}
	}
}

// lexUnicode decodes \uXXXX (and a following low surrogate) at src[j]
// (the backslash); it returns the rune and the number of bytes consumed.
func (p *parser) lexUnicode(j int) (rune, int) {
	r, ok := hex4(p.src, j+2)
	if !ok {
		p.fail(j, "", `invalid \u escape: expected 4 hex digits`)
	}
	switch {
	case r == 0:
		p.fail(j, "", `the NUL character (\u0000) is not allowed in a string`)
	case r >= 0xDC00 && r <= 0xDFFF:
		p.fail(j, "", `invalid \u escape: unpaired surrogate \u%04x`, r)
	case r >= 0xD800 && r <= 0xDBFF:
		k := j + 6
		if k+1 < len(p.src) && p.src[k] == '\\' && p.src[k+1] == 'u' {
			if lo, ok := hex4(p.src, k+2); ok && lo >= 0xDC00 && lo <= 0xDFFF {
				return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), 12
			}
		}
		p.fail(j, "", `invalid \u escape: unpaired surrogate \u%04x`, r)
	}
	return r, 6
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		var d byte
		switch {
		case isDigit(c):
			d = c - '0'
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			d = (c | 0x20) - 'a' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}
