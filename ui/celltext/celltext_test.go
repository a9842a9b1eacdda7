package celltext

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

func TestWidthAndCut(t *testing.T) {
	cases := []struct {
		s           string
		max         int
		want        string
		wantW, full int
	}{
		{"hello", 3, "hel", 3, 5},
		{"王芳王芳", 5, "王芳", 4, 8},
		{"José", 10, "José", 4, 4},
		{"e\u0301x", 1, "e\u0301", 1, 2},
		{"abc", 0, "", 0, 3},
	}
	for _, c := range cases {
		if w := Width(c.s); w != c.full || w != ansi.StringWidth(c.s) {
			t.Errorf("Width(%q) = %d, want %d", c.s, w, c.full)
		}
		got, w := Cut(c.s, IsASCII(c.s), c.max)
		if got != c.want || w != c.wantW {
			t.Errorf("Cut(%q, %d) = %q,%d want %q,%d", c.s, c.max, got, w, c.want, c.wantW)
		}
	}
}

// TestStyledWidthAgrees: StyledWidth equals ansi.StringWidth on styled
// ASCII (lipgloss output, hyperlinks), on text it hands over (non-ASCII,
// odd escapes), and on random mixes of both.
func TestStyledWidthAgrees(t *testing.T) {
	bold := lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#ff0000")).Background(lipgloss.Color("4"))
	cases := []string{
		"", "plain", bold.Render("styled") + " tail", "\x1b]8;;https://x.example\x07link\x1b]8;;\x07",
		"\x1b]8;;u\x1b\\st\x1b]8;;\x1b\\", "日本語 " + bold.Render("é"), "emoji ☺️ 1️⃣", "\x1b[", "\x1b", "a\x1bXb",
		"tab\there", "\x1b[38;2;1;2;3mrgb\x1b[0m", "\x1b]0;title", "del\x7f",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	parts := []string{"a", " ", "Z", "\x1b[1m", "\x1b[0m", "\x1b[38;5;12m", "\x1b]8;;x\x07", "é", "\x1b", "[", "m", "\t", "\x07", "│", "…", "⠋", "\u0301", "\ufe0f", "☺", "日", "\u200d", "▲"}
	for range 5000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		cases = append(cases, b.String())
	}
	for _, c := range cases {
		if got, want := StyledWidth(c), ansi.StringWidth(c); got != want {
			t.Fatalf("%q: StyledWidth %d, ansi.StringWidth %d", c, got, want)
		}
	}
}

// TestNarrowRunes: every rune StyledWidth counts as one cell is one cell
// for ansi.StringWidth, alone and between ASCII letters.
func TestNarrowRunes(t *testing.T) {
	n := 0
	for r := rune(0x80); r < 0x30000; r++ {
		if !narrowRune(r) {
			continue
		}
		n++
		for _, s := range []string{string(r), "a" + string(r) + "b", string(r) + string(r)} {
			if got, want := StyledWidth(s), ansi.StringWidth(s); got != want {
				t.Errorf("%U in %q: StyledWidth %d, ansi.StringWidth %d", r, s, got, want)
			}
		}
	}
	if n < 500 {
		t.Fatalf("only %d narrow runes: the fast path covers nothing", n)
	}
}
