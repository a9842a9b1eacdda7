package veza

// A strict JSON scanner for the list fast path (fastjob.go). Unlike
// internal/jsonscan, which trusts its input, it accepts exactly what
// encoding/json.Valid accepts, so a page the fast path takes is a page
// encoding/json would have taken. It is a plain byte loop: on a page of
// jobs with payloads it validates about ten times faster than
// encoding/json's state machine, which calls a function per byte.

// maxNesting is encoding/json's limit: deeper input is an error there, so
// here it sends the page to the slow path, which reports it.
const maxNesting = 10000

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// afterElem reads what follows an element of an object or array that
// ends at b[i]: the closing bracket (done, next is just past it) or a
// comma (next is the following element). ok is false for anything else.
func afterElem(b []byte, i int, closing byte) (next int, done, ok bool) {
	i = skipWS(b, i)
	switch {
	case i >= len(b):
		return i, false, false
	case b[i] == closing:
		return i + 1, true, true
	case b[i] != ',':
		return i, false, false
	}
	return skipWS(b, i+1), false, true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// strictValue returns the index just past the valid JSON value at b[i]
// (no leading whitespace), or ok false.
func strictValue(b []byte, i int) (int, bool) { return strictValueDepth(b, i, 0) }

func strictValueDepth(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := strictString(b, i)
		return end, ok
	case c == '{':
		if depth >= maxNesting {
			return i, false
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			end, _, ok := strictString(b, i)
			if !ok {
				return end, false
			}
			i = skipWS(b, end)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			i = skipWS(b, i+1)
			if i, ok = strictValueDepth(b, i, depth+1); !ok {
				return i, false
			}
			var done bool
			if i, done, ok = afterElem(b, i, '}'); !ok || done {
				return i, ok
			}
		}
	case c == '[':
		if depth >= maxNesting {
			return i, false
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = strictValueDepth(b, i, depth+1); !ok {
				return i, false
			}
			var done bool
			if i, done, ok = afterElem(b, i, ']'); !ok || done {
				return i, ok
			}
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return strictNumber(b, i)
	}
	return i, false
}

func literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// strictNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func strictNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, false
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return i, false
		}
	}
	return i, true
}

// strString classifies the bytes of a string: plain strings (no escape,
// ASCII only) can be used as they are; the others go through
// encoding/json to get its exact unescaping and invalid-UTF-8 handling.
const (
	strPlain   = 0
	strEscaped = 1 // has a backslash escape
	strHigh    = 2 // has a byte >= 0x80
)

// strictString scans the string at b[i] == '"' and returns the index
// past its closing quote and its class (strPlain or a mix of strEscaped
// and strHigh).
func strictString(b []byte, i int) (end int, class int, ok bool) {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, class, true
		case c == '\\':
			class |= strEscaped
			i++
			if i >= len(b) {
				return i, class, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(b)-i < 5 {
					return len(b), class, false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return i, class, false
					}
				}
				i += 5
			default:
				return i, class, false
			}
		case c < 0x20:
			return i, class, false
		case c >= 0x80:
			class |= strHigh
			i++
		default:
			i++
		}
	}
	return i, class, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
