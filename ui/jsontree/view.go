package jsontree

import (
	"github.com/opsdeck/opsdeck/ui/celltext"

	"bytes"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// View renders exactly the widget's height in lines, each at most its width
// in cells. Only the lines on screen are decoded and measured, and strings
// are decoded only as far as the width can show, so the cost does not
// depend on the size of the documents.
func (m Model) View() string {
	if m.h <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(m.h * (m.w + 96))
	r := renderer{m: &m, b: &b}
	body := m.bodyHeight()
	cursorLine := m.line()
	for i := range body {
		if i > 0 {
			b.WriteByte('\n')
		}
		l := m.top + i
		switch {
		case l < len(m.t.vis):
			r.node(m.t.vis[l], l == cursorLine)
		case l == 0:
			r.lw(false).put(m.paint.punct, "(no document)")
		}
	}
	if body == m.h {
		return b.String()
	}
	if body > 0 {
		b.WriteByte('\n')
	}
	if m.searching {
		v := m.input.View()
		if ansi.StringWidth(v) > m.w {
			v = ansi.Truncate(v, m.w, "")
		}
		b.WriteString(v)
	} else {
		r.lw(false).put(m.paint.status, m.StatusText())
	}
	return b.String()
}

// renderer holds scratch buffers reused across the lines of one View.
type renderer struct {
	m        *Model
	b        *strings.Builder
	buf, low []byte
}

// lineWriter writes segments of one line within the width, ending with an
// celltext.Ellipsis when something did not fit.
type lineWriter struct {
	b     *strings.Builder
	left  int // cells left
	ellW  int
	plain bool // the selected line: one style for the whole line
	full  bool
}

func (r *renderer) lw(plain bool) *lineWriter {
	return &lineWriter{b: r.b, left: r.m.w, ellW: r.m.ellW, plain: plain}
}

// put writes sanitized text s in style p.
func (lw *lineWriter) put(p celltext.Painter, s string) {
	if lw.full || s == "" {
		return
	}
	ascii := celltext.IsASCII(s)
	w := len(s)
	if !ascii {
		w = celltext.Width(s)
	}
	if w > lw.left {
		if lw.left >= lw.ellW {
			s, w = celltext.Cut(s, ascii, lw.left-lw.ellW)
			s += celltext.Ellipsis
			w += lw.ellW
		} else {
			s, w = celltext.Cut(s, ascii, lw.left)
		}
		lw.full = true
	}
	if lw.plain {
		lw.b.WriteString(s)
	} else {
		lw.b.WriteString(p.Pre)
		lw.b.WriteString(s)
		lw.b.WriteString(p.Suf)
	}
	lw.left -= w
}

// pad writes n unstyled spaces (indentation needs no colour codes).
func (lw *lineWriter) pad(n int) {
	n = min(n, lw.left)
	if lw.full || n <= 0 {
		return
	}
	celltext.WriteSpaces(lw.b, n)
	lw.left -= n
}

// limit is how many bytes of a string are decoded for display: enough for
// the width even if every cell took four bytes.
func (r *renderer) limit() int { return 4*r.m.w + 16 }

func (r *renderer) node(i int32, selected bool) {
	m := r.m
	nd := &m.t.nodes[i]
	data := m.t.docs[nd.doc].data
	p := &m.paint
	if selected {
		r.b.WriteString(p.selected.Pre)
	}
	lw := r.lw(selected)
	if m.markW > 0 && m.markW < m.w {
		if selected {
			lw.put(p.punct, m.styles.Cursor)
		} else {
			lw.pad(m.markW)
		}
	}

	// Indentation, capped at a third of the width so that 10,000 levels of
	// nesting still leave room for the content; "» " marks the cap.
	levels := max(m.w/6, 1)
	if int(nd.depth) <= levels {
		lw.pad(2 * int(nd.depth))
	} else {
		lw.pad(2*levels - 2)
		lw.put(p.punct, "» ")
	}
	switch {
	case nd.foldable() && nd.collapsed:
		lw.put(p.punct, "▸ ")
	case nd.foldable():
		lw.put(p.punct, "▾ ")
	default:
		lw.pad(2)
	}

	// Which part a search matched, to highlight it.
	keyP, valP := p.key, r.valuePainter(nd)
	matched := !selected && m.matchIndex(i) >= 0
	keyHit := false

	// Key.
	switch nd.ks {
	case keyRoot:
		if t := m.t.docs[nd.doc].title; t != "" {
			if matched {
				r.low = appendLower(r.low[:0], []byte(t))
				keyHit = bytes.Contains(r.low, m.qlow)
				if keyHit {
					keyP = p.match
				}
			}
			lw.put(keyP, sanitize.Line(t))
			lw.put(p.punct, ": ")
		}
	case keyIndex:
		lw.put(p.index, "["+strconv.Itoa(int(nd.ke))+"]")
		lw.put(p.punct, ": ")
	default:
		r.buf = m.t.keyBytes(r.buf[:0], nd, r.limit())
		if matched {
			r.low = appendLower(r.low[:0], m.t.keyBytes(nil, nd, -1))
			keyHit = bytes.Contains(r.low, m.qlow)
			if keyHit {
				keyP = p.match
			}
		}
		lw.put(keyP, sanitize.Line(string(r.buf)))
		lw.put(p.punct, ": ")
	}
	if matched && !keyHit {
		valP = p.match
	}

	// Value.
	raw := data[nd.vs:nd.ve]
	switch nd.kind {
	case kindObject, kindArray:
		open, close, unit := "{", "}", " keys"
		if nd.kind == kindArray {
			open, close, unit = "[", "]", " items"
		}
		if nd.n == 0 {
			lw.put(p.punct, open+close)
			break
		}
		if nd.n == 1 {
			unit = unit[:len(unit)-1]
		}
		lw.put(p.punct, open+strconv.Itoa(int(nd.n))+unit+close)
		if nd.collapsed {
			r.buf, _ = compact(r.buf[:0], raw, r.limit())
			lw.put(p.punct, " ")
			lw.put(p.punct, sanitize.Line(string(r.buf)))
		}
	case kindString:
		var cut bool
		r.buf = append(r.buf[:0], '"')
		r.buf, cut = unquote(r.buf, raw[1:len(raw)-1], r.limit())
		if cut {
			r.buf = append(r.buf, celltext.Ellipsis...)
		} else {
			r.buf = append(r.buf, '"')
		}
		lw.put(valP, sanitize.Line(string(r.buf)))
	case kindInvalid:
		// The short note keeps the raw text in view; the status line has
		// the whole message when the cursor is here.
		lw.put(p.err, "⚠ invalid JSON at "+m.t.docs[nd.doc].where+": ")
		lw.put(valP, sanitize.Line(string(raw[:min(len(raw), r.limit())])))
	default: // number, bool, null: verbatim
		lw.put(valP, string(raw[:min(len(raw), r.limit())]))
	}

	if selected {
		celltext.WriteSpaces(r.b, lw.left)
		r.b.WriteString(p.selected.Suf)
	}
}

func (r *renderer) valuePainter(nd *node) celltext.Painter {
	p := &r.m.paint
	switch nd.kind {
	case kindString, kindInvalid:
		return p.str
	case kindNumber:
		return p.num
	case kindBool:
		return p.boolean
	case kindNull:
		return p.null
	}
	return p.punct
}
