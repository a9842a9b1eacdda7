package vtable

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
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
	src := newFake(45_678)
	src.cells = func(v int) []string {
		msgs := []string{
			"upstream returned 502 Bad Gateway\nretrying",
			"\x1b]0;owned\x07timeout after 30s \x1b[31m(red)\x1b[0m",
			"認証に失敗しました: token expired",
			"invoice\u202egnp.exe",
		}
		return []string{fmt.Sprintf("job-%05d", v), []string{"ERRORED", "DONE"}[v%2], msgs[v%len(msgs)], fmt.Sprintf("%d.%ds", v%60, v%10)}
	}
	cols := []Column{
		{Title: "ID", Width: 9, SortKey: "id", KeyHint: "1"},
		{Title: "STATE", Width: 7, SortKey: "state", KeyHint: "2"},
		{Title: "MESSAGE", Min: 10},
		{Title: "TOOK", Width: 6, Min: 4, Align: lipgloss.Right},
	}
	for _, size := range [][2]int{{80, 24}, {40, 10}} {
		w, h := size[0], size[1]
		m := New(cols, DefaultKeyMap(), DefaultStyles()).SetSize(w, h).SetSort("state", true)
		m, cmd := m.SetSource(src)
		m = run(m, cmd)
		var frames []string
		for _, k := range []string{"", "j", "pgdown", "G", "k"} {
			if k != "" {
				m = press(m, k)
			}
			frames = append(frames, fmt.Sprintf("== after %q\n%s", k, m.View()))
		}
		empty := newTable(t, newFake(0), w, h)
		frames = append(frames, "== empty\n"+empty.View())
		golden(t, fmt.Sprintf("view_%dx%d", w, h), strings.Join(frames, "\n")+"\n")
	}
}
