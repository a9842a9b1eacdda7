// Package sanitize is the one place where untrusted text (anything a server,
// a payload or another user wrote) is made safe to print on the terminal that
// opsdeck owns.
//
// A job's error message or a JSON string value can carry escape sequences
// that set the window title (OSC 0/2), write the clipboard (OSC 52), plant a
// hyperlink (OSC 8), clear the screen (CSI 2J), move the cursor to overwrite
// other rows, end a bracketed paste early (CSI 201~), or reorder what the
// engineer reads with bidi overrides. Every widget runs such text through
// [Line] (table cells, tree rows, status bars) or [Text] (multi-line panes)
// before it reaches a renderer.
//
// What the output is guaranteed to contain:
//
//   - valid UTF-8 (each run of invalid bytes becomes one U+FFFD);
//   - no ESC-initiated sequence: CSI (ESC [ … final), OSC (ESC ] … BEL or
//     ST), DCS/SOS/PM/APC (ESC P/X/^/_ … ST) and two- or three-byte ESC
//     sequences are removed whole, their payload included; a sequence that is
//     never terminated is removed to the end of the input, because a real
//     terminal would swallow the rest as well;
//   - no C1 control (U+0080–U+009F); U+009B (CSI), U+009D (OSC), U+0090 (DCS),
//     U+0098 (SOS), U+009E (PM) and U+009F (APC) start sequences that are
//     removed the same way as their ESC forms;
//   - no C0 control and no DEL, except '\n' and '\t' from [Text];
//   - no bidi control (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069), no
//     zero-width or invisible formatting character (U+200B–U+200D, U+2060–
//     U+2064, U+206A–U+206F, U+FEFF, U+180E, U+FFF9–U+FFFB) and no tag
//     character (U+E0000–U+E007F, used to smuggle invisible ASCII).
//
// Line breaks: [Line] shows each line break ("\n", "\r\n", a lone "\r",
// U+0085 NEL, U+2028, U+2029) as "⏎" (U+23CE, one cell wide in every
// locale, unlike "↵" which is East Asian ambiguous), so a multi-line error
// message stays visibly multi-line in a one-line cell. [Text] turns each of
// them into a plain "\n". A tab becomes one space in [Line] and stays a tab in
// [Text].
//
// Both functions return their argument unchanged, without allocating, when it
// is already clean, which is the common case for table cells.
package sanitize

import (
	"strings"
	"unicode/utf8"
)

// Newline is what [Line] writes in place of a line break.
const Newline = "⏎"

const esc = 0x1b

// Line makes s safe for a single-line cell: see the package documentation.
func Line(s string) string { return clean(s, false) }

// Text makes s safe for a multi-line pane: like [Line], but '\n' and '\t' are
// kept and every other line break becomes '\n'. Callers that measure width
// must still expand tabs themselves.
func Text(s string) string { return clean(s, true) }

// clean scans for the first byte that needs work; only then does it allocate.
func clean(s string, multiline bool) string {
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plainASCII8(s[i:i+8]) {
			i += 8
			continue
		}
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c < 0x80 {
			if multiline && (c == '\n' || c == '\t') {
				i++
				continue
			}
			return rewrite(s, i, multiline)
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || dropRune(r) || isBreak(r) {
			return rewrite(s, i, multiline)
		}
		i += n
	}
	return s
}

// plainASCII8 reports whether all 8 bytes of w are printable ASCII
// (0x20–0x7E), testing them at once: cell text is mostly plain ASCII, and this
// triples the speed of the clean path.
func plainASCII8(w string) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	// High bit set in a lane: byte < 0x20 (first term), byte >= 0x7F (second,
	// where adding 1 carries 0x7F into the high bit and x itself has it for
	// bytes >= 0x80). A borrow or carry only leaves a lane that is already
	// flagged, so the answer for the word as a whole is exact.
	return ((x-0x20*lo)&^x|(x+lo)|x)&hi == 0
}

// rewrite copies s[:start] (known clean) and sanitizes the rest.
func rewrite(s string, start int, multiline bool) string {
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:start])
	brk := Newline
	if multiline {
		brk = "\n"
	}
	lastInvalid := false // collapse runs of invalid bytes into one U+FFFD
	for i := start; i < len(s); {
		c := s[i]
		if c < 0x80 {
			lastInvalid = false
			switch {
			case c >= 0x20 && c < 0x7f:
				j := i + 1 // copy the whole printable run at once
				for j < len(s) && s[j] >= 0x20 && s[j] < 0x7f {
					j++
				}
				b.WriteString(s[i:j])
				i = j
			case c == '\n':
				b.WriteString(brk)
				i++
			case c == '\r':
				b.WriteString(brk)
				i++
				if i < len(s) && s[i] == '\n' {
					i++
				}
			case c == '\t':
				if multiline {
					b.WriteByte('\t')
				} else {
					b.WriteByte(' ')
				}
				i++
			case c == esc:
				i = skipEscape(s, i+1)
			default: // other C0 controls and DEL
				i++
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			if !lastInvalid {
				b.WriteRune(utf8.RuneError)
			}
			lastInvalid = true
			i++
			continue
		}
		lastInvalid = false
		switch {
		case isBreak(r): // before the C1 case: U+0085 NEL is both
			b.WriteString(brk)
			i += n
		case r >= 0x80 && r <= 0x9f:
			i = skipC1(s, r, i+n)
		case dropRune(r):
			i += n
		default:
			b.WriteString(s[i : i+n])
			i += n
		}
	}
	return b.String()
}

// Unsafe reports whether Line would remove or replace r (a control, bidi,
// zero-width, invisible or line-break rune; utf8.RuneError is not unsafe).
// Encoders that must keep such runes visible, e.g. as \u escapes in a jq
// path, use it to agree with this package on what is unsafe.
func Unsafe(r rune) bool {
	return r < 0x20 || r == 0x7f || dropRune(r) || isBreak(r)
}

// isBreak reports the non-ASCII line and paragraph separators, which some
// terminals and most editors treat as line breaks.
func isBreak(r rune) bool { return r == 0x85 || r == 0x2028 || r == 0x2029 }

// dropRune reports non-ASCII runes that are removed outright: C1 controls,
// bidi controls, zero-width and invisible formatting characters, tags.
func dropRune(r rune) bool {
	switch {
	case r < 0x80:
		return false
	case r <= 0x9f:
		return true
	case r < 0x061c:
		return false
	case r == 0x061c, r == 0x180e:
		return true
	case r < 0x200b:
		return false
	case r <= 0x200f, // ZWSP, ZWNJ, ZWJ, LRM, RLM
		r >= 0x202a && r <= 0x202e,   // LRE, RLE, PDF, LRO, RLO
		r >= 0x2060 && r <= 0x206f,   // WJ, invisible operators, LRI…PDI, deprecated formats
		r == 0xfeff,                  // BOM / ZWNBSP
		r >= 0xfff9 && r <= 0xfffb,   // interlinear annotation
		r >= 0xe0000 && r <= 0xe007f: // tags
		return true
	}
	return false
}

// skipEscape returns the index just past the ESC sequence whose ESC was at
// i-1. A terminal cannot be steered by what we drop, only by what we keep,
// and we keep no ESC at all, so the parser only has to be faithful enough not
// to drop visible text that a terminal would show.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch c := s[i]; {
	case c == '[':
		return skipCSI(s, i+1)
	case c == ']':
		return skipString(s, i+1, true)
	case c == 'P', c == 'X', c == '^', c == '_':
		return skipString(s, i+1, false)
	case c >= 0x20 && c <= 0x2f:
		// nF: intermediates then one final byte (e.g. ESC ( B).
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
			i++
		}
		if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
			i++
		}
		return i
	case c >= 0x30 && c <= 0x7e:
		return i + 1 // two-byte sequence such as ESC 7, ESC c, ESC M
	default:
		// ESC followed by a control or non-ASCII: a terminal aborts the
		// escape and processes the next byte normally, so do we.
		return i
	}
}

// skipC1 handles an 8-bit C1 control encoded as a rune: the introducers start
// the same sequences as their ESC forms, the rest are single controls.
func skipC1(s string, r rune, i int) int {
	switch r {
	case 0x9b:
		return skipCSI(s, i)
	case 0x9d:
		return skipString(s, i, true)
	case 0x90, 0x98, 0x9e, 0x9f:
		return skipString(s, i, false)
	}
	return i
}

// skipCSI consumes parameter (0x30–0x3F) and intermediate (0x20–0x2F) bytes
// and the final byte (0x40–0x7E). Any other byte ends the sequence without
// being consumed, as in a terminal, where e.g. a second ESC starts anew.
func skipCSI(s string, i int) int {
	for i < len(s) {
		c := s[i]
		switch {
		case c >= 0x20 && c <= 0x3f:
			i++
		case c >= 0x40 && c <= 0x7e:
			return i + 1
		default:
			return i
		}
	}
	return i
}

// skipString consumes a control string (OSC, DCS, SOS, PM, APC) up to and
// including its terminator: ST as ESC \ or U+009C, and BEL for OSC. CAN and
// SUB abort it; another ESC ends it and is left to start the next sequence.
// With no terminator the rest of s is consumed.
func skipString(s string, i int, bel bool) int {
	for i < len(s) {
		c := s[i]
		switch {
		case c == 0x07 && bel:
			return i + 1
		case c == 0x18, c == 0x1a:
			return i + 1
		case c == esc:
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			return i
		case c == 0xc2 && i+1 < len(s) && s[i+1] == 0x9c: // U+009C ST
			return i + 2
		}
		i++
	}
	return i
}
