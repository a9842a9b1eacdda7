// Package celltext is the terminal-cell arithmetic the ui widgets share:
// display width as lipgloss measures it, cutting to a width, and styles
// pre-rendered into escape-code pairs so hot render paths skip lipgloss.
package celltext

import (
	"strings"

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
