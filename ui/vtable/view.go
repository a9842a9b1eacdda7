package vtable

import (
	"github.com/opsdeck/opsdeck/ui/celltext"

	"strings"
)

// View renders exactly the widget's height in lines, each at most its width
// in cells: header, the visible rows, then the status line. It allocates the
// output buffer and nothing per row, so its cost depends on the screen size,
// not on how many rows the source holds.
func (m Model) View() string {
	if m.h <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(m.h * (m.w + 64))
	v := viewWriter{b: &b}
	if m.showHeader() {
		v.line()
		b.WriteString(m.header)
	}
	m.writeBody(&v, m.bodyHeight())
	if m.showStatus() {
		v.line()
		m.writeText(&b, m.paint.dim, m.StatusText(), false)
	}
	return b.String()
}

// viewWriter separates lines, so that there is no trailing newline.
type viewWriter struct {
	b *strings.Builder
	n int
}

func (v *viewWriter) line() {
	if v.n > 0 {
		v.b.WriteByte('\n')
	}
	v.n++
}

func (m Model) writeBody(v *viewWriter, body int) {
	b := v.b
	if len(m.rows) == 0 {
		var msg string
		p := m.paint.dim
		switch {
		case m.src == nil:
		case m.err != nil && !m.Loading():
			m.writeError(v, body)
			return
		case m.Loading():
			msg = "loading…"
		default:
			msg = "no rows match"
		}
		for i := range body {
			v.line()
			if i == (body-1)/2 && msg != "" {
				m.writeText(b, p, msg, true)
			}
		}
		return
	}
	for i := range body {
		v.line()
		idx := m.offset + i
		switch {
		case idx < len(m.rows):
			m.writeRow(b, &m.rows[idx], idx == m.cursor)
		case idx == len(m.rows) && !m.atEnd:
			// The edge of what is loaded: say why there is nothing below.
			if m.err != nil {
				m.writeText(b, m.paint.err, "  error: "+sanitizeCell(m.err.Error()), false)
			} else {
				m.writeText(b, m.paint.dim, "  loading…", false)
			}
		}
	}
}

func (m Model) writeRow(b *strings.Builder, r *row, selected bool) {
	if m.w <= 0 {
		return
	}
	p := m.paint.cell
	if r.Style != "" {
		if tp, ok := m.paint.tags[r.Style]; ok {
			p = tp
		}
	}
	if selected {
		p = m.paint.selected
	}
	b.WriteString(p.Pre)
	if m.lay.gutter > 0 {
		if selected {
			b.WriteString(m.styles.Cursor)
		} else if m.marked != nil && m.styles.Mark != "" && m.marked(r.ID) {
			b.WriteString(m.styles.Mark)
		} else {
			celltext.WriteSpaces(b, m.markW)
		}
		celltext.WriteSpaces(b, m.lay.gutter-m.markW)
	}
	for j, cl := range m.lay.cols {
		if j > 0 {
			celltext.WriteSpaces(b, sepWidth)
		}
		var c cell
		if cl.idx < len(r.cells) {
			c = r.cells[cl.idx]
		}
		writeCell(b, c, cl.width, cl.align, "", 0, m.ellW)
	}
	celltext.WriteSpaces(b, m.w-m.lay.used)
	b.WriteString(p.Suf)
}

// writeText writes sanitized text cut to the width, optionally centered.
func (m Model) writeText(b *strings.Builder, p celltext.Painter, s string, center bool) {
	if m.w <= 0 {
		return
	}
	ascii := celltext.IsASCII(s)
	w := celltext.Width(s)
	if w > m.w {
		s, w = celltext.Cut(s, ascii, m.w)
	}
	if center {
		celltext.WriteSpaces(b, (m.w-w)/2)
	}
	b.WriteString(p.Pre)
	b.WriteString(s)
	b.WriteString(p.Suf)
}

// writeError wraps the error text over the body lines.
func (m Model) writeError(v *viewWriter, body int) {
	s := "error: " + sanitizeCell(m.err.Error())
	ascii := celltext.IsASCII(s)
	for range body {
		v.line()
		if s == "" || m.w <= 0 {
			continue
		}
		part, _ := celltext.Cut(s, ascii, m.w)
		if part == "" { // a cluster wider than the terminal
			s = ""
			continue
		}
		s = s[len(part):]
		m.writeText(v.b, m.paint.err, part, false)
	}
}
