package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompletionScripts(t *testing.T) {
	h := newHarness(t, fixtureCache(t))
	h.env.MainCommands = []string{"demo", "sync", "version"}
	for _, shell := range shells {
		out := h.mustRun("completion", shell)
		for _, want := range append(Commands(), "demo", "version", "filter", "order-by", "any-changes", "remote",
			"jobs", "errors", "tasks", "fish") {
			if !strings.Contains(out, want) {
				t.Errorf("%s completion lacks %q", shell, want)
			}
		}
		// A syntax check where the shell is installed.
		check := map[string][]string{"bash": {"bash", "-n"}, "zsh": {"zsh", "-n"}, "fish": {"fish", "--no-execute"}}[shell]
		if _, err := exec.LookPath(check[0]); err != nil {
			continue
		}
		path := filepath.Join(t.TempDir(), "completion."+shell)
		if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		if msg, err := exec.Command(check[0], append(check[1:], path)...).CombinedOutput(); err != nil {
			t.Errorf("%s rejects its completion script: %v\n%s", shell, err, msg)
		}
	}
	if code, _, _ := h.run("completion", "powershell"); code != ExitUsage {
		t.Errorf("unknown shell: exit %d", code)
	}
}

// The bash script completes for real: sources, flags, -o values.
func TestBashCompletionBehaves(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	h := newHarness(t, fixtureCache(t))
	script := h.mustRun("completion", "bash")
	path := filepath.Join(t.TempDir(), "c.bash")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) string {
		t.Helper()
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		cmd := `source "$1"; COMP_WORDS=(` + strings.Join(quoted, " ") + `); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _opsdeck; echo "${COMPREPLY[*]}"`
		out, err := exec.Command("bash", "-c", cmd, "bash", path).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v %s", words, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"opsdeck", "qu"}, "query"},
		{[]string{"opsdeck", "query", "ta"}, "tasks"},
		{[]string{"opsdeck", "query", "jobs", "--or"}, "--order-by"},
		{[]string{"opsdeck", "query", "jobs", "-o", "js"}, "json jsonl"},
		{[]string{"opsdeck", "unblock", "--a"}, "--abandon"},
		{[]string{"opsdeck", "completion", "f"}, "fish"},
	} {
		if got := complete(tc.words...); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.words, got, tc.want)
		}
	}
}
