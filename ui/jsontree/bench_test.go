package jsontree

import (
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func BenchmarkParse1MB(b *testing.B) {
	doc := bigDoc(1 << 20)
	m := New(DefaultKeyMap(), DefaultStyles()).SetSize(160, 48)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		m = m.SetDocs(Doc{Title: "result", JSON: doc})
	}
	b.ReportMetric(float64(len(m.t.nodes)), "nodes")
}

// BenchmarkView1MB renders a 160×48 window into a 1 MB payload, mid-document
// and with a search set, in the ASCII and truecolor profiles.
func BenchmarkView1MB(b *testing.B) {
	doc := bigDoc(1 << 20)
	for _, p := range []struct {
		name    string
		profile termenv.Profile
	}{{"ascii", termenv.Ascii}, {"truecolor", termenv.TrueColor}} {
		b.Run(p.name, func(b *testing.B) {
			lipgloss.SetColorProfile(p.profile)
			defer lipgloss.SetColorProfile(termenv.Ascii)
			m := New(DefaultKeyMap(), DefaultStyles()).SetSize(160, 48).
				SetDocs(Doc{Title: "request", JSON: []byte(sample)}, Doc{Title: "result", JSON: doc})
			m = press(m, "/", "a", "n", "n", " ", "4", "2", "enter")
			for range 3 {
				m = press(m, "n")
			}
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkKeypressView1MB is j plus View, the cost of one keypress.
func BenchmarkKeypressView1MB(b *testing.B) {
	m := New(DefaultKeyMap(), DefaultStyles()).SetSize(160, 48).SetDocs(Doc{Title: "result", JSON: bigDoc(1 << 20)})
	down, up := keyMsg("j"), keyMsg("k")
	dir := down
	b.ReportAllocs()
	for b.Loop() {
		if l := m.line(); l == m.lineCount()-1 {
			dir = up
		} else if l == 0 {
			dir = down
		}
		m, _ = m.Update(dir)
		_ = m.View()
	}
}

// BenchmarkSearch1MB is one search over the whole 1 MB document.
func BenchmarkSearch1MB(b *testing.B) {
	m := New(DefaultKeyMap(), DefaultStyles()).SetSize(160, 48).SetDocs(Doc{Title: "result", JSON: bigDoc(1 << 20)})
	m.query = "ann 42"
	b.ReportAllocs()
	for b.Loop() {
		m.runSearch()
	}
	b.ReportMetric(float64(len(m.matches)), "matches")
}

// BenchmarkToggleFold1MB is e on the root and back: two refolds of ~50k nodes.
func BenchmarkToggleFold1MB(b *testing.B) {
	m := New(DefaultKeyMap(), DefaultStyles()).SetSize(160, 48).SetDocs(Doc{Title: "result", JSON: bigDoc(1 << 20)})
	e := keyMsg("e")
	b.ReportAllocs()
	for b.Loop() {
		m, _ = m.Update(e)
	}
}
