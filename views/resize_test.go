package views

import (
	"math/rand/v2"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/opsdeck/opsdeck/internal/hostile"
	"github.com/opsdeck/opsdeck/ui"
)

// TestResizeStorm opens a deep stack of views over the hostile cache and
// resizes the terminal hundreds of times to random sizes from 20×5 to
// 400×120, popping a view now and then: every frame must be exactly the
// new size and clean.
func TestResizeStorm(t *testing.T) {
	w := newHostileWorld(t)
	root := func(c *Common) ui.View {
		c.Veza, c.Socotra = w.vc, w.sc
		v, err := NewJobs(c, "")
		if err != nil {
			panic(err)
		}
		return v
	}
	h := newHarness(t, w.st, root, 120, 40)
	open := func(line string, keys ...string) {
		h.key(":")
		h.typeText(line)
		h.key("enter")
		h.key(keys...)
	}
	h.key("j", "enter", "E") // job detail, unfolded
	open("events", "j", "enter")
	open("automations", "enter")
	open("socotra", "enter")
	open("failed")
	open("errors", "enter")
	h.send(tea.WindowSizeMsg{Width: 400, Height: 120})
	lines := strings.Split(h.view(), "\n")
	if crumbs := lines[len(lines)-2]; strings.Count(crumbs, "›") < 9 {
		t.Fatalf("the stack is not deep: %s", crumbs)
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for i := range 400 {
		width, height := 20+rng.IntN(381), 5+rng.IntN(116)
		if i%25 == 0 { // the extremes too
			width, height = []int{20, 400}[i/25%2], []int{5, 120}[i/50%2]
		}
		h.send(tea.WindowSizeMsg{Width: width, Height: height})
		frame := h.view()
		if p := frameProblem(frame, width, height); p != "" {
			t.Fatalf("resize %d to %dx%d (%s): %s:\n%s", i, width, height, h.app.Top().Title(), p, frame)
		}
		if f := hostile.Forbidden(frame); f != "" {
			t.Fatalf("resize %d: %s on screen", i, f)
		}
		switch i % 40 {
		case 39:
			h.key("esc")
		case 13:
			h.key("j", "pgdown")
		}
	}
}
