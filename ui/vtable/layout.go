package vtable

import (
	"github.com/opsdeck/opsdeck/ui/celltext"

	"strings"

	"github.com/charmbracelet/lipgloss"
)

// Column describes one column.
type Column struct {
	Title string
	// Width is a fixed width in cells; 0 makes the column flexible: flexible
	// columns share the width the fixed ones leave, equally.
	Width int
	// Min is the narrowest the column may get on a small terminal: a fixed
	// column shrinks from Width towards Min before columns are dropped; a
	// flexible one never gets less than Min (default 4).
	Min     int
	Align   lipgloss.Position
	SortKey string // "" = not sortable; matched by SetSort for the ▲/▼ mark
	KeyHint string // e.g. "1": shown before the title as "1:TITLE"
}

const (
	sepWidth    = 1 // one space between columns
	flexDefault = 4 // narrowest a flexible column with Min 0 gets
)

// colLayout is one column as placed at a given terminal width.
type colLayout struct {
	idx   int // into Model.cols and Row.Cells
	width int
	align lipgloss.Position
}

// layout is computed once per width (SetSize, SetColumns), not per frame.
type layout struct {
	cols   []colLayout
	gutter int // cells for the cursor mark
	used   int // cells covered by gutter, columns and separators
}

// computeLayout places the columns into w cells. When they do not fit, fixed
// columns shrink to their Min, then columns are dropped from the right (the
// first column is the row's identity and goes last); a lone first column
// takes whatever is left. It never returns a layout wider than w.
func computeLayout(cols []Column, w, gutter int) layout {
	if w <= 0 {
		return layout{}
	}
	if gutter >= w {
		gutter = 0
	}
	avail := w - gutter
	n := len(cols)
	for ; n > 0; n-- {
		if l, ok := fit(cols[:n], avail); ok {
			return finish(l, gutter)
		}
	}
	if len(cols) == 0 {
		return layout{gutter: gutter, used: gutter}
	}
	return finish([]colLayout{{idx: 0, width: avail, align: cols[0].Align}}, gutter)
}

func finish(cols []colLayout, gutter int) layout {
	used := gutter
	for i, c := range cols {
		if i > 0 {
			used += sepWidth
		}
		used += c.width
	}
	return layout{cols: cols, gutter: gutter, used: used}
}

// fit lays out all of cols in avail cells, or reports that they cannot fit.
func fit(cols []Column, avail int) ([]colLayout, bool) {
	avail -= sepWidth * (len(cols) - 1)
	fixed, fixedMin, flexMin, nflex := 0, 0, 0, 0
	for _, c := range cols {
		if c.Width > 0 {
			fixed += c.Width
			fixedMin += minOf(c)
		} else {
			nflex++
			flexMin += minOf(c)
		}
	}
	if fixedMin+flexMin > avail {
		return nil, false
	}
	out := make([]colLayout, len(cols))
	// Shrink fixed columns only as far as needed, from the right.
	over := fixed + flexMin - avail
	for i := len(cols) - 1; i >= 0; i-- {
		c := cols[i]
		out[i] = colLayout{idx: i, width: c.Width, align: c.Align}
		if c.Width > 0 && over > 0 {
			cut := min(over, c.Width-minOf(c))
			out[i].width -= cut
			over -= cut
		}
	}
	if nflex > 0 {
		rest := avail
		for i, c := range cols {
			if c.Width > 0 {
				rest -= out[i].width
			}
		}
		shareFlex(cols, out, rest)
	}
	return out, true
}

// shareFlex splits rest cells equally among the flexible columns, except
// that a column whose Min exceeds the equal share gets its Min and leaves the
// others to split what remains (water-filling). rest >= the sum of the Mins.
func shareFlex(cols []Column, out []colLayout, rest int) {
	done := make([]bool, len(cols))
	for {
		n, pinned := 0, false
		for i, c := range cols {
			if c.Width == 0 && !done[i] {
				n++
			}
		}
		if n == 0 {
			return
		}
		share := rest / n
		for i, c := range cols {
			if c.Width == 0 && !done[i] && minOf(c) > share {
				out[i].width = minOf(c)
				rest -= out[i].width
				done[i], pinned = true, true
			}
		}
		if pinned {
			continue
		}
		extra := rest % n
		for i, c := range cols {
			if c.Width == 0 && !done[i] {
				out[i].width = share
				if extra > 0 {
					out[i].width++
					extra--
				}
			}
		}
		return
	}
}

func minOf(c Column) int {
	switch {
	case c.Width > 0 && c.Min > 0 && c.Min < c.Width:
		return c.Min
	case c.Width > 0:
		return c.Width
	case c.Min > 0:
		return c.Min
	}
	return flexDefault
}

// headerText is the header label of a column: hint, title and sort mark.
func headerText(c Column, sortKey string, desc bool) (label, mark string) {
	label = c.Title
	if c.KeyHint != "" {
		label = c.KeyHint + ":" + label
	}
	if c.SortKey != "" && c.SortKey == sortKey {
		mark = "▲"
		if desc {
			mark = "▼"
		}
	}
	return label, mark
}

// renderHeader builds the header line; it is cached until size, columns,
// sort or styles change.
func (m *Model) renderHeader() string {
	if m.w <= 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(m.paint.header.Pre)
	celltext.WriteSpaces(&b, m.lay.gutter)
	for i, cl := range m.lay.cols {
		if i > 0 {
			celltext.WriteSpaces(&b, sepWidth)
		}
		label, mark := headerText(m.cols[cl.idx], m.sortKey, m.sortDesc)
		label = sanitizeCell(label)
		// The sort mark survives truncation: it is the point of the header.
		mw := celltext.Width(mark)
		if mw >= cl.width {
			mark, mw = "", 0
		}
		writeCell(&b, cell{text: label + mark, width: celltext.Width(label) + mw, ascii: celltext.IsASCII(label + mark)},
			cl.width, cl.align, mark, mw, m.ellW)
	}
	celltext.WriteSpaces(&b, m.w-m.lay.used)
	b.WriteString(m.paint.header.Suf)
	return b.String()
}

// writeCell writes c into exactly width cells: truncated with an celltext.Ellipsis
// (keeping keep, a suffix of c.text of keepW cells, after the celltext.Ellipsis) or
// padded according to align.
func writeCell(b *strings.Builder, c cell, width int, align lipgloss.Position, keep string, keepW, ellW int) {
	if width <= 0 {
		return
	}
	if c.width <= width {
		pad := width - c.width
		left := 0
		switch {
		case align >= lipgloss.Right:
			left = pad
		case align > lipgloss.Left:
			left = pad / 2
		}
		celltext.WriteSpaces(b, left)
		b.WriteString(c.text)
		celltext.WriteSpaces(b, pad-left)
		return
	}
	body := c.text[:len(c.text)-len(keep)]
	room := width - keepW - ellW
	if room < 0 { // too narrow for the celltext.Ellipsis: hard cut
		s, w := celltext.Cut(body, c.ascii, width)
		b.WriteString(s)
		celltext.WriteSpaces(b, width-w)
		return
	}
	s, w := celltext.Cut(body, c.ascii, room)
	b.WriteString(s)
	b.WriteString(celltext.Ellipsis)
	b.WriteString(keep)
	celltext.WriteSpaces(b, width-w-ellW-keepW)
}
