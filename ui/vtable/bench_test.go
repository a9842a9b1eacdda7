package vtable

import (
	"strconv"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// benchCols are 8 columns, about 140 cells wide with the gutter: the shape
// of MEASURED-LIMITS.md §5 (50 visible rows × 8 columns).
var benchCols = []Column{
	{Title: "ID", Width: 12}, {Title: "STATE", Width: 9}, {Title: "JOB", Width: 14},
	{Title: "SOURCE", Width: 12}, {Title: "STARTED", Width: 16}, {Title: "DURATION", Width: 8, Align: lipgloss.Right},
	{Title: "ATTEMPT", Width: 7, Align: lipgloss.Right}, {Title: "MESSAGE", Min: 20},
}

func benchSource(n int) *fakeSource {
	src := newFake(n)
	src.cells = func(v int) []string {
		s := strconv.Itoa(v)
		return []string{"job-" + s, "ERRORED", "nightly-sync-" + strconv.Itoa(v%40), "workday",
			"2026-01-02 03:04", "12.3s", strconv.Itoa(v % 5), "upstream returned 502 Bad Gateway after 3 retries; see payload " + s}
	}
	src.tag = func(v int) string {
		if v%4 == 0 {
			return "ERRORED"
		}
		return ""
	}
	return src
}

// BenchmarkKeypressView is one keypress (j, with any page fetch it triggers
// run synchronously) plus a full View, at 1k and 1M rows: the cost and the
// allocations should not depend on the number of rows.
func BenchmarkKeypressView(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		for _, profile := range []termenv.Profile{termenv.Ascii, termenv.TrueColor} {
			name := strconv.Itoa(n) + "rows/" + map[termenv.Profile]string{termenv.Ascii: "ascii", termenv.TrueColor: "truecolor"}[profile]
			b.Run(name, func(b *testing.B) {
				lipgloss.SetColorProfile(profile)
				defer lipgloss.SetColorProfile(termenv.Ascii)
				styles := DefaultStyles()
				styles.RowTag["ERRORED"] = lipgloss.NewStyle().Foreground(lipgloss.Color("#ff5f5f"))
				m := New(benchCols, DefaultKeyMap(), styles).SetSize(140, 52)
				m, cmd := m.SetSource(benchSource(n))
				m = run(m, cmd)
				down, up := keyMsg("j"), keyMsg("k")
				dir := down
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					// Bounce between the ends so every iteration moves.
					if p := m.Position(); p == n-1 {
						dir = up
					} else if p == 0 {
						dir = down
					}
					var cmd tea.Cmd
					m, cmd = m.Update(dir)
					if cmd != nil {
						m = run(m, cmd)
					}
					_ = m.View()
				}
			})
		}
	}
}

// BenchmarkView is View alone, no keypress.
func BenchmarkView(b *testing.B) {
	m := New(benchCols, DefaultKeyMap(), DefaultStyles()).SetSize(140, 52)
	m, cmd := m.SetSource(benchSource(1_000_000))
	m = run(m, cmd)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}
