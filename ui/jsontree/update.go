package jsontree

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
)

// Update handles keys. While the search input is open every key goes to it:
// enter searches, esc closes it and keeps the previous search.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if m.searching {
		if k, ok := msg.(tea.KeyMsg); ok {
			switch k.Type {
			case tea.KeyEnter:
				m.searching = false
				m.input.Blur()
				m.query = m.input.Value()
				m.runSearch()
				if len(m.matches) > 0 {
					m.jumpMatch(+1, true)
				}
				m.scrollToCursor()
				return m, nil
			case tea.KeyEsc:
				m.searching = false
				m.input.Blur()
				m.scrollToCursor()
				return m, nil
			}
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	k, ok := msg.(tea.KeyMsg)
	if !ok || len(m.t.nodes) == 0 {
		return m, nil
	}
	m.note = ""
	s := k.String()
	body := max(m.bodyHeight(), 1)
	nd := &m.t.nodes[m.cur]
	switch {
	case matches(s, m.keys.Down):
		m.setLine(m.line() + 1)
	case matches(s, m.keys.Up):
		m.setLine(m.line() - 1)
	case matches(s, m.keys.PageDown):
		m.top += body
		m.setLine(m.line() + body)
	case matches(s, m.keys.PageUp):
		m.top -= body
		m.setLine(m.line() - body)
	case matches(s, m.keys.Top):
		m.setLine(0)
	case matches(s, m.keys.Bottom):
		m.setLine(len(m.t.vis) - 1)
	case matches(s, m.keys.Toggle):
		if nd.foldable() {
			nd.collapsed = !nd.collapsed
			m.refold()
		}
	case matches(s, m.keys.Expand):
		switch {
		case nd.foldable() && nd.collapsed:
			nd.collapsed = false
			m.refold()
		case nd.foldable():
			m.setLine(m.line() + 1) // first child
		}
	case matches(s, m.keys.Collapse):
		switch {
		case nd.foldable() && !nd.collapsed:
			nd.collapsed = true
			m.refold()
		case nd.parent >= 0:
			m.cur = nd.parent
			m.scrollToCursor()
		}
	case matches(s, m.keys.ToggleAll):
		m.toggleAll()
	case matches(s, m.keys.Search):
		// A fresh input, as in vim and less; n and N repeat the last search.
		m.searching = true
		m.input.Reset()
		m.scrollToCursor()
		return m, m.input.Focus()
	case matches(s, m.keys.Next):
		m.jumpMatch(+1, false)
	case matches(s, m.keys.Prev):
		m.jumpMatch(-1, false)
	}
	return m, nil
}

// toggleAll implements E: unfold everything if anything is folded, else fold
// everything below the document roots.
func (m *Model) toggleAll() {
	nodes := m.t.nodes
	anyFolded := false
	for i := range nodes {
		if nodes[i].collapsed {
			anyFolded = true
			break
		}
	}
	for i := range nodes {
		nodes[i].collapsed = !anyFolded && nodes[i].foldable() && nodes[i].parent >= 0
	}
	m.refold()
}

// runSearch finds every node whose key or value contains the query, case
// insensitively, in the whole document, folded nodes included.
func (m *Model) runSearch() {
	// Fresh slices: model copies may still hold the old ones.
	m.matches, m.matchAt, m.hidden, m.qlow = nil, -1, 0, nil
	if m.query == "" {
		return
	}
	q := appendLower(nil, []byte(m.query))
	m.qlow = q
	var buf, low []byte
	t := m.t
	for i := range t.nodes {
		nd := &t.nodes[i]
		data := t.docs[nd.doc].data
		hit := false
		// The key.
		switch nd.ks {
		case keyRoot:
			low = appendLower(low[:0], []byte(t.docs[nd.doc].title))
			hit = bytes.Contains(low, q)
		case keyIndex:
		default:
			buf = m.t.keyBytes(buf[:0], nd, -1)
			low = appendLower(low[:0], buf)
			hit = bytes.Contains(low, q)
		}
		// The value, for scalars.
		if !hit {
			switch nd.kind {
			case kindString:
				raw := data[nd.vs+1 : nd.ve-1]
				if nd.vesc {
					buf, _ = unquote(buf[:0], raw, -1)
					raw = buf
				}
				low = appendLower(low[:0], raw)
				hit = bytes.Contains(low, q)
			case kindNumber, kindBool, kindNull, kindInvalid:
				low = appendLower(low[:0], data[nd.vs:nd.ve])
				hit = bytes.Contains(low, q)
			}
		}
		if hit {
			m.matches = append(m.matches, int32(i))
		}
	}
	m.countHidden()
}

// appendLower appends s lower-cased; ASCII is the fast path.
func appendLower(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		i += n
	}
	return dst
}

// jumpMatch moves to the next (dir > 0) or previous match after the cursor,
// wrapping around, and unfolds what hides it. from includes the cursor node
// itself (a fresh search may start on a match).
func (m *Model) jumpMatch(dir int, from bool) {
	if len(m.matches) == 0 {
		if m.query != "" {
			m.note = "no match"
		}
		return
	}
	ms := m.matches
	lo := m.matchIndexAtOrAfter(m.cur)
	var at int
	if dir > 0 {
		at = lo // first match >= cur
		if !from && at < len(ms) && ms[at] == m.cur {
			at++
		}
		if at == len(ms) {
			at = 0
			m.note = "search wrapped to the top"
		}
	} else {
		at = lo - 1 // last match < cur
		if from && lo < len(ms) && ms[lo] == m.cur {
			at = lo
		}
		if at < 0 {
			at = len(ms) - 1
			m.note = "search wrapped to the bottom"
		}
	}
	m.matchAt = at
	m.reveal(ms[at])
	m.countHidden()
}

// matchIndexAtOrAfter returns the index of the first match >= node n.
func (m *Model) matchIndexAtOrAfter(n int32) int {
	ms := m.matches
	lo, hi := 0, len(ms)
	for lo < hi {
		mid := (lo + hi) / 2
		if ms[mid] < n {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// matchIndex returns the index of node n in matches, or -1.
func (m *Model) matchIndex(n int32) int {
	if i := m.matchIndexAtOrAfter(n); i < len(m.matches) && m.matches[i] == n {
		return i
	}
	return -1
}
