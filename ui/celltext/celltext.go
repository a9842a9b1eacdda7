// Package celltext is the terminal-cell arithmetic the ui widgets share:
// display width as lipgloss measures it, cutting to a width, and styles
// pre-rendered into escape-code pairs so hot render paths skip lipgloss.
package celltext

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Widths are measured the way lipgloss and ansi.StringWidth measure them
// (grapheme clusters), not rune by rune with go-runewidth: the two disagree on
// emoji with variation selectors ("☺️", "1️⃣"), and the shell around this
// widgets lay out with lipgloss, so agreeing with it is what keeps every line
// inside the terminal.

const Ellipsis = "…"

// spaces is written in slices so padding never allocates.
const spaces = "                                                                "

func WriteSpaces(b *strings.Builder, n int) {
	for n > len(spaces) {
		b.WriteString(spaces)
		n -= len(spaces)
	}
	if n > 0 {
		b.WriteString(spaces[:n])
	}
}

// IsASCII reports printable ASCII, whose width is its length; sanitized text
// has no controls, so any byte < 0x80 is printable.
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Width is the display width of sanitized text.
func Width(s string) int {
	if IsASCII(s) {
		return len(s)
	}
	return ansi.StringWidth(s)
}

// StyledWidth is the display width of a rendered line: text with SGR and
// other escape sequences (lipgloss output), measured as ansi.StringWidth
// does. Most frames are ASCII but for their escapes; those are measured in
// one pass over the bytes instead of by grapheme cluster (profiled: the
// frame-fitting width checks were 60% of a keypress's frame). Anything
// with a byte >= 0x80 goes to ansi.StringWidth.
func StyledWidth(s string) int {
	w := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !narrowRune(r) {
				return ansi.StringWidth(s)
			}
			// A mark, joiner or selector after it would change its cluster.
			if i+size < len(s) && s[i+size] >= 0x80 {
				if next, _ := utf8.DecodeRuneInString(s[i+size:]); !narrowRune(next) {
					return ansi.StringWidth(s)
				}
			}
			w++
			i += size - 1
		case c == 0x1b:
			end, ok := skipEscape(s, i)
			if !ok {
				return ansi.StringWidth(s)
			}
			i = end - 1
		case c >= 0x20 && c < 0x7f:
			w++
		}
	}
	return w
}

// narrowRunes are the ranges of single-cell runes the frames draw
// (borders, blocks, spinners, arrows, ellipsis, Latin letters): each one
// alone is one cell for ansi.StringWidth, checked rune by rune by
// TestStyledWidthAgrees.
var narrowRunes = [][2]rune{
	{0x00a1, 0x00ac}, {0x00ae, 0x02ff}, // Latin-1 (not the soft hyphen), Latin Extended, IPA
	{0x0370, 0x0482}, {0x048a, 0x052f}, // Greek, Cyrillic
	{0x1e00, 0x1fff}, // Latin and Greek extended
	{0x2010, 0x2027}, // dashes, quotes, bullets, ellipsis
	{0x2030, 0x205e}, // per mille, primes, more punctuation
	{0x2070, 0x20cf}, // super- and subscripts, currency
	{0x20f1, 0x2319}, // letterlike, number forms, arrows, math
	{0x232b, 0x23e8}, // technical
	{0x23f4, 0x25fc}, // box drawing, blocks, geometric shapes
	{0x270c, 0x2727}, // check marks, crosses
	{0x2758, 0x2794}, // ornaments, ❯
	{0x27c0, 0x2b1a}, // math, arrows, braille (spinners, sparklines)
}

func narrowRune(r rune) bool {
	for _, rg := range narrowRunes {
		if r >= rg[0] && r <= rg[1] {
			return true
		}
	}
	return false
}

// skipEscape returns the index just past the escape sequence at s[i]
// (an ESC): CSI (ESC [ … final byte 0x40-0x7e) and OSC (ESC ] … BEL or
// ESC \) are what lipgloss and hyperlinks write; ok is false for anything
// else, which the caller leaves to the full parser.
func skipEscape(s string, i int) (int, bool) {
	if i+1 >= len(s) {
		return 0, false
	}
	switch s[i+1] {
	case '[':
		for j := i + 2; j < len(s); j++ {
			c := s[j]
			switch {
			case c >= 0x40 && c <= 0x7e:
				return j + 1, true
			case c >= 0x20 && c <= 0x3f:
			default:
				return 0, false
			}
		}
	case ']':
		for j := i + 2; j < len(s); j++ {
			switch s[j] {
			case 0x07:
				return j + 1, true
			case 0x1b:
				if j+1 < len(s) && s[j+1] == '\\' {
					return j + 2, true
				}
				return 0, false
			}
		}
	}
	return 0, false
}

// Cut returns the longest prefix of s (whole grapheme clusters) at most
// max cells wide, and its width.
func Cut(s string, ascii bool, max int) (string, int) {
	if max <= 0 {
		return "", 0
	}
	if ascii {
		if len(s) <= max {
			return s, len(s)
		}
		return s[:max], max
	}
	w, i := 0, 0
	for i < len(s) {
		cl, cw := ansi.FirstGraphemeCluster(s[i:], ansi.GraphemeWidth)
		if w+cw > max {
			break
		}
		w += cw
		i += len(cl)
	}
	return s[:i], w
}

// Painter is a style reduced to the escape codes around its text, rendered
// once per style: calling lipgloss.Style.Render per line costs microseconds
// and allocations that a 60 fps view cannot spend.
type Painter struct{ Pre, Suf string }

func NewPainter(s lipgloss.Style) Painter {
	// A private-use rune cannot collide with the SGR bytes around it.
	const mark = "\ue000"
	out := s.Inline(true).UnsetWidth().UnsetHeight().UnsetMaxWidth().UnsetMaxHeight().
		UnsetTransform().UnsetString().Render(mark)
	i := strings.Index(out, mark)
	if i < 0 {
		return Painter{}
	}
	return Painter{Pre: out[:i], Suf: out[i+len(mark):]}
}
