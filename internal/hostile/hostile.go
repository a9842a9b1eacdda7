// Package hostile is opsdeck's corpus of strings a hostile or broken server
// may send: terminal control sequences (OSC 0/2 window title, OSC 52
// clipboard write, OSC 8 hyperlinks, CSI screen and cursor control, DCS,
// bracketed-paste end), C1 controls, invalid UTF-8, zero-width and bidi
// override characters, plus generated extremes (a 1 MB single line, JSON
// nested 10,000 levels, huge numbers). The emulator serves them in every
// free-text field (emulator Options.Hostile) and the tests assert that no
// view lets any of them reach the terminal.
//
// The raw cases live in testdata/*.bin, one file per case, so they can be
// inspected with a hex dump and extended without touching code.
package hostile

import (
	"embed"
	"hash/fnv"
	"path"
	"sort"
	"strings"
)

//go:embed testdata/*.bin
var files embed.FS

// Case is one hostile string.
type Case struct {
	Name  string
	Value string
}

// Cases returns the corpus from testdata, sorted by name, plus a 1 MB line.
func Cases() []Case {
	return cases
}

var cases = load()

func load() []Case {
	names, err := files.ReadDir("testdata")
	if err != nil {
		panic(err)
	}
	var out []Case
	for _, n := range names {
		b, err := files.ReadFile(path.Join("testdata", n.Name()))
		if err != nil {
			panic(err)
		}
		out = append(out, Case{Name: strings.TrimSuffix(n.Name(), ".bin"), Value: string(b)})
	}
	out = append(out, Case{Name: "one_mb_line", Value: OneMBLine()})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// OneMBLine is a single 1 MiB line with an escape sequence at the end, where
// only code that looks at the whole string finds it.
func OneMBLine() string {
	const tail = "\x1b]0;end-of-megabyte\x07"
	return strings.Repeat("A", 1<<20-len(tail)) + tail
}

// DeepJSON is an array nested depth levels deep: [[[…]]].
func DeepJSON(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// HugeNumbers are JSON numbers no float64 or int64 holds.
var HugeNumbers = []string{"1e999999", "-1e999999", "123456789012345678901234567890123456789", "0.000000000000000000000000000000000000000000001"}

// Pick returns a corpus case chosen by a hash of seed, so the same input
// always meets the same hostile string. The 1 MB case is picked only when
// big is true (it makes every page it lands on a megabyte bigger).
func Pick(seed string, big bool) Case {
	h := fnv.New32a()
	h.Write([]byte(seed))
	n := h.Sum32()
	if big && n%997 == 0 {
		for _, c := range cases {
			if c.Name == "one_mb_line" {
				return c
			}
		}
	}
	small := cases[:0:0]
	for _, c := range cases {
		if c.Name != "one_mb_line" {
			small = append(small, c)
		}
	}
	return small[n%uint32(len(small))]
}

// Forbidden reports the first thing in s that must never reach a terminal:
// an ESC, a C0 control other than newline, DEL, a C1 control, a bidi
// override or isolate, or invalid UTF-8. It returns "" when s is clean.
func Forbidden(s string) string {
	for i, r := range s {
		switch {
		case r == '\n':
		case r == 0xFFFD && strings.HasPrefix(s[i:], "\xef\xbf\xbd"):
			// U+FFFD written as such is the sanitizer's replacement: fine.
		case r == 0xFFFD:
			return "invalid UTF-8"
		case r < 0x20 || r == 0x7f:
			return "C0 control"
		case r >= 0x80 && r < 0xa0:
			return "C1 control"
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
			return "bidi control"
		}
	}
	return ""
}
