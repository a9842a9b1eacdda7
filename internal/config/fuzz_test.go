package config

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; every error it returns, and every
// warning, is an *Error that names the file and a line within it; and an
// inline token never shows up in an error or a warning.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		example,
		"",
		"profiles:\n  p:\n    url: https://x.example\n    token: s3cr3t-t0ken-value\n    bogus: 1\n",
		"profiles:\n  p:\n    url: http://10.0.0.1\n    token: s3cr3t-t0ken-value\n    token_env: X\n",
		"profiles: [a, b]\n",
		"keys:\n  down: []\n  up: [[j]]\n",
		"default_profile: nope\nprofiles: {}\n",
		"a: &x {b: *x}\nprofiles: *x\n",
		"theme: \"\\x1b]0;t\\x07\"\n",
		"\t- bad indent\n",
		"profiles:\n  p:\n    url: ://\n    interval: 1s\n    token_timeout: -5s\n    insecure: maybe\n",
		"profiles:\n  \"bad name!\": {url: https://x}\n  q: {url: https://x, provider: socotra}\n",
		"---\n...\n---\nfoo: 1\n",
		"key: \x00\n",
	} {
		f.Add(s)
	}
	const path = "/home/u/.config/opsdeck/config.yaml"
	// Lines as the YAML decoder (and most editors) count them.
	lines := func(s string) int { return len(yamlBreak.FindAllStringIndex(s, -1)) + 1 }
	getenv := func(k string) string { return map[string]string{"HOME": "/home/u"}[k] }
	f.Fuzz(func(t *testing.T, src string) {
		c, err := Parse(path, []byte(src), getenv)
		var problems []error
		if err != nil {
			if c != nil {
				t.Fatalf("both a config and an error: %v", err)
			}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				problems = j.Unwrap()
			} else {
				problems = []error{err}
			}
		} else {
			if c == nil {
				t.Fatal("no config and no error")
			}
			problems = c.Warnings
		}
		for _, p := range problems {
			var e *Error
			if !errors.As(p, &e) {
				t.Fatalf("%T is not a *config.Error: %v", p, p)
			}
			if e.File != path {
				t.Fatalf("error names file %q: %v", e.File, e)
			}
			if e.Line < 1 || e.Line > lines(src) {
				t.Fatalf("error without a line in the file (line %d of %d): %v", e.Line, lines(src), e)
			}
			for _, tok := range inlineTokens(src) {
				if strings.Contains(e.Msg, tok) {
					t.Fatalf("the inline token %q is echoed: %v", tok, e)
				}
			}
		}
	})
}

var yamlBreak = regexp.MustCompile("\r\n|\r|\n|\u0085|\u2028|\u2029")

var tokenLine = regexp.MustCompile(`(?m)^\s*token:\s*([A-Za-z0-9_-]{8,})\s*$`)

// inlineTokens are the values of `token:` lines that appear only once in
// src: a message that holds one can only have copied it from the token.
func inlineTokens(src string) []string {
	var out []string
	for _, m := range tokenLine.FindAllStringSubmatch(src, -1) {
		if strings.Count(src, m[1]) == 1 {
			out = append(out, m[1])
		}
	}
	return out
}
