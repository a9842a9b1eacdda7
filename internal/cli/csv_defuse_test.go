package cli

import "testing"

func TestCSVCellsDefuseFormulas(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://evil","x")`: `'=HYPERLINK("http://evil","x")`,
		"+cmd|' /C calc'!A0":            "'+cmd|' /C calc'!A0",
		"@SUM(1)":                       "'@SUM(1)",
		"-2+3":                          "'-2+3",
		"plain text":                    "plain text",
		"":                              "",
	} {
		if got := csvCell(kString, in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
	if got := csvCell(kInt, int64(-5)); got != "-5" {
		t.Errorf("numbers must not be defused: %q", got)
	}
}
