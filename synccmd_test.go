package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/emulator"
)

const emuToken = "Tk-9f3c1e55d0b74a2e-SECRET"

// emuServer serves an in-process emulator on loopback; wrap may alter the
// handler (to inject a 403).
func emuServer(t *testing.T, scale int, wrap func(http.Handler) http.Handler) (*emulator.Server, string) {
	t.Helper()
	emu := emulator.New(emulator.Options{Seed: 11, Scale: scale, Token: emuToken})
	var h http.Handler = emu
	if wrap != nil {
		h = wrap(emu)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return emu, srv.URL
}

// writeConfig writes a config file (mode 0600) and points
// XDG_CONFIG_HOME at it.
func writeConfig(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "opsdeck", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func jobCount(t *testing.T, cache string) int {
	t.Helper()
	st, err := store.OpenReadOnly(cache)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.Count(context.Background(), store.EntityJobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSyncTokenNeverStoredOrLogged syncs through each way of giving the
// token, then greps every file the sync wrote, and its output, for it.
func TestSyncTokenNeverStoredOrLogged(t *testing.T) {
	emu, url := emuServer(t, 300, nil)
	_, _, wantJobs := emu.Counts()
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte(emuToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		env     map[string]string
		profile string // config profile body; "" = no config, VEZA_URL/VEZA_TOKEN
	}{
		{"env", map[string]string{"VEZA_URL": url, "VEZA_TOKEN": emuToken}, ""},
		{"token_env", map[string]string{"MY_TOKEN": emuToken}, "token_env: MY_TOKEN"},
		{"token_file", nil, "token_file: " + tokFile},
		{"token_command", nil, "token_command: printf '%s\\n' " + emuToken + "; echo " + emuToken + " >&2"},
		{"inline token", nil, "token: " + emuToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cache := filepath.Join(dir, "c.db")
			env := map[string]string{"VEZA_URL": "", "VEZA_TOKEN": ""}
			for k, v := range c.env {
				env[k] = v
			}
			if c.profile != "" {
				env["XDG_CONFIG_HOME"] = writeConfig(t, "profiles:\n  p:\n    url: "+url+"\n    "+c.profile+"\n")
			}
			code, stdout, stderr := runMain(t, env, "sync", "--cache", cache, "--debug")
			if code != 0 {
				t.Fatalf("sync exit %d\n%s", code, stderr)
			}
			if n := jobCount(t, cache); n != wantJobs {
				t.Fatalf("cache has %d jobs, emulator %d", n, wantJobs)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			if len(files) < 2 {
				t.Fatalf("expected the cache and the log in %s: %v", dir, files)
			}
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(b, []byte(emuToken)) {
					t.Fatalf("token found in %s", f)
				}
			}
			if strings.Contains(stdout+stderr, emuToken) {
				t.Fatalf("token in the command's output:\n%s", stderr)
			}
		})
	}
}

func TestSyncFailedSourceExitsNonZeroWithSummary(t *testing.T) {
	_, url := emuServer(t, 300, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/lifecycle_management/policy_tasks") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `{"code":"PermissionDenied","message":"missing permission lcm:tasks:read"}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	cache := filepath.Join(t.TempDir(), "c.db")
	code, _, stderr := runMain(t, map[string]string{"VEZA_URL": url, "VEZA_TOKEN": emuToken},
		"sync", "--cache", cache, "--sources", "jobs,tasks")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	for _, want := range []string{"jobs            ok", "tasks           FAILED", "HTTP 403", "1 of 2 sources failed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("output lacks %q:\n%s", want, stderr)
		}
	}
	if jobCount(t, cache) == 0 {
		t.Fatal("a failing source kept the others from syncing")
	}
}

func TestSyncPlainOutputIsOneLinePerPage(t *testing.T) {
	_, url := emuServer(t, 450, nil)
	cache := filepath.Join(t.TempDir(), "c.db")
	code, _, stderr := runMain(t, map[string]string{"VEZA_URL": url, "VEZA_TOKEN": emuToken}, "sync", "--cache", cache, "--sources", "jobs")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var pages []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "jobs: page ") {
			pages = append(pages, l)
		}
	}
	// 450 jobs in pages of 100: 5 pages (after the newest-jobs head).
	if len(pages) != 5 || !strings.Contains(pages[4], "page 5, 450 rows") || !strings.Contains(stderr, "jobs: done, 450 rows") {
		t.Fatalf("pages %q\n%s", pages, stderr)
	}
	if strings.Contains(stderr, "\x1b[") {
		t.Fatal("escape sequences in plain output")
	}
	// A first sync loads in bulk mode and says when it builds its indexes.
	if !strings.Contains(stderr, "jobs: 450 rows stored in ") || !strings.Contains(stderr, "building indexes") {
		t.Fatalf("no indexing line:\n%s", stderr)
	}
}

func TestBarProgressRendering(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	var out bytes.Buffer
	v := newBarProgress(&out, clock)
	now = now.Add(2 * time.Second)
	v.update(opsync.Progress{Source: "events", Pages: 2, Rows: 2000, Total: 8000})
	if s := out.String(); !strings.Contains(s, "25%") || !strings.Contains(s, "1,000/s") || !strings.Contains(s, "ETA 6s") {
		t.Fatalf("known total: %q", s)
	}
	now = now.Add(time.Second)
	v.update(opsync.Progress{Source: "events", Pages: 8, Rows: 8000, Total: 8000, Done: true})
	v.update(opsync.Progress{Source: "jobs", Pages: 3, Rows: 300, Total: -1})
	now = now.Add(time.Second)
	v.update(opsync.Progress{Source: "jobs", Pages: 3, Rows: 300, Total: -1, Done: true, Err: fmt.Errorf("veza list_jobs: HTTP 403")})
	v.finish()
	s := out.String()
	i := strings.LastIndex(s, "\x1b[2A") // the final redraw: two lines up, then both lines
	if i < 0 {
		t.Fatalf("no two-line redraw: %q", s)
	}
	last := s[i:]
	for _, want := range []string{"✓ events", "8,000 rows in 3s (2,666 rows/s)", "✗ jobs", "failed after 300 rows: veza list_jobs: HTTP 403"} {
		if !strings.Contains(last, want) {
			t.Errorf("final frame lacks %q: %q", want, last)
		}
	}
}

func TestPruneCommand(t *testing.T) {
	emu, url := emuServer(t, 2000, nil)
	cache := filepath.Join(t.TempDir(), "c.db")
	if code, _, stderr := runMain(t, map[string]string{"VEZA_URL": url, "VEZA_TOKEN": emuToken}, "sync", "--cache", cache, "--sources", "jobs"); code != 0 {
		t.Fatalf("sync: %s", stderr)
	}
	_, _, total := emu.Counts()
	// Cut the emulator's history in two: it ends just before its Now.
	cut := emu.Now().Add(-24 * time.Hour)
	age := time.Since(cut).Round(time.Hour)
	cut = time.Now().Add(-age)
	older := func() int {
		st, err := store.OpenReadOnly(cache)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		n, err := st.Count(context.Background(), store.EntityJobs, nil)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	code, out, stderr := runMain(t, nil, "prune", "--older-than", fmt.Sprintf("%dh", int(age.Hours())), "--cache", cache, "--dry-run")
	if code != 0 || !strings.Contains(out, "would delete rows older than") {
		t.Fatalf("dry run %d: %s %s", code, out, stderr)
	}
	if older() != total {
		t.Fatal("dry run deleted rows")
	}
	code, out, stderr = runMain(t, nil, "prune", "--older-than", fmt.Sprintf("%dh", int(age.Hours())), "--cache", cache)
	if code != 0 || !strings.Contains(out, "deleted rows older than") || !strings.Contains(out, "are now free") {
		t.Fatalf("prune %d: %s %s", code, out, stderr)
	}
	left := older()
	if left == 0 || left >= total {
		t.Fatalf("prune left %d of %d jobs; want some, not all", left, total)
	}
	if !strings.Contains(out, fmt.Sprintf("jobs            %10s", thousands(total-left))) {
		t.Fatalf("reported counts do not match the cache (%d deleted):\n%s", total-left, out)
	}
	st, err := store.OpenReadOnly(cache)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.Jobs(context.Background(), store.Query{Sort: "created_at"}, nil, false, 1) // oldest first
	if err != nil || len(rows) != 1 || rows[0].CreatedAt < cut.Add(-time.Minute).UnixMilli() {
		t.Fatalf("oldest job left %v (cut %s): %v", rows, cut, err)
	}
	counts, _ := st.StateCounts(context.Background(), store.EntityJobs)
	sum := 0
	for _, n := range counts {
		sum += n
	}
	if sum != left {
		t.Fatalf("state counts sum to %d, table has %d", sum, left)
	}
}

// TestSyncFollow keeps syncing on the profile's interval and stops cleanly
// on SIGINT.
func TestSyncFollow(t *testing.T) {
	if testing.Short() {
		t.Skip("waits one 5 s sync interval; skipped in -short")
	}
	emu, url := emuServer(t, 300, nil)
	cfg := writeConfig(t, "profiles:\n  p:\n    url: "+url+"\n    token_env: FOLLOW_TOKEN\n    interval: 5s\n")
	cache := filepath.Join(t.TempDir(), "c.db")
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("VEZA_URL", "")
	t.Setenv("FOLLOW_TOKEN", emuToken)
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run([]string{"sync", "--follow", "--cache", cache, "--sources", "jobs"}, io.Discard, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	rounds := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "next sync at ") {
			if rounds++; rounds == 2 {
				// The handler of signal.NotifyContext is in place: this
				// interrupts the command, not the test binary.
				syscall.Kill(os.Getpid(), syscall.SIGINT)
			}
		}
	}
	if c := <-code; c != 0 {
		t.Fatalf("follow exit %d", c)
	}
	if rounds != 2 {
		t.Fatalf("rounds %d", rounds)
	}
	_, _, jobs := emu.Counts()
	if n := jobCount(t, cache); n != jobs {
		t.Fatalf("jobs %d want %d", n, jobs)
	}
}

func TestSyncSocotraProfile(t *testing.T) {
	emu, url := emuServer(t, 300, nil)
	cfg := writeConfig(t, "profiles:\n  billing:\n    provider: socotra\n    url: "+url+"\n    tenant: "+emu.SocotraTenant()+"\n")
	cache := filepath.Join(t.TempDir(), "c.db")
	code, _, stderr := runMain(t, map[string]string{"XDG_CONFIG_HOME": cfg, "VEZA_URL": "", "SOCOTRA_TOKEN": emuToken}, "sync", "--cache", cache)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"socotra-events  ok", "socotra-failed  ok"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	st, err := store.OpenReadOnly(cache)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.Count(context.Background(), store.EntitySocotraEvents, nil); err != nil || n == 0 {
		t.Fatalf("socotra events in the cache: %d %v", n, err)
	}
	st.Close()
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(cache), "*"))
	for _, f := range files {
		if b, _ := os.ReadFile(f); bytes.Contains(b, []byte(emuToken)) {
			t.Fatalf("token found in %s", f)
		}
	}
	if strings.Contains(stderr, emuToken) {
		t.Fatal("token in the output")
	}
	// A Veza source name is refused for a Socotra profile.
	code, _, stderr = runMain(t, map[string]string{"XDG_CONFIG_HOME": cfg, "VEZA_URL": "", "SOCOTRA_TOKEN": emuToken}, "sync", "--cache", cache, "--sources", "jobs")
	if code != 2 || !strings.Contains(stderr, `"jobs" is not a source of a socotra profile (sources: socotra-events, socotra-failed)`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestBarProgressNoteGoesAboveTheBars(t *testing.T) {
	now := time.Unix(1000, 0)
	var out bytes.Buffer
	v := newBarProgress(&out, func() time.Time { return now })
	v.update(opsync.Progress{Source: "jobs", Pages: 1, Rows: 100, Total: -1, Done: true})
	v.update(opsync.Progress{Source: "actions", Pages: 1, Rows: 100, Total: -1, Done: true})
	out.Reset()
	v.note("cannot reach https://x (connection refused): retrying")
	got := out.String()
	want := "\x1b[2A\r\x1b[2Kcannot reach https://x (connection refused): retrying\n\r\x1b[2K✓ jobs"
	if !strings.HasPrefix(got, want) || strings.Count(got, "\x1b[2K") != 3 || strings.Count(got, "\x1b[") != 4 {
		t.Fatalf("note frame %q", got)
	}
}
