package views

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/ui"
)

// TestColourProfilesAndThemes renders the jobs list and a job detail in
// every colour profile (none, 16 colours, 256, truecolour) and theme (dark,
// light, NO_COLOR): every frame is exactly the terminal's size once the
// styling is stripped, the selected row is visible without colour, and
// only SGR sequences (no cursor moves, no OSC) are emitted.
func TestColourProfilesAndThemes(t *testing.T) {
	st := lcmStore(t, 120)
	profiles := map[string]termenv.Profile{"ascii": termenv.Ascii, "ansi16": termenv.ANSI, "ansi256": termenv.ANSI256, "truecolor": termenv.TrueColor}
	for pname, prof := range profiles {
		for _, mode := range []string{ui.ThemeDark, ui.ThemeLight, ui.ThemeNone} {
			t.Run(pname+"/"+mode, func(t *testing.T) {
				r := lipgloss.NewRenderer(os.Stdout)
				r.SetColorProfile(prof)
				th := ui.NewThemeMode(r, mode)
				now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
				c := &Common{Theme: th, Keys: keymap.Default(), Store: st, Now: func() time.Time { return now }, Loc: time.UTC,
					Copy: func(string) error { return nil }, Timer: noTimer}
				root, err := NewJobs(c, "")
				if err != nil {
					t.Fatal(err)
				}
				h := &harness{t: t, common: c}
				h.app = ui.NewApp(th, c.Keys, root, Commands(c))
				h.app.Timer = noTimer
				h.run(h.app.Init())
				h.send(tea.WindowSizeMsg{Width: 100, Height: 30})
				for _, step := range []string{"", "enter"} {
					if step != "" {
						h.key(step)
					}
					frame := h.view()
					checkStyled(t, frame, 100, 30)
					plain := ansi.Strip(frame)
					if !strings.Contains(plain, "❯") && step == "" {
						t.Fatalf("no cursor mark without colour:\n%s", plain)
					}
				}
			})
		}
	}
}

// checkStyled: like checkFrame, but the frame may carry SGR styling; it
// must carry nothing else.
func checkStyled(t *testing.T, frame string, w, hgt int) {
	t.Helper()
	for i := 0; i < len(frame); i++ {
		if frame[i] != 0x1b {
			continue
		}
		j := i + 1
		if j >= len(frame) || frame[j] != '[' {
			t.Fatalf("non-CSI escape at byte %d: %q", i, frame[i:min(i+12, len(frame))])
		}
		for j++; j < len(frame) && (frame[j] >= '0' && frame[j] <= '9' || frame[j] == ';' || frame[j] == ':'); j++ {
		}
		if j >= len(frame) || frame[j] != 'm' {
			t.Fatalf("escape other than SGR at byte %d: %q", i, frame[i:min(j+1, len(frame))])
		}
	}
	checkFrame(t, ansi.Strip(frame), w, hgt)
}

// TestWideCharactersStayAligned: CJK names and emoji (two cells each) must
// not shift the columns after them.
func TestWideCharactersStayAligned(t *testing.T) {
	st := lcmStore(t, 60)
	j, err := st.Job(context.Background(), "00000000-0000-4000-8000-000000000059")
	if err != nil {
		t.Fatal(err)
	}
	j.IdentityName = "😀 Émoji 名前"
	if _, err := st.WriteJobs(context.Background(), []store.JobRow{j}, nil); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, st, jobsRoot(""), 140, 40)
	lines := strings.Split(h.view(), "\n")
	col := -1 // display column where the ACTION TYPE cell starts
	for _, l := range lines {
		for _, typ := range types {
			i := strings.Index(l, typ)
			if i < 0 {
				continue
			}
			at := ansi.StringWidth(l[:i])
			if col == -1 {
				col = at
			}
			if at != col {
				t.Fatalf("column shifted to %d (want %d) on a row with wide characters:\n%s", at, col, strings.Join(lines, "\n"))
			}
		}
	}
	if col < 0 {
		t.Fatal("no action type on screen")
	}
	found := false
	for _, l := range lines {
		if strings.Contains(l, "王芳") && strings.Contains(strings.Join(lines, "\n"), "😀 Émoji 名前") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the CJK and emoji names are not on screen:\n%s", strings.Join(lines, "\n"))
	}
}
