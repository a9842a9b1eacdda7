package celltext

import (
	"testing"

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
