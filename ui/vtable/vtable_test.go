package vtable

import (
	"github.com/opsdeck/opsdeck/ui/celltext"

	"context"
	"os"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

func TestMain(m *testing.M) {
	// Pin the colour profile: tests assert on plain text.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

func TestDownVisitsEveryRowOnce(t *testing.T) {
	const n = 100_000
	src := newFake(n)
	m := newTable(t, src, 80, 24)
	if got := selectedID(t, m); got != 0 {
		t.Fatalf("first row = %d", got)
	}
	for want := 1; want < n; want++ {
		m = press(m, "j")
		if got := selectedID(t, m); got != want {
			t.Fatalf("after %d × j: row %d, want %d", want, got, want)
		}
		if m.Position() != want {
			t.Fatalf("position %d, want %d", m.Position(), want)
		}
		if m.heldRows() > m.maxRows() {
			t.Fatalf("holding %d rows, cap %d", m.heldRows(), m.maxRows())
		}
	}
	m = press(m, "j") // at the end: stays
	if got := selectedID(t, m); got != n-1 || m.Loading() {
		t.Fatalf("past the end: row %d loading=%v", got, m.Loading())
	}
	if s := m.StatusText(); s != "row 100,000 of 100,000" {
		t.Fatalf("status %q", s)
	}
	for want := n - 2; want >= n-5000; want-- {
		m = press(m, "k")
		if got := selectedID(t, m); got != want {
			t.Fatalf("k: row %d, want %d", got, want)
		}
	}
	// Page fetches, not row fetches: about one per page of movement.
	if p := src.pages.Load(); p > int64(2*(n+5000)/m.pageSize()) {
		t.Fatalf("%d page fetches for %d moves", p, n+5000)
	}
}

func TestBottomThenUpTopAndPages(t *testing.T) {
	const n = 100_000
	src := newFake(n)
	m := newTable(t, src, 80, 24)
	body := m.bodyHeight()

	m = press(m, "G")
	if got := selectedID(t, m); got != n-1 {
		t.Fatalf("G: row %d", got)
	}
	if p := m.Position(); p != n-1 {
		t.Fatalf("G: position %d", p)
	}
	if !strings.Contains(m.View(), "row-99999") {
		t.Fatal("G: last row not on screen")
	}
	for want := n - 2; want > n-1000; want-- {
		m = press(m, "k")
		if got := selectedID(t, m); got != want || m.Position() != want {
			t.Fatalf("G,k: row %d pos %d, want %d", got, m.Position(), want)
		}
	}
	m = press(m, "g")
	if got := selectedID(t, m); got != 0 || m.Position() != 0 {
		t.Fatalf("g: row %d pos %d", got, m.Position())
	}

	m = press(m, "pgdown")
	if got := selectedID(t, m); got != body {
		t.Fatalf("pgdown: row %d, want %d", got, body)
	}
	if m.cursor-m.offset != 0 {
		t.Fatalf("pgdown moved the cursor off its screen line: %d", m.cursor-m.offset)
	}
	for range 99 {
		m = press(m, "pgdown")
	}
	if got := selectedID(t, m); got != 100*body || m.Position() != 100*body {
		t.Fatalf("100 × pgdown: row %d pos %d", got, m.Position())
	}
	m = press(m, "pgup")
	if got := selectedID(t, m); got != 99*body {
		t.Fatalf("pgup: row %d", got)
	}
	m = press(m, "ctrl+d")
	if got := selectedID(t, m); got != 99*body+body/2 {
		t.Fatalf("ctrl+d: row %d", got)
	}
	m = press(m, "end")
	if got := selectedID(t, m); got != n-1 {
		t.Fatalf("end: row %d", got)
	}
	m = press(m, "home")
	if got := selectedID(t, m); got != 0 {
		t.Fatalf("home: row %d", got)
	}
}

func TestPositionAfterBottomWaitsForCount(t *testing.T) {
	src := newFake(5000)
	m := New(testCols, DefaultKeyMap(), DefaultStyles()).SetSize(80, 24)
	m, cmd := m.SetSource(src)
	// Deliver only the first page, not the count.
	for _, msg := range collect(cmd) {
		if _, ok := msg.(pageMsg); ok {
			m, _ = m.Update(msg)
		}
	}
	m, cmd = m.Update(keyMsg("G"))
	for _, msg := range collect(cmd) {
		m, _ = m.Update(msg)
	}
	if p := m.Position(); p != -1 {
		t.Fatalf("position before count = %d, want -1 (unknown)", p)
	}
	if s := m.StatusText(); s != "row ? of ?" {
		t.Fatalf("status %q", s)
	}
	m, _ = m.Update(countMsg{owner: m.owner, gen: m.gen, n: 5000})
	if p := m.Position(); p != 4999 {
		t.Fatalf("position = %d", p)
	}
}

func TestStaleRepliesDropped(t *testing.T) {
	a, b := newFake(1000), newFake(1000)
	a.cells = func(v int) []string { return []string{"A" + strings.Repeat("a", v%3)} }
	b.cells = func(v int) []string { return []string{"B"} }
	m := New(testCols, DefaultKeyMap(), DefaultStyles()).SetSize(80, 24)
	m, cmdA := m.SetSource(a)
	m, cmdB := m.SetSource(b)
	msgsA, msgsB := collect(cmdA), collect(cmdB)
	for _, msg := range msgsB {
		m, _ = m.Update(msg)
	}
	for _, msg := range msgsA { // the older source answers last
		m, _ = m.Update(msg)
	}
	r, _ := m.Selected()
	if r.Cells[0] != "B" {
		t.Fatalf("stale reply applied: %q", r.Cells[0])
	}

	// A reply addressed to another table is ignored, even with equal seqs.
	other := New(testCols, DefaultKeyMap(), DefaultStyles()).SetSize(80, 24)
	other, cmd := other.SetSource(a)
	for _, msg := range collect(cmd) {
		if m.Owns(msg) {
			t.Fatal("Owns: claims another table's reply")
		}
		m, _ = m.Update(msg)
	}
	if r, _ := m.Selected(); r.Cells[0] != "B" {
		t.Fatal("another table's reply applied")
	}
	_ = other

	// A jump replaces the window; a prefetch for the old window is dropped.
	m = newTable(t, newFake(100_000), 80, 24)
	for range m.maxRows() / 2 {
		m, cmd = m.Update(keyMsg("j"))
		if cmd != nil {
			break
		}
	}
	if cmd == nil {
		t.Fatal("no prefetch issued")
	}
	stale := collect(cmd)
	m = press(m, "G")
	for _, msg := range stale {
		m, _ = m.Update(msg)
	}
	if got := selectedID(t, m); got != 99_999 {
		t.Fatalf("stale prefetch disturbed G: row %d", got)
	}
}

func TestPendingMovesFinishWhenPageArrives(t *testing.T) {
	src := newFake(10_000)
	m := newTable(t, src, 80, 12)
	loaded := m.heldRows()
	var inflight []tea.Msg
	// Hold j down with the source stalled: the cursor stops at the edge.
	for range loaded + 5 {
		var cmd tea.Cmd
		m, cmd = m.Update(keyMsg("j"))
		inflight = append(inflight, collect(cmd)...)
	}
	if got := selectedID(t, m); got != loaded-1 {
		t.Fatalf("cursor at %d, want edge %d", got, loaded-1)
	}
	if !m.Loading() || !strings.Contains(m.StatusText(), "loading") {
		t.Fatalf("not loading at the edge: %q", m.StatusText())
	}
	if len(inflight) != 1 {
		t.Fatalf("%d fetches in flight, want 1", len(inflight))
	}
	for _, msg := range inflight {
		m = run(m, func() tea.Msg { return msg })
	}
	if got := selectedID(t, m); got != loaded+5 {
		t.Fatalf("after the page: row %d, want %d", got, loaded+5)
	}
	if m.Loading() {
		t.Fatal("still loading")
	}
}

func TestMemoryBound(t *testing.T) {
	for _, size := range [][2]int{{40, 10}, {80, 24}, {160, 48}} {
		m := newTable(t, newFake(1_000_000), size[0], size[1])
		limit := m.maxRows()
		for i := range 10_000 {
			k := "j"
			if i%7 == 6 {
				k = "k"
			}
			m = press(m, k)
			if m.heldRows() > limit {
				t.Fatalf("%v: %d rows held after %d moves, cap %d", size, m.heldRows(), i, limit)
			}
		}
		for range 50 {
			m = press(m, "pgdown")
			if m.heldRows() > limit {
				t.Fatalf("%v: %d rows held, cap %d", size, m.heldRows(), limit)
			}
		}
	}
}

func TestReloadKeepsCursor(t *testing.T) {
	src := newFake(0)
	src.setVals(ids(1000, func(i int) int { return i * 10 }))
	m := newTable(t, src, 80, 24)
	for range 500 {
		m = press(m, "j")
	}
	if got := selectedID(t, m); got != 5000 {
		t.Fatalf("setup: row %d", got)
	}
	line := m.cursor - m.offset

	// A sync inserts rows above and below the cursor.
	vals := ids(1000, func(i int) int { return i * 10 })
	vals = append(vals, 4995, 4996, 5005)
	slices.Sort(vals)
	src.setVals(vals)
	m, cmd := m.Reload()
	m = run(m, cmd)
	if got := selectedID(t, m); got != 5000 {
		t.Fatalf("reload: row %d, want 5000", got)
	}
	if m.cursor-m.offset != line {
		t.Fatalf("reload moved the cursor's screen line %d -> %d", line, m.cursor-m.offset)
	}
	if n, ok := m.Total(); !ok || n != 1003 {
		t.Fatalf("total %d %v", n, ok)
	}
	m = press(m, "j")
	if got := selectedID(t, m); got != 5005 {
		t.Fatalf("j after reload: row %d", got)
	}

	// The cursor row is deleted: the row that took its place is selected.
	vals = removeInt(vals, 5005)
	src.setVals(vals)
	m, cmd = m.Reload()
	m = run(m, cmd)
	if got := selectedID(t, m); got != 5010 {
		t.Fatalf("reload after delete: row %d, want 5010", got)
	}
}

func TestSetSourceKeepsSelectedID(t *testing.T) {
	m := newTable(t, newFake(1000), 80, 24)
	for range 5 {
		m = press(m, "j")
	}
	narrower := newFake(0)
	narrower.setVals([]int{1, 3, 5, 7})
	m, cmd := m.SetSource(narrower)
	if !m.Loading() {
		t.Fatal("not loading after SetSource")
	}
	if got := selectedID(t, m); got != 5 {
		t.Fatalf("old rows should stay until the new page: %d", got)
	}
	m = run(m, cmd)
	if got := selectedID(t, m); got != 5 || m.Position() != 2 {
		t.Fatalf("kept row %d at %d, want 5 at 2", got, m.Position())
	}
	if s := m.StatusText(); s != "row 3 of 4" {
		t.Fatalf("status %q", s)
	}
	gone := newFake(0)
	gone.setVals([]int{2, 4})
	m, cmd = m.SetSource(gone)
	m = run(m, cmd)
	if got := selectedID(t, m); got != 2 {
		t.Fatalf("missing ID should reset to the top, got %d", got)
	}
}

func TestCallCounts(t *testing.T) {
	src := newFake(30)
	m := newTable(t, src, 80, 24)
	if c, p := src.counts.Load(), src.pages.Load(); c != 1 || p != 1 {
		t.Fatalf("SetSource: %d counts, %d pages", c, p)
	}
	// 30 rows fit in the first page: G, g and j never touch the source.
	for _, k := range []string{"G", "g", "j", "j", "k", "pgdown", "G"} {
		m = press(m, k)
	}
	if p := src.pages.Load(); p != 1 {
		t.Fatalf("%d page calls for a fully loaded source", p)
	}
	if got := selectedID(t, m); got != 29 {
		t.Fatalf("row %d", got)
	}
	if n := src.lastN.Load(); n != int64(2*m.pageSize()) {
		t.Fatalf("first page asked for %d rows", n)
	}
}

func TestEmptyAndError(t *testing.T) {
	m := newTable(t, newFake(0), 40, 10)
	v := m.View()
	checkView(t, v, 40, 10)
	if !strings.Contains(v, "no rows match") || m.StatusText() != "0 rows" {
		t.Fatalf("empty view:\n%s\nstatus %q", v, m.StatusText())
	}
	lines := strings.Split(v, "\n")
	mid := lines[1+(m.bodyHeight()-1)/2]
	if !strings.HasPrefix(mid, "          ") {
		t.Fatalf("message not centered: %q", mid)
	}

	bad := newFake(10)
	bad.err = errBoom
	m = newTable(t, bad, 40, 10)
	v = m.View()
	checkView(t, v, 40, 10)
	if !strings.Contains(v, "database is locked") || strings.Contains(v, "owned") {
		t.Fatalf("error view:\n%s", v)
	}
	if m.Err() == nil {
		t.Fatal("Err() nil")
	}
	// Retrying after the source recovers.
	bad.mu.Lock()
	bad.err = nil
	bad.mu.Unlock()
	m, cmd := m.Reload()
	m = run(m, cmd)
	if m.Err() != nil || selectedID(t, m) != 0 {
		t.Fatalf("reload after error: %v", m.Err())
	}

	// A failing prefetch keeps the rows and reports at the edge.
	src := newFake(10_000)
	m = newTable(t, src, 80, 12)
	src.mu.Lock()
	src.err = errBoom
	src.mu.Unlock()
	before := src.pages.Load()
	for range m.heldRows() + 3 {
		m = press(m, "j")
	}
	if m.Err() == nil || !strings.Contains(m.View(), "error: database is locked") {
		t.Fatalf("prefetch error not shown:\n%s", m.View())
	}
	if calls := src.pages.Load() - before; calls > int64(m.heldRows()) {
		t.Fatalf("%d retries", calls)
	}
	src.mu.Lock()
	src.err = nil
	src.mu.Unlock()
	m = press(m, "j")
	if m.Err() != nil {
		t.Fatalf("no retry on keypress: %v", m.Err())
	}
}

func TestSourcePanicIsAnError(t *testing.T) {
	m := New(testCols, DefaultKeyMap(), DefaultStyles()).SetSize(80, 24)
	m, cmd := m.SetSource(panicSource{})
	m = run(m, cmd)
	if m.Err() == nil || !strings.Contains(m.View(), "panicked") {
		t.Fatalf("panic not reported: %v", m.Err())
	}
}

type panicSource struct{ Source }

func (panicSource) Page(ctx context.Context, after any, backward bool, n int) ([]Row, error) {
	panic("boom")
}
func (panicSource) Count(ctx context.Context) (int, error) { return 0, nil }

func TestViewDimensions(t *testing.T) {
	src := newFake(100_000)
	src.cells = hostileCells
	src.tag = func(v int) string {
		if v%3 == 0 {
			return "ERRORED"
		}
		return ""
	}
	styles := DefaultStyles()
	styles.RowTag["ERRORED"] = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	for _, size := range [][2]int{{40, 10}, {80, 24}, {160, 48}} {
		w, h := size[0], size[1]
		m := New(testCols, DefaultKeyMap(), styles).SetSize(w, h).SetSort("state", true)
		m, cmd := m.SetSource(src)
		m = run(m, cmd)
		for i, k := range []string{"", "j", "pgdown", "G", "k", "g"} {
			if k != "" {
				m = press(m, k)
			}
			v := m.View()
			checkView(t, v, w, h)
			if strings.ContainsAny(v, "\x1b\u009b\u202e\u200b\x07") {
				t.Fatalf("%dx%d step %d: control or bidi character in view:\n%q", w, h, i, v)
			}
		}
		v := m.View()
		if !strings.Contains(v, "2:STATE▼") && w >= 80 {
			t.Fatalf("%dx%d: no sort mark in header:\n%s", w, h, v)
		}
		if !strings.Contains(v, "❯") {
			t.Fatalf("%dx%d: no cursor mark:\n%s", w, h, v)
		}
	}
}

// hostileCells mixes escape sequences, wide and combining text into cells.
func hostileCells(v int) []string {
	return []string{
		"id-" + string(rune('0'+v%10)) + "\x1b[2J\x1b]0;owned\x07",
		[]string{"ERRORED", "日本語テキスト", "☺️☺️☺️☺️☺️", "e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301"}[v%4],
		"msg \x1b]52;c;ZXZpbA==\x07\u202egnp.exe\u200b " + strings.Repeat("wide 漢字 and emoji 😀 ", 5) + "\nline2\x1b[201~",
	}
}

func TestWidthNeverExceeded(t *testing.T) {
	src := newFake(500)
	src.cells = hostileCells
	cols := append(testCols, Column{Title: "AGE", Width: 6, Align: lipgloss.Right},
		Column{Title: "WHO", Min: 10, Align: lipgloss.Center})
	m := New(cols, DefaultKeyMap(), DefaultStyles()).SetSize(80, 24)
	m, cmd := m.SetSource(src)
	m = run(m, cmd)
	m = press(m, "j")
	for w := 0; w <= 120; w++ {
		for _, h := range []int{0, 1, 2, 3, 5, 24} {
			sized := m.SetSize(w, h)
			checkView(t, sized.View(), w, h)
			checkView(t, press(sized, "j").View(), w, h)
		}
	}
	// A model that was never sized or given a source.
	checkView(t, New(cols, DefaultKeyMap(), DefaultStyles()).View(), 0, 0)
}

func TestLayout(t *testing.T) {
	cols := []Column{
		{Title: "A", Width: 10, Min: 4},
		{Title: "B", Width: 8},
		{Title: "C", Min: 12},
		{Title: "D", Min: 4},
	}
	cases := []struct {
		w    int
		want []int
	}{
		{80, []int{10, 8, 30, 29}}, // flexible columns share the rest
		{40, []int{10, 8, 12, 7}},  // the wide Min is honoured, the other takes the rest
		{33, []int{6, 8, 12, 4}},   // the fixed column shrinks towards its Min
		{30, []int{8, 8, 12}},      // then columns drop from the right
		{12, []int{10}},            // down to the first
		{3, []int{3}},              // which takes whatever is left
	}
	for _, tc := range cases {
		l := computeLayout(cols, tc.w, 0)
		var got []int
		for _, c := range l.cols {
			got = append(got, c.width)
		}
		if !slices.Equal(got, tc.want) || l.used > tc.w {
			t.Errorf("w=%d: widths %v (used %d), want %v", tc.w, got, l.used, tc.want)
		}
	}
}

func TestCellTruncation(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  string
	}{
		{"hello", 8, "hello   "},
		{"hello world", 8, "hello w…"},
		{"日本語テキスト", 8, "日本語… "},
		{"☺️☺️☺️☺️", 5, "☺️☺️…"},
		{"☺️☺️☺️☺️", 6, "☺️☺️… "}, // a wide cluster does not fit in the last cell
		{"e\u0301e\u0301e\u0301", 2, "e\u0301…"},
		{"abc", 1, "…"},
		{"日本", 1, "…"},
	} {
		var b strings.Builder
		s := sanitizeCell(tc.in)
		writeCell(&b, cell{text: s, width: celltext.Width(s), ascii: celltext.IsASCII(s)}, tc.width, lipgloss.Left, "", 0, 1)
		if b.String() != tc.want || ansi.StringWidth(b.String()) != tc.width {
			t.Errorf("writeCell(%q, %d) = %q (%d cells), want %q", tc.in, tc.width, b.String(), ansi.StringWidth(b.String()), tc.want)
		}
	}
}

func checkView(t *testing.T, v string, w, h int) {
	t.Helper()
	if h == 0 {
		if v != "" {
			t.Fatalf("%dx%d: non-empty view %q", w, h, v)
		}
		return
	}
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Fatalf("%dx%d: %d lines:\n%s", w, h, len(lines), v)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Fatalf("%dx%d: line %d is %d wide: %q", w, h, i, lw, l)
		}
	}
}

func removeInt(v []int, x int) []int {
	return slices.DeleteFunc(slices.Clone(v), func(y int) bool { return y == x })
}

func TestReloadDuringJump(t *testing.T) {
	src := newFake(10_000)
	m := newTable(t, src, 80, 24)
	m, jump := m.Update(keyMsg("G"))
	m, reload := m.Reload() // a sync lands while G is in flight
	m = run(m, jump)        // the G reply is stale now
	m = run(m, reload)
	if got := selectedID(t, m); got != 9_999 {
		t.Fatalf("G lost to a reload: row %d", got)
	}
}

func TestReloadOnFirstRowFollowsHead(t *testing.T) {
	src := newFake(0)
	src.setVals(ids(100, func(i int) int { return 1000 + i }))
	m := newTable(t, src, 80, 24)
	if got := selectedID(t, m); got != 1000 {
		t.Fatalf("setup: row %d", got)
	}
	// New rows arrive ahead of the first row (newest-first list, sync).
	src.setVals(append(ids(5, func(i int) int { return 990 + i }), ids(100, func(i int) int { return 1000 + i })...))
	m, cmd := m.Reload()
	m = run(m, cmd)
	if got := selectedID(t, m); got != 990 {
		t.Fatalf("cursor on the first row must stay on the first row: got %d, want 990", got)
	}
	// Away from the head, the cursor keeps its row.
	m = press(m, "j")
	m = press(m, "j")
	src.setVals(append(ids(5, func(i int) int { return 980 + i }), src.vals...))
	m, cmd = m.Reload()
	m = run(m, cmd)
	if got := selectedID(t, m); got != 992 {
		t.Fatalf("reload away from the head: row %d, want 992", got)
	}
}

func TestJumpToMiddleThenReachStart(t *testing.T) {
	src := newFake(10_000)
	m := New(testCols, DefaultKeyMap(), DefaultStyles()).SetSize(80, 24)
	m, cmd := m.SetSource(src)
	m = run(m, cmd)
	// Jump to row 5,000 by its key, as a "next unacked" search would.
	rows, err := src.Page(context.Background(), nil, false, 5001)
	if err != nil {
		t.Fatal(err)
	}
	target := rows[5000]
	m, cmd = m.JumpTo(target.Key, target.ID)
	m = run(m, cmd)
	if r, ok := m.Selected(); !ok || r.ID != target.ID {
		t.Fatalf("cursor on %v, want %s", r.ID, target.ID)
	}
	if p := m.Position(); p != -1 {
		t.Fatalf("position after a jump should be unknown, got %d", p)
	}
	if !strings.Contains(m.StatusText(), "row ? of 10,000") {
		t.Fatalf("status %q", m.StatusText())
	}
	// g goes to the top: the position is known again.
	m, cmd = m.Update(keyMsg("g"))
	m = run(m, cmd)
	if p := m.Position(); p != 0 {
		t.Fatalf("after g position %d", p)
	}
}
