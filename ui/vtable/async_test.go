package vtable

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// loop is a stand-in for the bubbletea event loop: commands run on their own
// goroutines and their messages come back in whatever order they finish.
type loop struct {
	wg  sync.WaitGroup
	out chan tea.Msg
}

func (l *loop) spawn(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond) // shuffle completion order
		msg := cmd()
		if cmds, ok := asCmds(msg); ok {
			for _, c := range cmds {
				l.spawn(c)
			}
			return
		}
		l.out <- msg
	}()
}

// checkWindow asserts the window is a contiguous run of the source and the
// position matches the row under the cursor.
func checkWindow(t *testing.T, m Model) {
	t.Helper()
	for i := 1; i < len(m.rows); i++ {
		a, _ := strconv.Atoi(m.rows[i-1].ID)
		b, _ := strconv.Atoi(m.rows[i].ID)
		if b != a+1 {
			t.Fatalf("window not contiguous at %d: %d then %d", i, a, b)
		}
	}
	if m.heldRows() > m.maxRows() {
		t.Fatalf("%d rows held", m.heldRows())
	}
	if r, ok := m.Selected(); ok && m.loaded && !m.jumping {
		if p := m.Position(); p >= 0 && strconv.Itoa(p) != r.ID {
			t.Fatalf("position %d but row %s", p, r.ID)
		}
	}
}

func TestAsyncLoop(t *testing.T) {
	src := newFake(50_000)
	l := &loop{out: make(chan tea.Msg, 1024)}
	m := New(testCols, DefaultKeyMap(), DefaultStyles()).SetSize(80, 24)
	m, cmd := m.SetSource(src)
	l.spawn(cmd)
	keys := []string{"j", "j", "j", "pgdown", "k", "ctrl+d", "j", "G", "k", "pgup", "g", "j"}
	for i := range 3000 {
		var k string
		switch {
		case i%500 == 499:
			k = keys[7+rand.IntN(5)] // sometimes jump or page back
		default:
			k = keys[rand.IntN(7)]
		}
		m, cmd = m.Update(keyMsg(k))
		l.spawn(cmd)
		// Deliver whatever has arrived, without waiting.
		for drained := false; !drained; {
			select {
			case msg := <-l.out:
				m, cmd = m.Update(msg)
				l.spawn(cmd)
			default:
				drained = true
			}
		}
		checkWindow(t, m)
		_ = m.View()
	}
	// Let everything land: wait for the goroutines, deliver, repeat until
	// the deliveries start nothing new.
	for {
		l.wg.Wait()
		if len(l.out) == 0 {
			break
		}
		for len(l.out) > 0 {
			m, cmd = m.Update(<-l.out)
			l.spawn(cmd)
			checkWindow(t, m)
		}
	}
	if m.Loading() {
		t.Fatalf("still loading after the loop drained: %s", m.StatusText())
	}
}
