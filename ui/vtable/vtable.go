// Package vtable is the virtual table widget: a scrolling table over a row
// source that may hold millions of rows, of which only about three screens
// are ever in memory.
//
// The source is read by keyset ("the n rows after this one"), never by
// OFFSET, so every page costs the same wherever the cursor is. Pages are
// fetched in tea.Cmd goroutines ahead of the cursor; Update never blocks and
// the cursor moves at once within the rows already loaded. Every reply
// carries the table's identity and two sequence numbers, so replies meant
// for another table, for an older source (a filter the user has since typed
// past) or for a window that has since been replaced are dropped.
//
// Cells are untrusted: the table sanitizes each one with sanitize.Line when
// its page arrives (off the UI goroutine), measures it once, and renders with
// a strings.Builder into a layout cached per width.
package vtable

import (
	"github.com/opsdeck/opsdeck/ui/celltext"

	"context"
	"strconv"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// Row is one row as the source returns it.
type Row struct {
	Key   any      // opaque keyset position, handed back to Source.Page
	ID    string   // stable identity, used to keep the cursor across reloads; unique within a source
	Cells []string // raw, untrusted text; the table sanitizes it for display
	Style string   // optional tag looked up in Styles.RowTag, e.g. "ERRORED"
}

// Source is a keyset-paged row source.
type Source interface {
	// Page returns up to n rows strictly after the row whose key is after
	// (after == nil: the first rows), or, when backward, the up to n rows
	// strictly before it (after == nil: the last n rows). Rows are always in
	// display order. Fewer than n rows means the start or end was reached.
	// Page is called from tea.Cmd goroutines and must be safe for concurrent
	// use; ctx is cancelled when the table moves to another source or reload.
	Page(ctx context.Context, after any, backward bool, n int) ([]Row, error)
	// Count returns the number of rows in the source.
	Count(ctx context.Context) (int, error)
}

// identity makes each table distinguishable without a global counter: a
// pointer to a fresh non-zero-size allocation is unique for as long as any
// message refers to it.
type identity struct{ _ byte }

// row is a Row prepared for display.
type row struct {
	Row
	cells []cell
}

type cell struct {
	text  string // sanitized
	width int    // display width of text
	ascii bool   // width == len(text); truncation is a slice
}

func sanitizeCell(s string) string { return sanitize.Line(s) }

func prepare(rows []Row) []row {
	out := make([]row, len(rows))
	for i, r := range rows {
		out[i].Row = r
		out[i].cells = make([]cell, len(r.Cells))
		for j, s := range r.Cells {
			t := sanitizeCell(s)
			ascii := celltext.IsASCII(t)
			w := len(t)
			if !ascii {
				w = ansi.StringWidth(t)
			}
			out[i].cells[j] = cell{text: t, width: w, ascii: ascii}
		}
	}
	return out
}

// painters are the styles rendered to escape-code pairs (see celltext.Painter).
type painters struct {
	header, cell, selected, dim, err celltext.Painter
	tags                             map[string]celltext.Painter
}

// Model is the table. It is a value: Update and the setters return the new
// model. Copies share the loaded rows, which are never mutated in place.
type Model struct {
	owner  *identity
	cols   []Column
	keys   KeyMap
	styles Styles
	paint  painters
	ellW   int // width of the celltext.Ellipsis; ambiguous-width locales make it 2
	markW  int // width of Styles.Cursor
	marked func(id string) bool

	w, h       int
	lay        layout
	header     string // cached rendered header line
	sortKey    string
	sortDesc   bool
	statusLine bool

	src    Source
	ctx    context.Context
	cancel context.CancelFunc
	gen    uint64 // bumped per source or reload: guards count and page replies
	win    uint64 // bumped whenever the window is replaced: guards page replies

	rows           []row
	cursor, offset int  // into rows: selected row, first visible row
	atStart, atEnd bool // the window holds the first / last row of the source
	loaded         bool // rows belong to the current source
	jumping        bool // a window replacement is in flight
	fwdBusy        bool // a page after the window is in flight
	backBusy       bool // a page before the window is in flight
	pending        int  // cursor moves waiting for rows past the window edge (+down, -up)
	jumpOp         fetchOp

	// Position: the window's first row is at absolute index gap (fromEnd
	// false), or its last row is gap rows before the end (fromEnd true),
	// which is all we know after G until the count arrives.
	gap     int
	fromEnd bool
	// posUnknown: after a JumpTo into the middle, the absolute position
	// is not known until the window reaches either end.
	posUnknown bool
	anchor     any  // JumpTo's key, consumed by replace
	anchorSet  bool // anchor is set

	total      int
	totalKnown bool
	err        error // last page fetch failed
	countErr   error // last count failed
}

// SetMarked sets the function that says whether a row (by ID) is marked
// (space-selected for a bulk action); marked rows show Styles.Mark in the
// gutter. nil: no marks.
func (m Model) SetMarked(f func(id string) bool) Model {
	m.marked = f
	return m
}

// New returns an empty table; give it rows with SetSource.
func New(cols []Column, keys KeyMap, styles Styles) Model {
	m := Model{
		owner:      new(identity),
		cols:       append([]Column(nil), cols...),
		keys:       keys,
		statusLine: true,
		ctx:        context.Background(),
		cancel:     func() {},
	}
	m.setStyles(styles)
	return m
}

// SetStyles replaces the styles.
func (m Model) SetStyles(s Styles) Model {
	m.setStyles(s)
	m.relayout()
	return m
}

func (m *Model) setStyles(s Styles) {
	m.styles = s
	m.paint = painters{
		header:   celltext.NewPainter(s.Header),
		cell:     celltext.NewPainter(s.Cell),
		selected: celltext.NewPainter(s.Selected),
		dim:      celltext.NewPainter(s.Dim),
		err:      celltext.NewPainter(s.Error),
		tags:     make(map[string]celltext.Painter, len(s.RowTag)),
	}
	for k, v := range s.RowTag {
		m.paint.tags[k] = celltext.NewPainter(v)
	}
	m.ellW = celltext.Width(celltext.Ellipsis)
	m.styles.Cursor = sanitizeCell(s.Cursor)
	m.markW = celltext.Width(m.styles.Cursor)
	if m.styles.Mark = sanitizeCell(s.Mark); celltext.Width(m.styles.Mark) != m.markW {
		m.styles.Mark = "" // a mark wider than the gutter would shift the columns
	}
}

// SetColumns replaces the columns; Row.Cells are matched by index.
func (m Model) SetColumns(cols []Column) Model {
	m.cols = append([]Column(nil), cols...)
	m.relayout()
	return m
}

// SetSort marks the column whose SortKey is key with ▲ (or ▼ when desc).
// It only changes the header: ordering is the source's business.
func (m Model) SetSort(key string, desc bool) Model {
	m.sortKey, m.sortDesc = key, desc
	m.header = m.renderHeader()
	return m
}

// SetStatusLine turns the "row 1,234 of 45,678" line under the table on (the
// default) or off, for shells that show StatusText in their own status bar.
func (m Model) SetStatusLine(on bool) Model {
	m.statusLine = on
	m.clampView()
	return m
}

// SetSize sets the size of the whole widget, header and status line
// included. If the new size needs more rows than are loaded, they are fetched
// on the next Update of any message (the shell forwards tea.WindowSizeMsg).
func (m Model) SetSize(w, h int) Model {
	m.w, m.h = max(w, 0), max(h, 0)
	m.relayout()
	m.clampView()
	return m
}

func (m *Model) relayout() {
	gutter := 0
	if m.markW > 0 {
		gutter = m.markW + 1 // mark and a space before the first column
	}
	m.lay = computeLayout(m.cols, m.w, gutter)
	m.header = m.renderHeader()
}

// Owns reports whether msg is a reply addressed to this table, for shells
// that route messages instead of broadcasting them.
func (m Model) Owns(msg tea.Msg) bool {
	switch msg := msg.(type) {
	case pageMsg:
		return msg.owner == m.owner
	case countMsg:
		return msg.owner == m.owner
	}
	return false
}

// Selected returns the row under the cursor, as the source returned it
// (cells unsanitized).
func (m Model) Selected() (Row, bool) {
	if m.cursor < 0 || m.cursor >= len(m.rows) {
		return Row{}, false
	}
	return m.rows[m.cursor].Row, true
}

// Total returns the number of rows in the source, once counted.
func (m Model) Total() (n int, known bool) {
	if m.loaded && m.atStart && m.atEnd && !m.jumping {
		return len(m.rows), true // the window is the whole source
	}
	return m.total, m.totalKnown
}

// Position returns the absolute 0-based index of the cursor row, or -1 if it
// is not known. Positions are counted from the rows the cursor moved over, so
// rows inserted above the cursor by a sync skew them until the next g, G or
// source change.
func (m Model) Position() int {
	if len(m.rows) == 0 || m.posUnknown && !m.atStart && !m.atEnd {
		return -1
	}
	if !m.fromEnd {
		return m.gap + m.cursor
	}
	total, ok := m.Total()
	if !ok {
		return -1
	}
	return max(total-m.gap-(len(m.rows)-m.cursor), 0)
}

// Loading reports whether the user is waiting for rows: a new source or jump
// is in flight, or the cursor is held at the window edge.
func (m Model) Loading() bool {
	return m.src != nil && (m.jumping || !m.loaded || m.pending != 0)
}

// Err returns the error of the latest failed page fetch or count, if any.
func (m Model) Err() error {
	if m.err != nil {
		return m.err
	}
	return m.countErr
}

// StatusText returns e.g. "row 1,234 of 45,678", sanitized and plain.
func (m Model) StatusText() string {
	if m.src == nil {
		return ""
	}
	var s string
	switch {
	case len(m.rows) == 0 && m.err != nil && !m.Loading():
		return "error: " + sanitizeCell(m.err.Error())
	case len(m.rows) == 0 && m.Loading():
		return "loading…"
	case len(m.rows) == 0:
		s = "0 rows"
	default:
		pos, total := "?", "?"
		if p := m.Position(); p >= 0 {
			pos = commas(p + 1)
		}
		if n, ok := m.Total(); ok {
			total = commas(n)
		}
		s = "row " + pos + " of " + total
	}
	if m.Loading() {
		s += " · loading…"
	}
	if err := m.Err(); err != nil {
		s += " · error: " + sanitizeCell(err.Error())
	}
	return s
}

// commas formats n with thousands separators.
func commas(n int) string {
	s := strconv.Itoa(n)
	start := 0
	if n < 0 {
		start = 1
	}
	for i := len(s) - 3; i > start; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Layout of the widget's height: header, body, status line.
func (m Model) showHeader() bool { return m.h >= 2 }
func (m Model) showStatus() bool { return m.statusLine && m.h >= 3 }

func (m Model) bodyHeight() int {
	h := m.h
	if m.showHeader() {
		h--
	}
	if m.showStatus() {
		h--
	}
	return max(h, 0)
}

// Paging: a page is a screen (at least minPage rows so tiny terminals do not
// chatter), the window holds at most three pages, and a page is fetched when
// the cursor comes within half a page of the window edge. After a page is
// added and the far end trimmed, the cursor sits a whole page from the new
// trim edge, so wiggling j/k at a boundary does not refetch back and forth.
const minPage = 10

func (m Model) pageSize() int  { return max(m.bodyHeight(), minPage) }
func (m Model) maxRows() int   { return 3 * m.pageSize() }
func (m Model) threshold() int { return max(m.pageSize()/2, 1) }

// heldRows is for tests of the memory bound.
func (m Model) heldRows() int { return len(m.rows) }
