package jsontree

import (
	"bytes"
	"encoding/json"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		sample, `[]`, `{}`, `""`, `-0.5e+7`, `[1,{"a":[null,true,false]}]`, `{"a":1,}`, `"\ud83d\ude00\ud800"`,
		`{"k\u001b[2J": "\u202e"}`, "\xff\xfe", `[[[[[[[[[[`, `{"a" : "b" , "c" : [ 1 , 2 ] }`, "  \n",
	} {
		f.Add([]byte(s), uint8(40), uint8(10))
	}
	f.Fuzz(func(t *testing.T, data []byte, w, h uint8) {
		m := newTree(int(w%200), int(h%60), Doc{Title: "doc", JSON: data})
		// The parser agrees with encoding/json on what is valid, within
		// encoding/json's nesting limit.
		valid := json.Valid(data)
		parsed := m.t.docs[0].err == ""
		if valid != parsed && bytes.Count(data, []byte("[")) < 9000 && bytes.Count(data, []byte("{")) < 9000 {
			t.Fatalf("json.Valid=%v, parsed=%v (%s) for %q", valid, parsed, m.t.docs[0].err, data)
		}
		if valid && parsed {
			var want bytes.Buffer
			if err := json.Compact(&want, data); err == nil && m.SelectedValue() != want.String() {
				if m.t.nodes[0].kind != kindString {
					t.Fatalf("compact %q, want %q", m.SelectedValue(), want.String())
				}
			}
		}
		checkView(t, m.View(), int(w%200), int(h%60))
		for _, k := range []string{"j", "e", "E", "G", "l", "h", "/", "a", "enter", "n", "N", "E", "k", "pgdown"} {
			m = press(m, k)
			checkView(t, m.View(), int(w%200), int(h%60))
			_ = m.SelectedPath()
			_ = m.SelectedValue()
		}
	})
}
