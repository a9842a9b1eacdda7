package vtable

import (
	"context"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
)

type fetchOp uint8

const (
	opTop     fetchOp = iota // replace the window with the first rows
	opBottom                 // replace the window with the last rows
	opAround                 // replace the window with rows around the cursor (Reload)
	opAppend                 // add a page after the window
	opPrepend                // add a page before the window
)

// pageMsg is the reply to every page fetch.
type pageMsg struct {
	owner    *identity
	gen, win uint64
	op       fetchOp
	anchorID string // append/prepend: ID of the edge row the page continues from
	keepID   string // replacements: row to put the cursor on if present
	n        int    // rows asked for (fewer back means the edge was reached)
	rows     []row
	before   int  // opAround: rows before the anchor row
	jump     bool // opAround from JumpTo: the cursor goes to keepID
	short    bool // opAround: the backward half came back short (at start)
	shortFwd bool // opAround: the forward half came back short (at end)
	err      error
}

type countMsg struct {
	owner *identity
	gen   uint64
	n     int
	err   error
}

// safely runs a Source call, turning a panic into an error: a broken source
// should cost a page, not the terminal.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("row source panicked: %v", r)
		}
	}()
	return f()
}

// SetSource switches to a new source (a new filter or sort) and loads its
// first rows asynchronously. Until they arrive the old rows stay on screen,
// so typing a filter does not flicker; if the selected row's ID is among the
// new first rows, the cursor stays on it. Replies to earlier sources are
// dropped and their queries cancelled.
func (m Model) SetSource(src Source) (Model, tea.Cmd) {
	keep := ""
	if r, ok := m.Selected(); ok {
		keep = r.ID
	}
	m.newGen()
	m.src = src
	m.totalKnown = false
	m.posUnknown = false
	m.loaded = false
	if src == nil {
		m.rows, m.cursor, m.offset, m.jumping = nil, 0, 0, false
		return m, nil
	}
	return m, tea.Batch(m.countCmd(), m.replace(opTop, keep))
}

// Reload refetches after the source's data changed (a sync stored new rows):
// on the first row the cursor stays on the first row; otherwise it stays on the same row ID if it still exists, else on the row
// that took its place, at the same screen line; the count is refreshed.
func (m Model) Reload() (Model, tea.Cmd) {
	if m.src == nil {
		return m, nil
	}
	if !m.loaded || len(m.rows) == 0 {
		return m.SetSource(m.src)
	}
	op, keep := opAround, m.rows[m.cursor].ID
	if m.Position() == 0 {
		// On the first row the user is watching the head of the list:
		// stay there as new rows arrive above (like tail -f), instead of
		// drifting down with the old first row.
		op, keep = opTop, ""
	}
	if m.jumping {
		op, keep = m.jumpOp, "" // a g or G in flight: redo it on the new data
	}
	m.newGen()
	return m, tea.Batch(m.countCmd(), m.replace(op, keep))
}

// JumpTo moves the window to the row whose key (in the current source's
// order) is key and puts the cursor on it (id). It is for "go to the next
// X" searches the caller ran against the same source; the row's absolute
// position is unknown until the window reaches either end.
func (m Model) JumpTo(key any, id string) (Model, tea.Cmd) {
	if m.src == nil || key == nil {
		return m, nil
	}
	m.anchor, m.anchorSet = key, true
	cmd := m.replace(opAround, id)
	return m, cmd
}

// newGen invalidates everything in flight for the current source.
func (m *Model) newGen() {
	m.cancel()
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.gen++
	m.bumpWindow()
	m.err, m.countErr = nil, nil
}

// bumpWindow invalidates in-flight page fetches.
func (m *Model) bumpWindow() {
	m.win++
	m.fwdBusy, m.backBusy = false, false
	m.pending = 0
}

func (m *Model) countCmd() tea.Cmd {
	src, ctx, owner, gen := m.src, m.ctx, m.owner, m.gen
	return func() tea.Msg {
		var n int
		err := safely(func() (err error) { n, err = src.Count(ctx); return err })
		return countMsg{owner: owner, gen: gen, n: n, err: err}
	}
}

// replace starts a fetch that replaces the whole window.
func (m *Model) replace(op fetchOp, keepID string) tea.Cmd {
	m.bumpWindow()
	m.jumping, m.jumpOp = true, op
	src, ctx := m.src, m.ctx
	msg := pageMsg{owner: m.owner, gen: m.gen, win: m.win, op: op, keepID: keepID, n: 2 * m.pageSize()}
	switch op {
	case opTop, opBottom:
		return func() tea.Msg {
			var rows []Row
			msg.err = safely(func() (err error) {
				rows, err = src.Page(ctx, nil, op == opBottom, msg.n)
				return err
			})
			msg.rows = prepare(rows)
			return msg
		}
	}
	// opAround: a page before the cursor row, then from the cursor row on.
	// The cursor row need not exist any more: keyset comparison only needs
	// its key. A JumpTo gives its own anchor.
	var key any
	if m.anchorSet {
		key, msg.jump = m.anchor, true
		m.anchor, m.anchorSet = nil, false
	} else if len(m.rows) > 0 {
		key = m.rows[m.cursor].Key
	}
	nb, nf := m.pageSize(), 2*m.pageSize()
	return func() tea.Msg {
		var back, fwd []Row
		msg.err = safely(func() (err error) {
			if back, err = src.Page(ctx, key, true, nb); err != nil {
				return err
			}
			var after any // no rows before the cursor row: read from the top
			if len(back) > 0 {
				after = back[len(back)-1].Key
			}
			fwd, err = src.Page(ctx, after, false, nf)
			return err
		})
		msg.before, msg.short, msg.shortFwd = len(back), len(back) < nb, len(fwd) < nf
		msg.rows = prepare(append(back[:len(back):len(back)], fwd...))
		return msg
	}
}

// extend starts a fetch of one page past the window edge.
func (m *Model) extend(op fetchOp) tea.Cmd {
	edge := m.rows[len(m.rows)-1]
	if op == opPrepend {
		edge = m.rows[0]
		m.backBusy = true
	} else {
		m.fwdBusy = true
	}
	src, ctx := m.src, m.ctx
	msg := pageMsg{owner: m.owner, gen: m.gen, win: m.win, op: op, anchorID: edge.ID, n: m.pageSize()}
	key := edge.Key
	return func() tea.Msg {
		var rows []Row
		msg.err = safely(func() (err error) {
			rows, err = src.Page(ctx, key, op == opPrepend, msg.n)
			return err
		})
		msg.rows = prepare(rows)
		return msg
	}
}

// Update handles navigation keys and the table's own replies. Replies for
// other tables, older sources or replaced windows are dropped.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	user := false
	switch msg := msg.(type) {
	case pageMsg:
		if msg.owner != m.owner || msg.gen != m.gen || msg.win != m.win {
			return m, nil
		}
		m.applyPage(msg)
	case countMsg:
		if msg.owner != m.owner || msg.gen != m.gen {
			return m, nil
		}
		m.countErr = msg.err
		if msg.err == nil {
			m.total, m.totalKnown = msg.n, true
		}
	case tea.KeyMsg:
		user = true
		cmd = m.handleKey(msg.String())
	}
	if cmd != nil {
		return m, cmd
	}
	return m, m.prefetch(user)
}

func (m *Model) handleKey(k string) tea.Cmd {
	body := max(m.bodyHeight(), 1)
	switch {
	case matches(k, m.keys.Down):
		m.move(1)
	case matches(k, m.keys.Up):
		m.move(-1)
	case matches(k, m.keys.PageDown):
		m.scroll(body)
	case matches(k, m.keys.PageUp):
		m.scroll(-body)
	case matches(k, m.keys.HalfDown):
		m.scroll(max(body/2, 1))
	case matches(k, m.keys.HalfUp):
		m.scroll(-max(body/2, 1))
	case matches(k, m.keys.Top):
		return m.jump(opTop)
	case matches(k, m.keys.Bottom):
		return m.jump(opBottom)
	}
	return nil
}

// jump goes to the first or last row: locally if the window already holds
// it, else by replacing the window.
func (m *Model) jump(op fetchOp) tea.Cmd {
	if m.src == nil {
		return nil
	}
	if m.loaded && !m.jumping && len(m.rows) > 0 {
		if op == opTop && m.atStart {
			m.pending = 0
			m.cursor, m.offset = 0, 0
			return nil
		}
		if op == opBottom && m.atEnd {
			m.pending = 0
			m.cursor = len(m.rows) - 1
			m.clampView()
			return nil
		}
	}
	// While a new source's first page is on its way this supersedes it.
	m.err = nil
	return m.replace(op, "")
}

// move moves the cursor by d rows. Moves past the loaded edge are kept in
// pending and finished when the next page arrives.
func (m *Model) move(d int) {
	if len(m.rows) == 0 || d == 0 {
		return
	}
	if m.pending != 0 && (d > 0) != (m.pending > 0) {
		m.pending = 0 // reversing cancels the wait
	}
	t := m.cursor + d
	canWait := m.loaded && !m.jumping && m.src != nil
	if last := len(m.rows) - 1; t > last {
		if canWait && !m.atEnd {
			m.pending = min(m.pending+t-last, m.maxRows())
		}
		t = last
	}
	if t < 0 {
		if canWait && !m.atStart {
			m.pending = max(m.pending+t, -m.maxRows())
		}
		t = 0
	}
	m.cursor = t
	m.clampView()
}

// scroll moves cursor and viewport together by d rows (page keys), so the
// cursor keeps its screen line, as in less.
func (m *Model) scroll(d int) {
	m.offset += d
	m.move(d)
}

// clampView keeps the cursor on screen and, at the end of the data, the
// screen full.
func (m *Model) clampView() {
	body := max(m.bodyHeight(), 1)
	if m.atEnd && !m.jumping {
		m.offset = min(m.offset, len(m.rows)-body)
	}
	m.offset = max(min(m.offset, m.cursor), m.cursor-body+1, 0)
}

// prefetch starts page fetches the cursor is about to need. After a failed
// fetch it only retries on a keypress (user), so an erroring source is not
// hammered by a retry per reply.
func (m *Model) prefetch(user bool) tea.Cmd {
	if !m.loaded || m.jumping || m.src == nil || len(m.rows) == 0 || (m.err != nil && !user) {
		return nil
	}
	var cmds []tea.Cmd
	t, body := m.threshold(), m.bodyHeight()
	last := len(m.rows) - 1
	if !m.atEnd && !m.fwdBusy && (last-m.cursor < t || m.pending > 0 || m.offset+body > len(m.rows)) {
		cmds = append(cmds, m.extend(opAppend))
	}
	if !m.atStart && !m.backBusy && (m.cursor < t || m.pending < 0) {
		cmds = append(cmds, m.extend(opPrepend))
	}
	if len(cmds) > 0 && user {
		m.err = nil
	}
	return tea.Batch(cmds...)
}

// applyPage merges a current reply into the window.
func (m *Model) applyPage(msg pageMsg) {
	wasLoaded := m.loaded
	switch msg.op {
	case opAppend:
		m.fwdBusy = false
	case opPrepend:
		m.backBusy = false
	default:
		m.jumping = false
		m.loaded = true
	}
	if msg.err != nil {
		m.err = msg.err
		m.pending = 0
		// A failed g, G or Reload leaves the current rows, which are still
		// right; a failed new source must not show the old source's rows.
		if !wasLoaded {
			m.rows, m.cursor, m.offset = nil, 0, 0
			m.atStart, m.atEnd = true, true
		}
		return
	}
	m.err = nil
	switch msg.op {
	case opTop, opBottom, opAround:
		m.replaceWindow(msg)
	case opAppend:
		m.appendRows(msg)
	case opPrepend:
		m.prependRows(msg)
	}
}

func indexOf(rows []row, id string) int {
	if id == "" {
		return -1
	}
	for i := range rows {
		if rows[i].ID == id {
			return i
		}
	}
	return -1
}

func (m *Model) replaceWindow(msg pageMsg) {
	oldRows, oldCursor, oldOffset := m.rows, m.cursor, m.offset
	if msg.op != opAround {
		m.posUnknown = false
	} else if msg.jump {
		m.posUnknown = true
	}
	oldFromEnd, oldGap := m.fromEnd, m.gap
	rows := msg.rows
	m.rows = rows
	m.pending = 0
	switch msg.op {
	case opTop:
		m.atStart, m.atEnd = true, len(rows) < msg.n
		m.gap, m.fromEnd = 0, false
		m.cursor, m.offset = 0, 0
		if i := indexOf(rows, msg.keepID); i >= 0 {
			m.cursor = i
			m.offset = i - (oldCursor - oldOffset)
		}
	case opBottom:
		m.atStart, m.atEnd = len(rows) < msg.n, true
		m.gap, m.fromEnd = 0, !m.atStart
		m.cursor = max(len(rows)-1, 0)
		m.offset = len(rows)
	case opAround:
		m.atStart, m.atEnd = msg.short, msg.shortFwd
		// Prefer the row the cursor is on now (the user may have moved
		// while the reload ran), then the one it was on when asked.
		i := -1
		if msg.jump {
			i = indexOf(rows, msg.keepID)
		} else if oldCursor < len(oldRows) {
			i = indexOf(rows, oldRows[oldCursor].ID)
		}
		if i < 0 {
			i = indexOf(rows, msg.keepID)
		}
		if i < 0 {
			i = min(msg.before, len(rows)-1)
		}
		m.cursor = max(i, 0)
		m.offset = m.cursor - (oldCursor - oldOffset)
		// Keep the cursor's absolute position as it was counted.
		switch {
		case m.atStart:
			m.gap, m.fromEnd, m.posUnknown = 0, false, false
		case m.atEnd:
			m.gap, m.fromEnd, m.posUnknown = 0, true, false
		case m.posUnknown:
		case !oldFromEnd:
			m.gap = max(oldGap+oldCursor-m.cursor, 0)
		default:
			m.gap = max(oldGap+(len(oldRows)-oldCursor)-(len(rows)-m.cursor), 0)
		}
	}
	if m.atStart && m.fromEnd {
		m.gap, m.fromEnd = 0, false
	}
	m.clampView()
}

func (m *Model) appendRows(msg pageMsg) {
	if len(m.rows) == 0 || m.rows[len(m.rows)-1].ID != msg.anchorID {
		return // the window's tail changed since this page was asked for
	}
	m.atEnd = len(msg.rows) < msg.n
	// Trim the head to the window cap, never past the first visible row.
	// If the cursor moved back while this page was on its way, the head
	// may not have enough rows off screen: then keep only the part of the
	// page that fits, so the cap holds whatever order replies come in.
	drop := min(max(len(m.rows)+len(msg.rows)-m.maxRows(), 0), m.offset)
	if room := max(m.maxRows()-(len(m.rows)-drop), 0); len(msg.rows) > room {
		msg.rows = msg.rows[:room]
		m.atEnd = false
	}
	keep := len(m.rows) + len(msg.rows)
	rows := make([]row, 0, keep-drop)
	rows = append(rows, m.rows[drop:]...)
	rows = append(rows, msg.rows...)
	m.rows = rows
	m.cursor -= drop
	m.offset -= drop
	if drop > 0 {
		m.atStart = false
	}
	if m.fromEnd {
		m.gap = max(m.gap-len(msg.rows), 0)
		if m.atEnd {
			m.gap = 0
		}
	} else {
		m.gap += drop
	}
	if m.posUnknown && m.atEnd {
		m.posUnknown, m.fromEnd, m.gap = false, true, 0
	}
	if p := m.pending; p > 0 {
		m.pending = 0
		m.move(p)
	}
	m.clampView()
}

func (m *Model) prependRows(msg pageMsg) {
	if len(m.rows) == 0 || m.rows[0].ID != msg.anchorID {
		return // the window's head changed since this page was asked for
	}
	m.atStart = len(msg.rows) < msg.n
	// Trim the tail to the window cap, never past the last visible row;
	// what still does not fit is cut from the far end of the page.
	visibleEnd := m.offset + max(m.bodyHeight(), 1)
	drop := min(max(len(m.rows)+len(msg.rows)-m.maxRows(), 0), max(len(m.rows)-visibleEnd, 0))
	if room := max(m.maxRows()-(len(m.rows)-drop), 0); len(msg.rows) > room {
		msg.rows = msg.rows[len(msg.rows)-room:]
		m.atStart = false
	}
	k := len(msg.rows)
	total := len(m.rows) + k
	rows := make([]row, 0, total-drop)
	rows = append(rows, msg.rows...)
	rows = append(rows, m.rows[:len(m.rows)-drop]...)
	m.rows = rows
	m.cursor += k
	m.offset += k
	if drop > 0 {
		m.atEnd = false
	}
	if m.fromEnd {
		m.gap += drop
		if m.atStart {
			m.gap, m.fromEnd = 0, false
		}
	} else {
		m.gap = max(m.gap-k, 0)
		if m.atStart {
			m.gap = 0
		}
	}
	if m.posUnknown && m.atStart {
		m.posUnknown, m.fromEnd, m.gap = false, false, 0
	}
	if p := m.pending; p < 0 {
		m.pending = 0
		m.move(p)
	}
	m.clampView()
}
