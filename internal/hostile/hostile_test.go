package hostile_test

import (
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/hostile"
	"github.com/opsdeck/opsdeck/ui/jsontree"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

func TestCorpusIsHostile(t *testing.T) {
	cs := hostile.Cases()
	if len(cs) < 20 {
		t.Fatalf("corpus has %d cases", len(cs))
	}
	dirty := 0
	for _, c := range cs {
		if hostile.Forbidden(c.Value) != "" {
			dirty++
		}
	}
	// Every case but the harmless-looking ones (wide characters, huge
	// number, tabs, zero-width) must trip the detector, or the detector
	// is too weak to prove anything.
	if dirty < len(cs)-5 {
		t.Fatalf("only %d of %d cases are detected as forbidden", dirty, len(cs))
	}
}

func TestSanitizerNeutralisesEveryCase(t *testing.T) {
	for _, c := range hostile.Cases() {
		for name, f := range map[string]func(string) string{"Line": sanitize.Line, "Text": sanitize.Text} {
			out := f(c.Value)
			if name == "Text" {
				out = strings.ReplaceAll(out, "\t", " ") // Text keeps tabs by contract; renderers expand them
			}
			if why := hostile.Forbidden(out); why != "" {
				t.Errorf("%s(%s) still holds a %s: %q", name, c.Name, why, trunc(out))
			}
			if name == "Line" && strings.Contains(out, "\n") {
				t.Errorf("Line(%s) kept a newline", c.Name)
			}
		}
	}
}

func TestJSONTreeSurvivesExtremes(t *testing.T) {
	docs := []string{
		hostile.DeepJSON(10_000),
		`{"n":[` + strings.Join(hostile.HugeNumbers, ",") + `]}`,
		`{"s":"` + strings.Repeat("x", 1<<20) + `"}`,
	}
	for i, d := range docs {
		m := jsontree.New(jsontree.DefaultKeyMap(), jsontree.DefaultStyles()).SetSize(80, 24)
		m = m.SetDocs(jsontree.Doc{Title: "doc", JSON: []byte(d)})
		v := m.View()
		if why := hostile.Forbidden(v); why != "" {
			t.Fatalf("doc %d: view holds a %s", i, why)
		}
		if n := strings.Count(v, "\n"); n > 23 {
			t.Fatalf("doc %d: view is %d lines", i, n+1)
		}
	}
}

func TestPickIsDeterministic(t *testing.T) {
	if hostile.Pick("abc", false) != hostile.Pick("abc", false) {
		t.Fatal("Pick is not deterministic")
	}
	seen := map[string]bool{}
	for i := range 2000 {
		seen[hostile.Pick(strings.Repeat("k", i%50)+string(rune('a'+i%26)), false).Name] = true
	}
	if len(seen) < 10 {
		t.Fatalf("Pick only reaches %d cases", len(seen))
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
