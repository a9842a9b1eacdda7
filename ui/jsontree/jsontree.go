// Package jsontree is the JSON tree viewer widget (fx/jless style): one or
// more JSON documents, e.g. a job's "request" and "result", shown as a
// foldable tree with search, for reading payloads and copying paths and
// values into tickets.
//
// Each document is parsed once, without recursion, into a flat list of nodes
// in document order (depth, key, kind, the span of the raw value, parent,
// last descendant, folded flag). Folding skips a node's descendants, a
// screen renders only its window of the visible nodes, and numbers and
// strings stay spans of the original bytes, so numbers are shown verbatim and
// a 1 MB payload costs one pass. Invalid JSON is shown as its raw text with
// the parse error. Keys and values are untrusted: everything displayed goes
// through sanitize.Line.
package jsontree

import (
	"github.com/opsdeck/opsdeck/ui/celltext"

	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"

	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// Doc is one document to show. JSON is copied by SetDocs.
type Doc struct {
	Title string // the root's key, e.g. "request"; may be "" for a lone document
	JSON  []byte
}

type docInfo struct {
	title string
	data  []byte
	err   string // parse error, for kindInvalid roots: "line 3, column 7: …"
	where string // its short form for the tree line: "3:7"
}

// tree is the parsed documents and their fold state. Model copies share it:
// folding mutates it in place, so a model returned by Update supersedes the
// one it was called on, as everywhere in bubbletea.
type tree struct {
	docs  []docInfo
	nodes []node
	vis   []int32 // visible nodes in order: line i of the tree shows vis[i]
	vpos  []int32 // node -> line, -1 while inside a folded node
}

// Model is the tree viewer.
type Model struct {
	keys   KeyMap
	styles Styles
	paint  painters
	ellW   int
	markW  int // width of Styles.Cursor

	t          *tree
	w, h       int
	cur        int32 // node under the cursor
	top        int   // first line on screen
	statusLine bool

	input     textinput.Model
	searching bool
	query     string  // the committed search
	qlow      []byte  // query, lower-cased
	matches   []int32 // nodes matching query, in document order
	matchAt   int     // index into matches of the current match, -1 before n/N
	hidden    int     // matches inside folded nodes
	note      string  // one-shot status note, e.g. search wrapped
}

// New returns an empty viewer.
func New(keys KeyMap, styles Styles) Model {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "search keys and values"
	in.CharLimit = 256
	// A static cursor: a blinking one would re-render the screen twice a
	// second for nothing and start timers the caller has to route.
	in.Cursor.SetMode(cursor.CursorStatic)
	m := Model{keys: keys, input: in, statusLine: true, t: &tree{}, matchAt: -1}
	return m.SetStyles(styles)
}

// SetStyles replaces the styles.
func (m Model) SetStyles(s Styles) Model {
	m.styles = s
	m.styles.Cursor = sanitize.Line(s.Cursor)
	m.paint = newPainters(s)
	m.ellW = celltext.Width(celltext.Ellipsis)
	m.markW = celltext.Width(m.styles.Cursor)
	return m
}

// SetStatusLine turns the status line (path of the selected node, or the
// search result) on (the default) or off for shells that show StatusText
// themselves. The search input takes the last line while it is open either
// way.
func (m Model) SetStatusLine(on bool) Model {
	m.statusLine = on
	m.scrollToCursor()
	return m
}

// SetDocs parses docs and shows them expanded, the cursor on the first
// line. The search is kept and re-run on the new documents.
func (m Model) SetDocs(docs ...Doc) Model {
	t := &tree{docs: make([]docInfo, len(docs))}
	for i, d := range docs {
		data := append([]byte(nil), d.JSON...)
		t.docs[i] = docInfo{title: d.Title, data: data}
		var err error
		t.nodes, err = parseDoc(t.nodes, data, int32(i))
		if err != nil {
			t.docs[i].err = err.Error()
			if pe, ok := err.(*parseError); ok {
				t.docs[i].where = strconv.Itoa(pe.line) + ":" + strconv.Itoa(pe.col)
			}
			idx := int32(len(t.nodes))
			t.nodes = append(t.nodes, node{
				parent: -1, end: idx, doc: int32(i), ks: keyRoot,
				vs: 0, ve: int32(min(len(data), 1<<31-1)), kind: kindInvalid,
			})
		}
	}
	t.vpos = make([]int32, len(t.nodes))
	m.t = t
	m.cur, m.top = 0, 0
	m.refold()
	m.runSearch()
	return m
}

// SetSize sets the size of the whole widget, status line included.
func (m Model) SetSize(w, h int) Model {
	m.w, m.h = max(w, 0), max(h, 0)
	m.input.Width = max(m.w-celltext.Width(m.input.Prompt)-1, 1)
	m.scrollToCursor()
	return m
}

// SearchActive reports whether the search input is open; while it is, the
// caller must forward every key here rather than act on it.
func (m Model) SearchActive() bool { return m.searching }

// refold recomputes the visible lines after a fold change, keeping the
// cursor on its node (or the nearest visible ancestor) at the same screen
// line.
func (m *Model) refold() {
	t := m.t
	line := -1
	if int(m.cur) < len(t.vpos) && t.vpos[m.cur] >= 0 {
		line = int(t.vpos[m.cur]) - m.top
	}
	for i := range t.vpos {
		t.vpos[i] = -1
	}
	t.vis = t.vis[:0]
	for i := 0; i < len(t.nodes); {
		t.vpos[i] = int32(len(t.vis))
		t.vis = append(t.vis, int32(i))
		if t.nodes[i].collapsed {
			i = int(t.nodes[i].end) + 1
		} else {
			i++
		}
	}
	if len(t.nodes) == 0 {
		m.cur, m.top = 0, 0
		return
	}
	for m.cur > 0 && t.vpos[m.cur] < 0 {
		m.cur = t.nodes[m.cur].parent
	}
	m.cur = max(m.cur, 0)
	if line >= 0 {
		m.top = int(t.vpos[m.cur]) - line
	}
	m.countHidden()
	m.scrollToCursor()
}

func (m *Model) countHidden() {
	m.hidden = 0
	for _, n := range m.matches {
		if m.t.vpos[n] < 0 {
			m.hidden++
		}
	}
}

// bodyHeight is the number of tree lines on screen.
func (m Model) bodyHeight() int {
	if m.searching || m.statusLine && m.h >= 2 {
		return max(m.h-1, 0)
	}
	return m.h
}

func (m *Model) line() int {
	if len(m.t.vis) == 0 {
		return 0
	}
	return int(m.t.vpos[m.cur])
}

func (m *Model) setLine(l int) {
	if len(m.t.vis) == 0 {
		return
	}
	l = max(min(l, len(m.t.vis)-1), 0)
	m.cur = m.t.vis[l]
	m.scrollToCursor()
}

// scrollToCursor keeps the cursor on screen and the screen full.
func (m *Model) scrollToCursor() {
	body := max(m.bodyHeight(), 1)
	l := m.line()
	m.top = min(m.top, len(m.t.vis)-body)
	m.top = max(min(m.top, l), l-body+1, 0)
}

// reveal unfolds the ancestors of node n and puts the cursor on it, a third
// of the way down the screen if it was off screen.
func (m *Model) reveal(n int32) {
	changed := false
	for p := m.t.nodes[n].parent; p >= 0; p = m.t.nodes[p].parent {
		if m.t.nodes[p].collapsed {
			m.t.nodes[p].collapsed = false
			changed = true
		}
	}
	if changed {
		m.refold()
	}
	m.cur = n
	body := max(m.bodyHeight(), 1)
	if l := m.line(); l < m.top || l >= m.top+body {
		m.top = l - body/3
	}
	m.scrollToCursor()
}

// SelectedPath returns the jq path of the node under the cursor, e.g.
// `.request.input_entities[0].attributes["first name"]`. Document titles are
// the first key when set. Keys that are not identifiers are quoted as JSON
// strings, with every control, bidi and zero-width character escaped as \uXXXX
// so the path is both valid jq and safe to display.
func (m Model) SelectedPath() string {
	if len(m.t.nodes) == 0 {
		return ""
	}
	var segs []int32
	for n := m.cur; n >= 0; n = m.t.nodes[n].parent {
		segs = append(segs, n)
	}
	var b []byte
	var kb []byte
	for i := len(segs) - 1; i >= 0; i-- {
		nd := &m.t.nodes[segs[i]]
		switch nd.ks {
		case keyIndex:
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(nd.ke), 10)
			b = append(b, ']')
		case keyRoot:
			if t := m.t.docs[nd.doc].title; t != "" {
				b = appendPathKey(b, []byte(t))
			}
		default:
			kb = m.t.keyBytes(kb[:0], nd, -1)
			b = appendPathKey(b, kb)
		}
	}
	if len(b) == 0 || b[0] == '[' {
		b = append([]byte{'.'}, b...)
	}
	return string(b)
}

func isIdent(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for i, c := range k {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func appendPathKey(b, k []byte) []byte {
	if isIdent(k) {
		b = append(b, '.')
		return append(b, k...)
	}
	b = append(b, '[')
	b = appendQuoted(b, k)
	return append(b, ']')
}

// appendQuoted writes k as a JSON string that is also safe to print.
func appendQuoted(b, k []byte) []byte {
	b = append(b, '"')
	for i := 0; i < len(k); {
		r, n := utf8.DecodeRune(k[i:])
		i += n
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case sanitize.Unsafe(r):
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				b = appendU(appendU(b, r1), r2)
			} else {
				b = appendU(b, r)
			}
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
}

// SelectedValue returns the value under the cursor for copying: compact JSON
// for objects and arrays (numbers verbatim), the decoded text of a string
// (without quotes), the literal of a number, boolean or null, and the raw
// text of a document that is not valid JSON. It is the original data, NOT
// sanitized: write it to a clipboard or file, and pass it through
// sanitize.Text before printing it on the terminal.
func (m Model) SelectedValue() string {
	if len(m.t.nodes) == 0 {
		return ""
	}
	nd := &m.t.nodes[m.cur]
	raw := m.t.docs[nd.doc].data[nd.vs:nd.ve]
	switch nd.kind {
	case kindString:
		b, _ := unquote(nil, raw[1:len(raw)-1], -1)
		return string(b)
	case kindObject, kindArray:
		b, _ := compact(make([]byte, 0, len(raw)), raw, -1)
		return string(b)
	}
	return string(raw)
}

func (m Model) selected() *node {
	if len(m.t.nodes) == 0 {
		return nil
	}
	return &m.t.nodes[m.cur]
}

// keyBytes appends the decoded key of a member node (limit < 0: all of it).
func (t *tree) keyBytes(dst []byte, nd *node, limit int) []byte {
	raw := t.docs[nd.doc].data[nd.ks+1 : nd.ke-1]
	if !nd.kesc && (limit < 0 || len(raw) <= limit) {
		return append(dst, raw...)
	}
	dst, _ = unquote(dst, raw, limit)
	return dst
}

// StatusText is the status line: the search result while a search is set
// ("[3/17] /needle · 5 in folded nodes"), else the selected node's path.
// It is sanitized.
func (m Model) StatusText() string {
	var s string
	switch {
	case m.query != "" && len(m.matches) == 0:
		s = "no match for /" + m.query
	case m.query != "":
		at := "-"
		if m.matchAt >= 0 {
			at = strconv.Itoa(m.matchAt + 1)
		}
		s = "[" + at + "/" + strconv.Itoa(len(m.matches)) + "] /" + m.query
		if m.hidden > 0 {
			s += " · " + strconv.Itoa(m.hidden) + " in folded nodes"
		}
	default:
		s = m.SelectedPath()
		if nd := m.selected(); nd != nil && nd.kind == kindInvalid {
			s += " · invalid JSON: " + m.t.docs[nd.doc].err
		}
	}
	if m.note != "" {
		s += " · " + m.note
	}
	return sanitize.Line(s)
}

// lineCount is for tests: the number of visible tree lines.
func (m Model) lineCount() int { return len(m.t.vis) }
