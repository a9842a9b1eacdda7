package jsontree

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s changed (go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestGoldenViews(t *testing.T) {
	docs := []Doc{
		{Title: "request", JSON: []byte(sample)},
		{Title: "result", JSON: []byte(`{"status": "ERRORED", "error": {"code": 502, "message": "bad gateway\n\u001b[31mretry\u001b[0m"}, "data": [`)},
	}
	for _, size := range [][2]int{{80, 24}, {40, 10}} {
		w, h := size[0], size[1]
		m := newTree(w, h, docs...)
		var frames []string
		for _, k := range []string{"", "j j e", "E", "/ a g e", "enter", "n", "G"} {
			if k != "" {
				m = press(m, strings.Split(k, " ")...)
			}
			frames = append(frames, fmt.Sprintf("== after %q\n%s", k, m.View()))
		}
		golden(t, fmt.Sprintf("view_%dx%d", w, h), strings.Join(frames, "\n")+"\n")
	}
}
