package jsontree

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii) // tests assert on plain text
	os.Exit(m.Run())
}

const sample = `{
  "id": "job-1",
  "input_entities": [
    {"type": "user", "attributes": {"first name": "Ann", "last_name": "Lee", "age": 42}},
    {"type": "group", "attributes": {"name": "ops", "members": [1, 2.50, -3e10]}}
  ],
  "weird keys": {"": 1, "a.b": 2, "quote\"d": 3, "_ok9": 4, "9lives": 5, "tab\tkey": 6},
  "big": 123456789012345678901234567890.000000000000000000001,
  "flags": [true, false, null]
}`

func newTree(w, h int, docs ...Doc) Model {
	return New(DefaultKeyMap(), DefaultStyles()).SetSize(w, h).SetDocs(docs...)
}

func press(m Model, keys ...string) Model {
	for _, k := range keys {
		m, _ = m.Update(keyMsg(k))
	}
	return m
}

// pathsAndValues walks every visible line with j.
func pathsAndValues(m Model) (paths, values []string) {
	for i := 0; i < m.lineCount(); i++ {
		paths = append(paths, m.SelectedPath())
		values = append(values, m.SelectedValue())
		m = press(m, "j")
	}
	return paths, values
}

func TestFlatten(t *testing.T) {
	m := newTree(80, 40, Doc{Title: "request", JSON: []byte(sample)})
	paths, values := pathsAndValues(m)
	want := []struct{ path, value string }{
		{".request", ""},
		{".request.id", "job-1"},
		{".request.input_entities", ""},
		{".request.input_entities[0]", `{"type":"user","attributes":{"first name":"Ann","last_name":"Lee","age":42}}`},
		{".request.input_entities[0].type", "user"},
		{".request.input_entities[0].attributes", ""},
		{`.request.input_entities[0].attributes["first name"]`, "Ann"},
		{".request.input_entities[0].attributes.last_name", "Lee"},
		{".request.input_entities[0].attributes.age", "42"},
		{".request.input_entities[1]", ""},
		{".request.input_entities[1].type", "group"},
		{".request.input_entities[1].attributes", ""},
		{".request.input_entities[1].attributes.name", "ops"},
		{".request.input_entities[1].attributes.members", "[1,2.50,-3e10]"},
		{".request.input_entities[1].attributes.members[0]", "1"},
		{".request.input_entities[1].attributes.members[1]", "2.50"},
		{".request.input_entities[1].attributes.members[2]", "-3e10"},
		{`.request["weird keys"]`, ""},
		{`.request["weird keys"][""]`, "1"},
		{`.request["weird keys"]["a.b"]`, "2"},
		{`.request["weird keys"]["quote\"d"]`, "3"},
		{`.request["weird keys"]._ok9`, "4"},
		{`.request["weird keys"]["9lives"]`, "5"},
		{`.request["weird keys"]["tab\tkey"]`, "6"},
		{".request.big", "123456789012345678901234567890.000000000000000000001"},
		{".request.flags", "[true,false,null]"},
		{".request.flags[0]", "true"},
		{".request.flags[1]", "false"},
		{".request.flags[2]", "null"},
	}
	if len(paths) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(paths), len(want), strings.Join(paths, "\n"))
	}
	for i, w := range want {
		if paths[i] != w.path {
			t.Errorf("line %d: path %s, want %s", i, paths[i], w.path)
		}
		if w.value != "" && values[i] != w.value {
			t.Errorf("%s: value %s, want %s", w.path, values[i], w.value)
		}
	}
	// The whole document compacts to what encoding/json would produce,
	// numbers verbatim.
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(sample)); err != nil {
		t.Fatal(err)
	}
	if values[0] != buf.String() {
		t.Errorf("root value:\n%s\nwant\n%s", values[0], buf.String())
	}
	// Node structure: parent and end indices.
	nodes := m.t.nodes
	for i, n := range nodes {
		if n.end < int32(i) || int(n.end) >= len(nodes) {
			t.Fatalf("node %d: end %d", i, n.end)
		}
		if n.parent >= 0 && (n.parent >= int32(i) || nodes[n.parent].end < int32(i) || nodes[n.parent].depth != n.depth-1) {
			t.Fatalf("node %d: bad parent %d", i, n.parent)
		}
	}
}

func TestPathsOfUntitledAndEscapedKeys(t *testing.T) {
	m := newTree(80, 20, Doc{JSON: []byte(`[{"k\u202eey": {"a\u0000": 1}}, "x"]`)})
	paths, _ := pathsAndValues(m)
	want := []string{".", ".[0]", `.[0]["k\u202eey"]`, `.[0]["k\u202eey"]["a\u0000"]`, ".[1]"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Fatalf("paths %q\nwant  %q", paths, want)
	}
	var v any
	for _, p := range paths[2:4] {
		// The quoted segments are valid JSON strings.
		seg := p[strings.LastIndex(p, "[\"")+1 : len(p)-1]
		if err := json.Unmarshal([]byte(seg), &v); err != nil {
			t.Fatalf("%s: %v", seg, err)
		}
	}
}

func TestFolding(t *testing.T) {
	m := newTree(80, 40, Doc{Title: "request", JSON: []byte(sample)}, Doc{Title: "result", JSON: []byte(`{"ok": true}`)})
	all := m.lineCount()
	if all != 29+2 {
		t.Fatalf("expanded: %d lines", all)
	}
	// e on input_entities (line 2) hides its 14 descendants.
	m = press(m, "j", "j", "e")
	if got := m.lineCount(); got != all-14 {
		t.Fatalf("after e: %d lines, want %d", got, all-14)
	}
	if !strings.Contains(m.View(), "▸ input_entities: [2 items] [{") {
		t.Fatalf("folded preview missing:\n%s", m.View())
	}
	m = press(m, "e")
	if got := m.lineCount(); got != all {
		t.Fatalf("after e e: %d lines", got)
	}
	// h folds, h again goes to the parent, l unfolds, l again enters.
	m = press(m, "h")
	if m.lineCount() != all-14 || m.SelectedPath() != ".request.input_entities" {
		t.Fatalf("h: %d lines at %s", m.lineCount(), m.SelectedPath())
	}
	m = press(m, "l", "l")
	if m.SelectedPath() != ".request.input_entities[0]" || m.lineCount() != all {
		t.Fatalf("l l: at %s, %d lines", m.SelectedPath(), m.lineCount())
	}
	m = press(m, "j", "h")
	if m.SelectedPath() != ".request.input_entities[0]" {
		t.Fatalf("h on a leaf goes to the parent, at %s", m.SelectedPath())
	}
	// e on a leaf does nothing.
	m = press(m, "j", "e")
	if m.lineCount() != all {
		t.Fatal("e on a leaf folded something")
	}

	// E: nothing folded -> fold all below the roots; again -> unfold all.
	m = press(m, "E")
	if got := m.lineCount(); got != 2+5+1 { // roots, request's 5 members, result's 1
		t.Fatalf("E: %d lines:\n%s", got, m.View())
	}
	if m.SelectedPath() != ".request.input_entities" {
		t.Fatalf("E: cursor should move to the visible ancestor, at %s", m.SelectedPath())
	}
	m = press(m, "E")
	if got := m.lineCount(); got != all {
		t.Fatalf("E E: %d lines", got)
	}
	// E with one node folded unfolds everything.
	m = press(m, "g", "e") // fold the request root
	if m.lineCount() != 3 {
		t.Fatalf("root folded: %d lines", m.lineCount())
	}
	m = press(m, "E")
	if m.lineCount() != all {
		t.Fatalf("E with a fold: %d lines", m.lineCount())
	}
	m = press(m, "G")
	if m.SelectedPath() != ".result.ok" {
		t.Fatalf("G at %s", m.SelectedPath())
	}
}

func TestSearch(t *testing.T) {
	m := newTree(80, 12, Doc{Title: "request", JSON: []byte(sample)})
	m = press(m, "j", "j", "e", "g") // fold input_entities, back to the top
	m = press(m, "/")
	if !m.SearchActive() {
		t.Fatal("search not active")
	}
	// Keys go to the input while it is open: "j" and "e" are text.
	m = press(m, "T", "Y", "P", "E")
	if m.SelectedPath() != ".request" || m.lineCount() != 29-14 {
		t.Fatal("keys leaked out of the search input")
	}
	if !strings.Contains(m.View(), "/TYPE") {
		t.Fatalf("input not shown:\n%s", m.View())
	}
	m = press(m, "enter")
	if m.SearchActive() {
		t.Fatal("still searching after enter")
	}
	// "type" matches two keys, both inside the folded node.
	if len(m.matches) != 2 {
		t.Fatalf("%d matches", len(m.matches))
	}
	if m.SelectedPath() != ".request.input_entities[0].type" {
		t.Fatalf("enter went to %s", m.SelectedPath())
	}
	if got := m.StatusText(); got != "[1/2] /TYPE" {
		t.Fatalf("status %q", got)
	}
	m = press(m, "n")
	if m.SelectedPath() != ".request.input_entities[1].type" || m.StatusText() != "[2/2] /TYPE" {
		t.Fatalf("n: %s %q", m.SelectedPath(), m.StatusText())
	}
	m = press(m, "n") // wraps
	if m.SelectedPath() != ".request.input_entities[0].type" || !strings.Contains(m.StatusText(), "wrapped") {
		t.Fatalf("n wrap: %s %q", m.SelectedPath(), m.StatusText())
	}
	m = press(m, "N") // wraps backwards
	if m.SelectedPath() != ".request.input_entities[1].type" || !strings.Contains(m.StatusText(), "[2/2]") {
		t.Fatalf("N wrap: %s %q", m.SelectedPath(), m.StatusText())
	}

	// Counting matches hidden in folds: values and keys, case-insensitive.
	m = press(m, "/")
	for _, r := range "a" {
		m = press(m, string(r))
	}
	m = press(m, "enter", "g", "E") // everything below the root folded
	// attributes ×2, first name, last_name, age, name, a.b, tab key, flags,
	// false; only flags is a top-level member.
	total := len(m.matches)
	if total != 10 || m.hidden != total-1 {
		t.Fatalf("%d matches, %d hidden", total, m.hidden)
	}
	if !strings.Contains(m.StatusText(), fmt.Sprintf("/a · %d in folded nodes", total-1)) {
		t.Fatalf("status %q", m.StatusText())
	}
	m = press(m, "n")
	if m.hidden >= total {
		t.Fatalf("n did not unfold: %d hidden", m.hidden)
	}

	// Esc cancels and keeps the previous search.
	m = press(m, "/", "z", "z", "esc")
	if m.query != "a" || m.SearchActive() {
		t.Fatalf("esc: query %q", m.query)
	}
	// No match.
	m = press(m, "/")
	m.input.SetValue("zzz-nothing")
	m = press(m, "enter")
	if m.StatusText() != "no match for /zzz-nothing" {
		t.Fatalf("status %q", m.StatusText())
	}
	// An empty search clears.
	m = press(m, "/")
	m.input.SetValue("")
	m = press(m, "enter")
	if m.query != "" || !strings.HasPrefix(m.StatusText(), ".") {
		t.Fatalf("clear: %q", m.StatusText())
	}
}

func TestSearchValuesAndUnicode(t *testing.T) {
	m := newTree(80, 12, Doc{JSON: []byte(`{"name": "ÉCOLE \u00e9t\u00c9", "n": 12.5, "s": "esc \\u0041"}`)})
	for _, tc := range []struct {
		q    string
		want int
	}{{"école", 1}, {"ÉTÉ", 1}, {"12.5", 1}, {"\\u0041", 1}, {"A", 1}, {"name", 1}} {
		m.query = tc.q
		m.runSearch()
		if len(m.matches) != tc.want {
			t.Errorf("search %q: %d matches, want %d", tc.q, len(m.matches), tc.want)
		}
	}
}

func TestInvalidJSON(t *testing.T) {
	cases := []struct{ in, err string }{
		{`{"a": 1,}`, "line 1, column 9: unexpected '}', expected a string key"},
		{`{"a" 1}`, "line 1, column 6: unexpected '1', expected ':'"},
		{"[1,\n 2", "line 2, column 3: unexpected end of input, expected ',' or ']'"},
		{`[01]`, "line 1, column 3: unexpected '1', expected ',' or ']'"},
		{`"tab	in string"`, "line 1, column 5: control character 0x09 in string"},
		{`{"a": tru}`, "line 1, column 7: unexpected 't', expected a value"},
		{`{} {}`, "line 1, column 4: unexpected data after the document"},
		{`"\x"`, `line 1, column 3: invalid escape \x`},
		{``, "line 1, column 1: empty document"},
		{"\x1b]0;owned\x07{", "line 1, column 1: unexpected byte 0x1b, expected a value"},
	}
	for _, tc := range cases {
		m := newTree(120, 5, Doc{Title: "result", JSON: []byte(tc.in)}, Doc{Title: "ok", JSON: []byte(`1`)})
		if m.lineCount() != 2 {
			t.Errorf("%q: %d lines", tc.in, m.lineCount())
		}
		if m.t.docs[0].err != tc.err {
			t.Errorf("%q: error %q, want %q", tc.in, m.t.docs[0].err, tc.err)
		}
		v := m.View()
		checkView(t, v, 120, 5)
		if !strings.Contains(v, "invalid JSON") || strings.ContainsAny(v, "\x1b\x07\t") {
			t.Errorf("%q: view\n%s", tc.in, v)
		}
		if m.SelectedValue() != tc.in {
			t.Errorf("%q: raw value %q", tc.in, m.SelectedValue())
		}
	}
}

func TestDeepNesting(t *testing.T) {
	const depth = 10_000
	doc := strings.Repeat(`{"a":[`, depth) + `"bottom"` + strings.Repeat(`]}`, depth)
	m := newTree(80, 24, Doc{Title: "deep", JSON: []byte(doc)})
	if m.t.docs[0].err != "" {
		t.Fatal(m.t.docs[0].err)
	}
	if m.lineCount() != 2*depth+1 {
		t.Fatalf("%d lines", m.lineCount())
	}
	m = press(m, "G")
	checkView(t, m.View(), 80, 24)
	if v := m.SelectedValue(); v != "bottom" {
		t.Fatalf("value %q", v)
	}
	if p := m.SelectedPath(); !strings.HasSuffix(p, ".a[0].a[0]") || len(p) != len(".deep")+depth*len(".a[0]") {
		t.Fatalf("path length %d", len(p))
	}
	if !strings.Contains(m.View(), "» ") {
		t.Fatal("capped indentation not marked")
	}
	m = press(m, "g")
	if v := m.SelectedValue(); len(v) != len(doc) {
		t.Fatalf("compact root: %d bytes", len(v))
	}
	m = press(m, "/", "b", "o", "t", "t", "enter", "g", "E", "n")
	if m.SelectedValue() != "bottom" {
		t.Fatalf("search in deep doc at %q", m.SelectedValue())
	}
	// Unclosed deep nesting is a parse error, not a crash.
	m = newTree(80, 24, Doc{JSON: []byte(strings.Repeat("[", 100_000))})
	if m.t.docs[0].err == "" {
		t.Fatal("no error")
	}
	checkView(t, m.View(), 80, 24)
}

func TestHostileStringsSanitized(t *testing.T) {
	doc := `{"k\u001b[2Jey\u202e": "v\u001b]52;c;ZXZpbA==\u0007al\u200bue\nline2", "osc": "\u009d0;title\u009c",` +
		` "raw": "` + "\u202e\u2066bidi\u2069" + `", "wide": "` + strings.Repeat("漢字☺️", 30) + `"}`
	for _, size := range [][2]int{{40, 10}, {80, 24}, {160, 48}} {
		m := newTree(size[0], size[1], Doc{Title: "t\x1b[31m", JSON: []byte(doc)})
		v := m.View()
		checkView(t, v, size[0], size[1])
		for _, bad := range []string{"\x1b", "\x07", "\u009d", "\u202e", "\u200b", "\u2066", "ZXZp"} {
			if strings.Contains(v, bad) {
				t.Fatalf("%v: %q in view:\n%s", size, bad, v)
			}
		}
		if size[0] >= 80 && !strings.Contains(v, `"value⏎line2"`) {
			t.Fatalf("%v: sanitized value missing:\n%s", size, v)
		}
		m = press(m, "j")
		if got := m.SelectedValue(); !strings.Contains(got, "\x1b]52") {
			t.Fatalf("SelectedValue should be the original, got %q", got)
		}
		if p := m.SelectedPath(); strings.ContainsAny(p, "\x1b\u202e") {
			t.Fatalf("path not escaped: %q", p)
		}
	}
}

func TestViewDimensions(t *testing.T) {
	big := bigDoc(200_000)
	docs := []Doc{{Title: "request", JSON: []byte(sample)}, {Title: "result", JSON: big}, {Title: "bad", JSON: []byte(`{"x": [1, 2`)}}
	for _, size := range [][2]int{{40, 10}, {80, 24}, {160, 48}, {1, 1}, {0, 3}, {3, 0}, {5, 2}} {
		w, h := size[0], size[1]
		m := newTree(w, h, docs...)
		for _, k := range []string{"", "j", "pgdown", "G", "E", "k", "e", "g", "/", "x", "enter", "n", "N", "pgup"} {
			if k != "" {
				m = press(m, k)
			}
			checkView(t, m.View(), w, h)
		}
	}
	// Nothing loaded.
	m := New(DefaultKeyMap(), DefaultStyles()).SetSize(40, 10)
	checkView(t, m.View(), 40, 10)
	m = press(m, "j", "G", "e", "E", "n")
	if m.SelectedPath() != "" || m.SelectedValue() != "" {
		t.Fatal("empty model returned a selection")
	}
}

func TestPageKeys(t *testing.T) {
	m := newTree(80, 11, Doc{JSON: bigDoc(50_000)}) // 10 body lines
	m = press(m, "pgdown")
	if l := m.line(); l != 10 || m.line()-m.top != 0 {
		t.Fatalf("pgdown: line %d top %d", l, m.top)
	}
	m = press(m, "pgdown", "pgup")
	if l := m.line(); l != 10 {
		t.Fatalf("pgup: line %d", l)
	}
}

func checkView(t *testing.T, v string, w, h int) {
	t.Helper()
	if h == 0 {
		if v != "" {
			t.Fatalf("%dx%d: %q", w, h, v)
		}
		return
	}
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Fatalf("%dx%d: %d lines:\n%s", w, h, len(lines), v)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Fatalf("%dx%d: line %d is %d wide: %q", w, h, i, lw, l)
		}
	}
}

// bigDoc is a job-result-like payload of about n bytes.
func bigDoc(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"entities": [`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id": "%08d-4b1f-9c3e-2f6a1d7e%04d", "type": "user", "attributes": {"first name": "Ann %d", "email": "ann.%d@example.com", "score": %d.%02d, "active": %v, "manager": null, "tags": ["a", "b\n\"c\"", "日本"]}}`,
			i, i%10000, i, i, i*7, i%100, i%2 == 0)
	}
	b.WriteString(`], "status": "ERRORED", "error": {"code": 502, "message": "upstream \u001b[31mbad gateway\u001b[0m"}}`)
	return []byte(b.String())
}
