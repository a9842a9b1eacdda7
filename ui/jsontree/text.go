package jsontree

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// These helpers are duplicated from ui/vtable on purpose: the two widgets
// are independent rooms, and a shared package for forty lines of width
// arithmetic would couple them.
//
// Widths are measured the way lipgloss and ansi.StringWidth measure them
// (grapheme clusters), not rune by rune with go-runewidth: the two disagree on
// emoji with variation selectors ("☺️", "1️⃣"), and the shell around this
// tree lays out with lipgloss, so agreeing with it is what keeps every line
// inside the terminal.

const ellipsis = "…"

// spaces is written in slices so padding never allocates.
const spaces = "                                                                "

func writeSpaces(b *strings.Builder, n int) {
	for n > len(spaces) {
		b.WriteString(spaces)
		n -= len(spaces)
	}
	if n > 0 {
		b.WriteString(spaces[:n])
	}
}

// isASCII reports printable ASCII, whose width is its length; sanitized text
// has no controls, so any byte < 0x80 is printable.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// textWidth is the display width of sanitized text.
func textWidth(s string) int {
	if isASCII(s) {
		return len(s)
	}
	return ansi.StringWidth(s)
}

// cutWidth returns the longest prefix of s (whole grapheme clusters) at most
// max cells wide, and its width.
func cutWidth(s string, ascii bool, max int) (string, int) {
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

// painter is a style reduced to the escape codes around its text, rendered
// once per style: calling lipgloss.Style.Render per line costs microseconds
// and allocations that a 60 fps view cannot spend.
type painter struct{ pre, suf string }

func newPainter(s lipgloss.Style) painter {
	// A private-use rune cannot collide with the SGR bytes around it.
	const mark = "\ue000"
	out := s.Inline(true).UnsetWidth().UnsetHeight().UnsetMaxWidth().UnsetMaxHeight().
		UnsetTransform().UnsetString().Render(mark)
	i := strings.Index(out, mark)
	if i < 0 {
		return painter{}
	}
	return painter{pre: out[:i], suf: out[i+len(mark):]}
}
