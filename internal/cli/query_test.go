package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/ui/sanitize"
)

func TestQueryGolden(t *testing.T) {
	h := newHarness(t, fixtureCache(t))
	for _, tc := range []struct {
		name  string
		width int
		args  []string
	}{
		{"jobs.table", 120, []string{"query", "jobs"}},
		{"jobs.table.narrow", 60, []string{"query", "jobs", "-o", "table"}},
		{"jobs.table.unlimited", 0, []string{"query", "jobs"}},
		{"jobs.json", 0, []string{"query", "jobs", "-o", "json"}},
		{"jobs.jsonl.details", 0, []string{"query", "jobs", "-o", "jsonl", "--details"}},
		{"jobs.csv", 0, []string{"query", "jobs", "--output", "csv"}},
		{"tasks.json", 0, []string{"query", "tasks", "-o", "json", "--order-by", "started_at desc"}},
		{"tasks.table", 100, []string{"query", "tasks"}},
		{"actions.csv", 0, []string{"query", "actions", "-o", "csv", "--details"}},
		{"errors.table", 100, []string{"query", "errors"}},
		{"empty.json", 0, []string{"query", "jobs", "-o", "json", "--filter", `state eq "SKIPPED"`}},
		{"empty.table", 80, []string{"query", "jobs", "--filter", `state eq "SKIPPED"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.env.Width = tc.width
			code, out, errs := h.run(tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if tc.name == "jobs.table.narrow" {
				if !strings.Contains(errs, "do not fit in 60 cells") {
					t.Errorf("no note about hidden columns: %q", errs)
				}
			} else if tc.name == "empty.table" {
				if out != "" || errs != "no jobs match\n" {
					t.Errorf("empty table: stdout %q, stderr %q", out, errs)
				}
			} else if errs != "" {
				t.Errorf("stderr: %q", errs)
			}
			golden(t, tc.name, out)
		})
	}
}

// Every output format is safe to print: no escape sequence, C1 control or
// bidi override survives, and the machine formats stay lossless.
func TestQueryOutputIsTerminalSafe(t *testing.T) {
	h := newHarness(t, fixtureCache(t))
	for _, format := range formats {
		out := h.mustRun("query", "jobs", "-o", format, "--details", "--fields", "job_id,error_message,identity_name")
		for _, r := range out {
			if r != '\n' && sanitize.Unsafe(r) {
				t.Errorf("%s output holds unsafe rune %U", format, r)
			}
		}
		if !utf8.ValidString(out) {
			t.Errorf("%s output is not UTF-8", format)
		}
		if format == fmtTable {
			if lines := strings.Count(out, "\n"); lines != 5 {
				t.Errorf("table has %d lines (a line break in a cell broke the table?):\n%s", lines, out)
			}
		}
	}
	// JSON lines decode back to the exact server strings.
	out := h.mustRun("query", "jobs", "-o", "jsonl", "--details", "--filter", `job_id eq "j-0003"`)
	var got struct {
		ErrorMessage string          `json:"error_message"`
		IdentityName string          `json:"identity_name"`
		Request      json.RawMessage `json:"request"`
		Result       struct {
			ErrorMessages []string `json:"error_messages"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.ErrorMessage != hostile || got.Result.ErrorMessages[0] != hostile || got.IdentityName != "Zoë 李" {
		t.Errorf("not lossless: %q / %q / %q", got.ErrorMessage, got.Result.ErrorMessages, got.IdentityName)
	}
	var req map[string]string
	if json.Unmarshal(got.Request, &req) != nil || req["note"] != "\u202ereversed" {
		t.Errorf("request payload: %s", got.Request)
	}
}

// decodeJSONL returns one field of every line.
func decodeJSONL(t *testing.T, out, field string) []string {
	t.Helper()
	var vals []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		v, _ := m[field].(string)
		vals = append(vals, v)
	}
	return vals
}

func TestQuerySelection(t *testing.T) {
	h := newHarness(t, fixtureCache(t))
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--filter", `state eq "ERRORED"`}, []string{"j-0002", "j-0003"}},
		{[]string{"--filter", `state eq "errored" and identity_name co "ahmed"`}, []string{"j-0002"}},
		{[]string{"--search", "sales-emea"}, []string{"j-0002"}},
		{[]string{"--search", "Jane"}, []string{"j-0001", "j-0004"}},
		{[]string{"--search", `quote " and \ backslash`}, nil},
		{[]string{"--search", "Mailbox", "--filter", `state eq "RUNNING"`}, []string{"j-0004"}},
		{[]string{"--order-by", "created_at desc"}, []string{"j-0004", "j-0003", "j-0002", "j-0001"}},
		{[]string{"--order-by", "completed_at desc", "--limit", "2"}, []string{"j-0003", "j-0002"}},
		{[]string{"--limit", "1"}, []string{"j-0001"}},
	} {
		out := h.mustRun(append([]string{"query", "jobs", "-o", "jsonl"}, tc.args...)...)
		if got := decodeJSONL(t, out, "job_id"); !slices.Equal(got, tc.want) {
			t.Errorf("%v: %v, want %v", tc.args, got, tc.want)
		}
	}
	// errors is ERRORED jobs, newest first, and takes a filter on top.
	if got := decodeJSONL(t, h.mustRun("query", "errors", "-o", "jsonl"), "job_id"); !slices.Equal(got, []string{"j-0003", "j-0002"}) {
		t.Errorf("errors: %v", got)
	}
	if got := decodeJSONL(t, h.mustRun("query", "errors", "-o", "jsonl", "--filter", `action_type eq "SEND_REST_PAYLOAD"`), "job_id"); !slices.Equal(got, []string{"j-0003"}) {
		t.Errorf("errors with a filter: %v", got)
	}
	for args, want := range map[string]string{
		"jobs":                             "4\n",
		"errors":                           "2\n",
		`jobs --filter=state eq "RUNNING"`: "1\n",
		"tasks --search=Jane":              "1\n",
		"jobs --limit=3":                   "3\n",
	} {
		a := append([]string{"query"}, strings.SplitN(args, " ", 2)...)
		if got := h.mustRun(append(a, "--count")...); got != want {
			t.Errorf("count %s: %q, want %q", args, got, want)
		}
	}
	// --fields picks and orders columns, including the cache's synced_at.
	out := h.mustRun("query", "actions", "-o", "csv", "--fields", "action_name,state", "--fields", "synced_at")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], []string{"action_name", "state", "synced_at"}) || len(recs) != 3 || recs[1][2] == "" {
		t.Errorf("csv: %v", recs)
	}
	// Flags may come before the source too.
	if got := decodeJSONL(t, h.mustRun("query", "-o", "jsonl", "--limit", "1", "tasks"), "id"); !slices.Equal(got, []string{"t-0002"}) {
		t.Errorf("flags first: %v", got)
	}
}

func TestQueryUsageErrors(t *testing.T) {
	h := newHarness(t, fixtureCache(t))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"query", "jobs", "--filter", `state eq`}, "bad filter: col"},
		{[]string{"query", "jobs", "--filter", `colour eq "red"`}, `bad filter: `},
		{[]string{"query", "jobs", "--filter", `any_changes co "x"`}, "bad filter"},
		{[]string{"query", "jobs", "--fields", "job_id,colour"}, `unknown field "colour" for jobs`},
		{[]string{"query", "jobs", "--order-by", "colour desc"}, `cannot order jobs by "colour"`},
		{[]string{"query", "jobs", "--order-by", "created_at sideways"}, "asc or desc"},
		{[]string{"query", "jobs", "-o", "yaml"}, `unknown output format "yaml"`},
		{[]string{"query", "widgets"}, `unknown source "widgets"`},
		{[]string{"query"}, "want one SOURCE"},
		{[]string{"query", "jobs", "--limit", "-1"}, "--limit must be 0 or more"},
		{[]string{"query", "jobs", "--no-such-flag"}, "flag provided but not defined"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{nil, "no command"},
	} {
		code, out, errs := h.run(tc.args...)
		if code != ExitUsage || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errs, tc.want)
		}
		if !slices.Contains(tc.args, "--no-such-flag") && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: message is not one line: %q", tc.args, errs)
		}
	}
}

func TestQueryMissingCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "cache.db")
	h := newHarness(t, path)
	code, out, errs := h.run("query", "jobs")
	if code != ExitFailure || out != "" || !strings.Contains(errs, "no cache yet") || !strings.Contains(errs, "opsdeck sync") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a query created the cache: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("a query created the cache directory: %v", err)
	}
}

func TestGetFromCache(t *testing.T) {
	h := newHarness(t, fixtureCache(t))
	golden(t, "get.job", h.mustRun("get", "job", "j-0003"))
	golden(t, "get.task", h.mustRun("get", "task", "t-0001"))
	out := h.mustRun("get", "action", "t-0001", "Add to Sales Group")
	var a map[string]any
	if err := json.Unmarshal([]byte(out), &a); err != nil || a["state"] != "ERRORED" || a["raw"] == nil {
		t.Errorf("action: %v %s", err, out)
	}
	code, _, errs := h.run("get", "job", "j-9999")
	if code != ExitFailure || !strings.Contains(errs, `job "j-9999": not found`) || !strings.Contains(errs, "--remote") {
		t.Errorf("missing job: %d %q", code, errs)
	}
	for _, args := range [][]string{{"get"}, {"get", "job"}, {"get", "action", "t-0001"}, {"get", "widget", "x"}} {
		if code, _, _ := h.run(args...); code != ExitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

func TestGlobalFlagsAnywhere(t *testing.T) {
	h := newHarness(t, fixtureCache(t))
	var profile string
	h.env.Globals = func(fs *flag.FlagSet) { fs.StringVar(&profile, "profile", "", "profile") }
	if got := h.mustRun("query", "jobs", "--count", "--profile", "prod"); got != "4\n" || profile != "prod" {
		t.Errorf("count %q, profile %q", got, profile)
	}
	if _, _, errs := h.run("restart", "--help"); !strings.Contains(errs, "-profile") {
		t.Errorf("help lacks the global flag: %q", errs)
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	h := newHarness(t, fixtureCache(t))
	for _, name := range Commands() {
		code, out, errs := h.run(name, "--help")
		if code != 0 || out != "" || !strings.Contains(errs, "Usage: opsdeck "+name) || !strings.Contains(errs, "Example:\n  ") || !strings.Contains(errs[strings.Index(errs, "Example:"):], "opsdeck ") {
			t.Errorf("%s --help: exit %d, stderr %q", name, code, errs)
		}
	}
}
