package jsontree

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

type kind uint8

const (
	kindObject kind = iota
	kindArray
	kindString
	kindNumber
	kindBool
	kindNull
	kindInvalid // a document that failed to parse, shown as its raw text
)

// Key kinds, stored in node.ks for nodes that have no key span.
const (
	keyRoot  = -2 // a document root: its key is the document title
	keyIndex = -1 // an array element: node.ke holds the index
)

// node is one line of the tree: a document root, an object member or an
// array element. Nodes are in document order, so a node's descendants are
// exactly the nodes after it up to end: folding is a skip, rendering a window
// is a slice, and nothing recurses.
type node struct {
	parent    int32 // -1 for document roots
	end       int32 // index of the last descendant; itself for leaves
	depth     int32
	doc       int32
	vs, ve    int32 // value span in the document bytes; containers include brackets
	ks, ke    int32 // key span including quotes, or keyRoot, or keyIndex with ke = index
	n         int32 // number of children
	kind      kind
	vesc      bool // string value has backslash escapes
	kesc      bool // key has backslash escapes
	collapsed bool
}

func (n *node) container() bool { return n.kind == kindObject || n.kind == kindArray }

// foldable containers have children to hide.
func (n *node) foldable() bool { return n.container() && n.n > 0 }

// parseError locates a syntax error for people: line and column are 1-based,
// the column counted in bytes.
type parseError struct {
	line, col int
	msg       string
}

func (e *parseError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.line, e.col, e.msg)
}

// parser is an iterative JSON parser with an explicit stack, so that nesting
// depth is bounded by memory rather than by the goroutine stack, and numbers
// and strings are kept as spans of the original bytes (verbatim, no float
// rounding, no copies).
type parser struct {
	data  []byte
	nodes []node
	doc   int32
}

// parseDoc appends the nodes of data to nodes. On a syntax error it appends
// nothing and returns the error.
func parseDoc(nodes []node, data []byte, doc int32) ([]node, error) {
	start := len(nodes)
	if len(data) > math.MaxInt32 {
		return nodes, &parseError{1, 1, "document larger than 2 GiB"}
	}
	// Size the node list once: every value but the first follows a ',' or
	// opens a container, so this over-counts only by the punctuation inside
	// strings, and saves re-copying a growing slice of ~50k nodes per MB.
	est := bytes.Count(data, []byte{','}) + bytes.Count(data, []byte{'['}) + bytes.Count(data, []byte{'{'}) + 1
	nodes = slices.Grow(nodes, min(est, len(data)/2+1))
	p := parser{data: data, nodes: nodes, doc: doc}
	if err := p.run(); err != nil {
		return p.nodes[:start], err
	}
	return p.nodes, nil
}

func (p *parser) fail(i int, format string, args ...any) error {
	line, col := 1, 1
	for _, c := range p.data[:min(i, len(p.data))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &parseError{line, col, fmt.Sprintf(format, args...)}
}

func (p *parser) skipWS(i int) int {
	for i < len(p.data) {
		switch p.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (p *parser) unexpected(i int, want string) error {
	if i >= len(p.data) {
		return p.fail(i, "unexpected end of input, expected %s", want)
	}
	c := p.data[i]
	if c < 0x20 || c >= 0x7f {
		return p.fail(i, "unexpected byte 0x%02x, expected %s", c, want)
	}
	return p.fail(i, "unexpected %q, expected %s", c, want)
}

func (p *parser) run() error {
	type frame struct {
		idx int32
		obj bool
	}
	var stack []frame
	data := p.data
	i := p.skipWS(0)
	if i == len(data) {
		return p.fail(i, "empty document")
	}
	ks, ke, kesc := int32(keyRoot), int32(0), false

	// addNode appends a child of the innermost open container (or a root).
	addNode := func(k kind, vs int) int32 {
		parent := int32(-1)
		if len(stack) > 0 {
			parent = stack[len(stack)-1].idx
			p.nodes[parent].n++
		}
		idx := int32(len(p.nodes))
		p.nodes = append(p.nodes, node{
			parent: parent, end: idx, depth: int32(len(stack)), doc: p.doc,
			vs: int32(vs), ks: ks, ke: ke, kesc: kesc, kind: k,
		})
		return idx
	}
	// key reads `"name" :` of the next object member into ks, ke.
	key := func() error {
		i = p.skipWS(i)
		if i >= len(data) || data[i] != '"' {
			return p.unexpected(i, "a string key")
		}
		end, esc, err := p.scanString(i)
		if err != nil {
			return err
		}
		ks, ke, kesc = int32(i), int32(end), esc
		i = p.skipWS(end)
		if i >= len(data) || data[i] != ':' {
			return p.unexpected(i, "':'")
		}
		i++
		return nil
	}
	// close ends the innermost container at data[i].
	closeTop := func() {
		top := stack[len(stack)-1].idx
		p.nodes[top].ve = int32(i + 1)
		p.nodes[top].end = int32(len(p.nodes) - 1)
		stack = stack[:len(stack)-1]
		i++
	}

	for {
		// A value.
		i = p.skipWS(i)
		if i >= len(data) {
			return p.unexpected(i, "a value")
		}
		switch c := data[i]; {
		case c == '{' || c == '[':
			k := kindArray
			if c == '{' {
				k = kindObject
			}
			idx := addNode(k, i)
			stack = append(stack, frame{idx, c == '{'})
			i = p.skipWS(i + 1)
			if i < len(data) && (data[i] == '}' && c == '{' || data[i] == ']' && c == '[') {
				closeTop()
				break
			}
			if c == '{' {
				if err := key(); err != nil {
					return err
				}
			} else {
				ks, ke, kesc = keyIndex, 0, false
			}
			continue // the first member's value
		case c == '"':
			end, esc, err := p.scanString(i)
			if err != nil {
				return err
			}
			idx := addNode(kindString, i)
			p.nodes[idx].ve, p.nodes[idx].vesc = int32(end), esc
			i = end
		case c == 't' || c == 'f' || c == 'n':
			lit, k := "null", kindNull
			if c == 't' {
				lit, k = "true", kindBool
			} else if c == 'f' {
				lit, k = "false", kindBool
			}
			if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
				return p.unexpected(i, "a value")
			}
			idx := addNode(k, i)
			i += len(lit)
			p.nodes[idx].ve = int32(i)
		default:
			end, err := p.scanNumber(i)
			if err != nil {
				return err
			}
			idx := addNode(kindNumber, i)
			p.nodes[idx].ve = int32(end)
			i = end
		}

		// After a value: a separator, closers, or the end of the document.
		for {
			if len(stack) == 0 {
				if i = p.skipWS(i); i != len(data) {
					return p.fail(i, "unexpected data after the document")
				}
				return nil
			}
			i = p.skipWS(i)
			top := stack[len(stack)-1]
			if i < len(data) && data[i] == ',' {
				i++
				if top.obj {
					if err := key(); err != nil {
						return err
					}
				} else {
					ks, ke, kesc = keyIndex, p.nodes[top.idx].n, false
				}
				break
			}
			if i < len(data) && (top.obj && data[i] == '}' || !top.obj && data[i] == ']') {
				closeTop()
				continue
			}
			if top.obj {
				return p.unexpected(i, "',' or '}'")
			}
			return p.unexpected(i, "',' or ']'")
		}
	}
}

// scanString checks the string starting at the quote at i and returns the
// index after its closing quote and whether it has escapes.
func (p *parser) scanString(i int) (end int, esc bool, err error) {
	data := p.data
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return j + 1, esc, nil
		case c == '\\':
			esc = true
			j++
			if j >= len(data) {
				return 0, false, p.fail(j, "unterminated string")
			}
			switch data[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(data) || !isHex4(data[j+1:j+5]) {
					return 0, false, p.fail(j, "invalid \\u escape")
				}
				j += 4
			default:
				return 0, false, p.fail(j, "invalid escape \\%c", data[j])
			}
		case c < 0x20:
			return 0, false, p.fail(j, "control character 0x%02x in string", c)
		}
	}
	return 0, false, p.fail(len(data), "unterminated string")
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// scanNumber checks -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? at i.
func (p *parser) scanNumber(i int) (int, error) {
	data := p.data
	j := i
	digits := func() int {
		k := j
		for j < len(data) && data[j] >= '0' && data[j] <= '9' {
			j++
		}
		return j - k
	}
	if j < len(data) && data[j] == '-' {
		j++
	}
	switch {
	case j < len(data) && data[j] == '0':
		j++
	case digits() == 0:
		return 0, p.unexpected(j, "a value")
	}
	if j < len(data) && data[j] == '.' {
		j++
		if digits() == 0 {
			return 0, p.unexpected(j, "a digit")
		}
	}
	if j < len(data) && (data[j] == 'e' || data[j] == 'E') {
		j++
		if j < len(data) && (data[j] == '+' || data[j] == '-') {
			j++
		}
		if digits() == 0 {
			return 0, p.unexpected(j, "a digit")
		}
	}
	return j, nil
}

// unquote decodes the JSON string body raw (without quotes), which the
// parser has validated. It stops once dst has grown by limit bytes (limit <
// 0: no limit) and reports whether it stopped early. Lone surrogates become
// U+FFFD, as in encoding/json.
func unquote(dst, raw []byte, limit int) ([]byte, bool) {
	start := len(dst)
	for i := 0; i < len(raw); {
		if limit >= 0 && len(dst)-start >= limit {
			return dst, true
		}
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			if limit >= 0 && len(dst)-start+(j-i) > limit {
				j = i + limit - (len(dst) - start)
				for j > i && !utf8.RuneStart(raw[j]) {
					j-- // do not split a rune
				}
				if j == i {
					j = i + 1
				}
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(raw[i+1:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					r2 = hex4(raw[i+3:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, raw[i])
		}
		i++
	}
	return dst, false
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// compact appends raw (validated JSON) without insignificant whitespace. It
// stops after limit bytes (limit < 0: no limit) and reports whether it did.
// Unlike json.Compact it has no nesting limit.
func compact(dst, raw []byte, limit int) ([]byte, bool) {
	start := len(dst)
	inStr := false
	for i := 0; i < len(raw); i++ {
		if limit >= 0 && len(dst)-start >= limit {
			return dst, true
		}
		c := raw[i]
		if inStr {
			dst = append(dst, c)
			switch c {
			case '\\':
				i++
				if i < len(raw) {
					dst = append(dst, raw[i])
				}
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inStr = true
		}
		dst = append(dst, c)
	}
	return dst, false
}
