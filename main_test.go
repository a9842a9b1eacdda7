package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runMain runs the program in-process. The config and data directories are
// temporary unless env names them: no test reads the user's config.
func runMain(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCorruptCacheIsRefusedUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.db")
	junk := []byte("this is not a database, it is my notes\n")
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMain(t, map[string]string{"VEZA_URL": ""}, "--cache", path)
	if code != 1 || !strings.Contains(stderr, "not an opsdeck cache") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, junk) {
		t.Fatal("the foreign file was modified")
	}
}

func TestUsageErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing", "x.db")
	cases := []struct {
		env  map[string]string
		args []string
		code int
		want string
	}{
		{nil, []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{map[string]string{"VEZA_URL": "https://x.example", "VEZA_TOKEN": ""}, []string{"--cache", missing}, 1, "$VEZA_TOKEN is empty or unset"},
		{map[string]string{"VEZA_URL": "http://x.example", "VEZA_TOKEN": "t"}, []string{"--cache", missing}, 2, "refusing plain http:// to x.example"},
		{map[string]string{"VEZA_URL": ""}, []string{"sync", "--cache", missing}, 2, "sync needs a profile: set VEZA_URL and VEZA_TOKEN"},
		{map[string]string{"VEZA_URL": "https://x.example", "VEZA_TOKEN": "t"}, []string{"sync", "--sources", "jobs,bogus", "--cache", missing}, 2, `--sources: "bogus" is not a source of a veza profile`},
		{nil, []string{"--profile", "nope", "sync"}, 2, `unknown profile "nope"`},
		{nil, []string{"--theme", "pink"}, 2, `--theme "pink"`},
		{nil, []string{"prune", "--cache", missing}, 2, "prune needs --older-than"},
		{nil, []string{"prune", "--older-than", "-3d", "--cache", missing}, 2, "must be positive"},
		{nil, []string{"prune", "--older-than", "ninety", "--cache", missing}, 2, `"ninety": want a number of days`},
		{nil, []string{"emulator", "--now", "yesterday"}, 2, "--now"},
		{nil, []string{"emulator", "--faults", "418=0.5"}, 2, "--faults"},
		{nil, []string{"--bogus-flag"}, 2, "flag provided but not defined"},
	}
	for _, c := range cases {
		code, _, stderr := runMain(t, c.env, c.args...)
		if c.args[0] == "--bogus-flag" {
			stderr = strings.SplitN(stderr, "\n", 2)[0]
		}
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: code %d stderr %q; want %d %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := runMain(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "opsdeck ") {
		t.Fatalf("version: %d %q", code, out)
	}
	code, out, _ = runMain(t, nil, "help")
	if code != 0 || !strings.Contains(out, "opsdeck demo") {
		t.Fatalf("help: %d %q", code, out)
	}
}
