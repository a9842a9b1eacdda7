package jsonscan

import "testing"

func TestSkipValue(t *testing.T) {
	cases := []struct {
		in  string
		end int
		ok  bool
	}{
		{`"a\"b" ,`, 6, true},
		{`"a\\" ,`, 5, true},
		{`{"k":[1,"]}",{"x":null}]} tail`, 25, true},
		{`-1.5e3,`, 6, true},
		{`true}`, 4, true},
		{`"unterminated`, 13, false},
		{`{"a":[1,2}`, 10, false},
		{``, 0, false},
	}
	for _, c := range cases {
		end, ok := SkipValue([]byte(c.in), 0)
		if end != c.end || ok != c.ok {
			t.Errorf("SkipValue(%q) = %d,%v want %d,%v", c.in, end, ok, c.end, c.ok)
		}
	}
	if i := SkipSpace([]byte(" \t\r\n x"), 0); i != 5 {
		t.Errorf("SkipSpace = %d", i)
	}
}
