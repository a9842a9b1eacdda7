package vtable

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// fakeSource is an in-memory keyset source. Rows are identified by an int
// value; the key is that value, ordered ascending, as a store would order by
// (completed_at, id). With vals nil it holds 0..n-1 without materializing
// them, so a 1M-row source costs nothing.
type fakeSource struct {
	mu    sync.Mutex
	n     int
	vals  []int // sorted; overrides n when non-nil
	cells func(v int) []string
	tag   func(v int) string
	err   error

	pages, counts atomic.Int64
	lastN         atomic.Int64
}

type fakeKey struct{ v int } // opaque to the table

func newFake(n int) *fakeSource { return &fakeSource{n: n} }

func (f *fakeSource) len() int {
	if f.vals != nil {
		return len(f.vals)
	}
	return f.n
}

func (f *fakeSource) at(i int) int {
	if f.vals != nil {
		return f.vals[i]
	}
	return i
}

// search returns the first index whose value is >= v.
func (f *fakeSource) search(v int) int {
	return sort.Search(f.len(), func(i int) bool { return f.at(i) >= v })
}

func (f *fakeSource) row(v int) Row {
	cells := []string{"row-" + strconv.Itoa(v), "ERRORED", "job " + strconv.Itoa(v%97)}
	if f.cells != nil {
		cells = f.cells(v)
	}
	r := Row{Key: fakeKey{v}, ID: strconv.Itoa(v), Cells: cells}
	if f.tag != nil {
		r.Style = f.tag(v)
	}
	return r
}

func (f *fakeSource) Page(ctx context.Context, after any, backward bool, n int) ([]Row, error) {
	f.pages.Add(1)
	f.lastN.Store(int64(n))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var lo, hi int
	switch {
	case after == nil && !backward:
		lo, hi = 0, min(n, f.len())
	case after == nil:
		lo, hi = max(f.len()-n, 0), f.len()
	case !backward:
		lo = f.search(after.(fakeKey).v + 1)
		hi = min(lo+n, f.len())
	default:
		hi = f.search(after.(fakeKey).v)
		lo = max(hi-n, 0)
	}
	rows := make([]Row, 0, hi-lo)
	for i := lo; i < hi; i++ {
		rows = append(rows, f.row(f.at(i)))
	}
	return rows, nil
}

func (f *fakeSource) Count(ctx context.Context) (int, error) {
	f.counts.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return 0, f.err
	}
	return f.len(), nil
}

// insert and remove change the data under the table, as a sync would.
func (f *fakeSource) setVals(vals []int) {
	f.mu.Lock()
	f.vals = vals
	f.mu.Unlock()
}

// run executes cmd and feeds its messages back into the model, recursively
// for batches and sequences, synchronously: the deterministic stand-in for
// the bubbletea event loop.
func run(m Model, cmd tea.Cmd) Model {
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg := c()
		if cmds, ok := asCmds(msg); ok {
			queue = append(queue, cmds...)
			continue
		}
		var next tea.Cmd
		m, next = m.Update(msg)
		queue = append(queue, next)
	}
	return m
}

// asCmds unpacks tea.BatchMsg and bubbletea's unexported sequence message.
func asCmds(msg tea.Msg) ([]tea.Cmd, bool) {
	if b, ok := msg.(tea.BatchMsg); ok {
		return b, true
	}
	v := reflect.ValueOf(msg)
	if v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
		out := make([]tea.Cmd, v.Len())
		for i := range out {
			out[i] = v.Index(i).Interface().(tea.Cmd)
		}
		return out, true
	}
	return nil, false
}

// collect runs cmd without delivering anything, returning the messages.
func collect(cmd tea.Cmd) []tea.Msg {
	var out []tea.Msg
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg := c()
		if cmds, ok := asCmds(msg); ok {
			queue = append(queue, cmds...)
			continue
		}
		out = append(out, msg)
	}
	return out
}

func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "ctrl+d":
		return tea.KeyMsg{Type: tea.KeyCtrlD}
	case "ctrl+u":
		return tea.KeyMsg{Type: tea.KeyCtrlU}
	case "home":
		return tea.KeyMsg{Type: tea.KeyHome}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// press sends a key and runs what it asks for.
func press(m Model, k string) Model {
	m, cmd := m.Update(keyMsg(k))
	return run(m, cmd)
}

var testCols = []Column{
	{Title: "ID", Width: 10, SortKey: "id", KeyHint: "1"},
	{Title: "STATE", Width: 8, Min: 4, SortKey: "state", KeyHint: "2"},
	{Title: "MESSAGE", Min: 8},
}

func newTable(t testing.TB, src Source, w, h int) Model {
	t.Helper()
	m := New(testCols, DefaultKeyMap(), DefaultStyles()).SetSize(w, h)
	m, cmd := m.SetSource(src)
	return run(m, cmd)
}

func selectedID(t testing.TB, m Model) int {
	t.Helper()
	r, ok := m.Selected()
	if !ok {
		t.Fatal("no selected row")
	}
	v, err := strconv.Atoi(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var errBoom = errors.New("database is locked\x1b]0;owned\x07")

func ids(n int, f func(i int) int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}
