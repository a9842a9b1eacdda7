//go:build linux

package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/opsdeck/opsdeck/store"
)

const unprivilegedEnv = "OPSDECK_TEST_UNPRIVILEGED"

// unprivileged runs the calling test again in a child process as the user
// nobody when the tests run as root (a container, CI), where permission
// bits do not apply; it returns true in the parent, which is then done.
func unprivileged(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv(unprivilegedEnv) != "" {
		return false
	}
	// The test binary lives in a directory only root may enter.
	dir, err := os.MkdirTemp("", "opsdeck-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "test.bin")
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(dst, src)
	src.Close()
	if cerr := dst.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), unprivilegedEnv+"=1", "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("as nobody:\n%s", out)
	if err != nil {
		t.Fatalf("the test failed as nobody: %v", err)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skip("skipped as nobody")
	}
	return true
}

// TestReadOnlyCacheDirectory: with the cache in a directory opsdeck may
// not write, `sync` fails at once with a message naming the file and the
// permission, and leaves the cache as it was; the read-only commands
// (query, offline use) still read it.
func TestReadOnlyCacheDirectory(t *testing.T) {
	if unprivileged(t) {
		return
	}
	emu, url := emuServer(t, 300, nil)
	_, _, jobs := emu.Counts()
	dir := filepath.Join(t.TempDir(), "ro")
	cache := filepath.Join(dir, "c.db")
	env := map[string]string{"VEZA_URL": url, "VEZA_TOKEN": emuToken}
	if code, _, stderr := runMain(t, env, "sync", "--cache", cache, "--sources", "jobs"); code != 0 {
		t.Fatalf("sync: %s", stderr)
	}
	before, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if f, err := os.Create(filepath.Join(dir, "probe")); err == nil {
		f.Close()
		t.Skip("this user can write a 0500 directory: permissions do not apply")
	}

	code, _, stderr := runMain(t, env, "sync", "--cache", cache, "--sources", "jobs")
	t.Logf("sync: exit %d: %s", code, stderr)
	if code != 1 || !strings.Contains(stderr, dir) || !strings.Contains(stderr, "permission denied") || strings.Contains(stderr, "panic") {
		t.Fatalf("sync into a read-only directory: exit %d, stderr %q", code, stderr)
	}
	if strings.Contains(stderr, emuToken) {
		t.Fatal("the token is in the error")
	}
	if after, _ := os.ReadFile(cache); string(after) != string(before) {
		t.Fatal("the cache changed")
	}

	code, stdout, stderr := runMain(t, map[string]string{"VEZA_URL": ""}, "query", "jobs", "--cache", cache, "-o", "jsonl")
	if code != 0 || strings.Count(stdout, "\n") != jobs {
		t.Fatalf("query of a read-only cache: exit %d, %d lines (want %d), stderr %q", code, strings.Count(stdout, "\n"), jobs, stderr)
	}

	// The TUI opens such a cache offline, read-only, even though no log
	// file can be created beside it.
	if err := os.Remove(filepath.Join(dir, "opsdeck.log")); err == nil {
		t.Fatal("removed a file from a read-only directory")
	}
	ro := filepath.Join(t.TempDir(), "ro2")
	if err := os.Mkdir(ro, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ro, "c.db"), before, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(ro, 0o700) })
	log, closeLog, err := (&logFlags{}).open(filepath.Join(ro, "c.db"))
	if err != nil {
		t.Fatalf("the log beside a cache in a read-only directory: %v", err)
	}
	log.Info("no panic")
	closeLog()
	if st, err := store.OpenReadOnly(filepath.Join(ro, "c.db")); err != nil {
		t.Fatalf("OpenReadOnly in a read-only directory: %v", err)
	} else if n, _ := st.Count(context.Background(), "jobs", nil); n != jobs {
		st.Close()
		t.Fatalf("read-only cache holds %d jobs, want %d", n, jobs)
	} else {
		st.Close()
	}

	// A new cache there: the same clear refusal.
	code, _, stderr = runMain(t, env, "sync", "--cache", filepath.Join(dir, "new.db"), "--log", filepath.Join(t.TempDir(), "log"))
	if code != 1 || !strings.Contains(stderr, "permission denied") {
		t.Fatalf("new cache in a read-only directory: exit %d, stderr %q", code, stderr)
	}
}
