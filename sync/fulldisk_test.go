//go:build linux

package sync

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

const fullDiskEnv = "OPSDECK_TEST_FULLDISK" // "URL|cache path" for the child

// TestFullDiskLosesNothing: a sync whose cache cannot grow (a child process
// with RLIMIT_FSIZE, so every write past the limit fails with EFBIG, as on
// a full disk) stops with an error that says so, without a panic; the
// cache is intact, keeps every page committed before the failure, and a
// later sync with room completes it exactly.
func TestFullDiskLosesNothing(t *testing.T) {
	if v := os.Getenv(fullDiskEnv); v != "" {
		fullDiskChild(t, v)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	emu := emulator.New(emulator.Options{Seed: 7, Scale: 3000, Token: "emu-token-test"})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cache := filepath.Join(t.TempDir(), "c.db")

	cmd := exec.Command(os.Args[0], "-test.run=^TestFullDiskLosesNothing$", "-test.v")
	cmd.Env = append(os.Environ(), fullDiskEnv+"="+srv.URL+"|"+cache)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "panic") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var syncErr string
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "SYNC ERROR: "); ok {
			syncErr = v
		}
	}
	t.Logf("sync error on a full disk: %s", syncErr)
	if !strings.HasPrefix(syncErr, "sync jobs: ") || !strings.Contains(syncErr, "disk") {
		t.Fatalf("want an error naming the source and the disk, got %q\n%s", syncErr, out)
	}

	checkResumeAfterFullDisk(t, emu, srv.URL, cache)
}

// TestFullTmpfsLosesNothing is the same on a real full file system: a
// 1.5 MiB tmpfs (root only; skipped elsewhere), grown after the failure.
func TestFullTmpfsLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a file system")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1536k,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	emu := emulator.New(emulator.Options{Seed: 7, Scale: 3000, Token: "emu-token-test"})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cache := filepath.Join(dir, "c.db")
	st, err := store.Open(cache)
	if err != nil {
		t.Fatal(err)
	}
	c, err := veza.New(srv.URL, "emu-token-test", veza.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	err = New(st, c, Options{NoHead: true, Sources: []string{"jobs"}}).Run(context.Background(), nil)
	st.Close()
	if err == nil {
		t.Fatal("a sync onto a full file system succeeded")
	}
	t.Logf("sync error on a full tmpfs: %v", err)
	if !strings.HasPrefix(err.Error(), "sync jobs: ") || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("want an error naming the source and the full disk, got %q", err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=64m"); err != nil {
		t.Fatalf("grow the tmpfs: %v", err)
	}
	checkResumeAfterFullDisk(t, emu, srv.URL, cache)
}

// checkResumeAfterFullDisk: the cache is intact, holds what was committed
// before the failure, and a sync with room completes it exactly.
func checkResumeAfterFullDisk(t *testing.T, emu *emulator.Server, url, cache string) {
	t.Helper()
	db, err := sql.Open("sqlite", cache)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	db.Close()
	st, err := store.Open(cache)
	if err != nil {
		t.Fatalf("reopen after the full disk: %v", err)
	}
	defer st.Close()
	ctx := context.Background()
	before, err := st.Count(ctx, "jobs", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, want := emu.Counts()
	if before == 0 || before >= want {
		t.Fatalf("%d of %d jobs before the failure: the limit did not bite mid-sync", before, want)
	}
	if _, ok, _ := st.GetCursor(ctx, "veza/jobs"); !ok {
		t.Fatal("no jobs cursor: the committed pages lost their resume point")
	}

	// With room again, the sync resumes from its cursor and the cache ends
	// equal to the tenant: nothing committed was lost, nothing skipped.
	c, err := veza.New(url, "emu-token-test", veza.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := New(st, c, Options{NoHead: true, Sources: []string{"jobs"}}).Run(ctx, nil); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if n, _ := st.Count(ctx, "jobs", nil); n != want {
		t.Fatalf("after the resume the cache has %d jobs, the tenant %d", n, want)
	}
	got, _ := st.StateCounts(ctx, store.EntityJobs)
	if fmt.Sprint(got) != fmt.Sprint(emu.StateCounts()) {
		t.Fatalf("state counters %v, tenant %v", got, emu.StateCounts())
	}
}

// fullDiskChild syncs jobs into a cache that may not grow past 1.5 MiB.
func fullDiskChild(t *testing.T, arg string) {
	url, cache, _ := strings.Cut(arg, "|")
	st, err := store.Open(cache)
	if err != nil {
		t.Fatal(err)
	}
	// Past the limit a write fails with EFBIG instead of killing the
	// process (SIGXFSZ), like a write on a full disk fails with ENOSPC.
	signal.Ignore(syscall.SIGXFSZ)
	lim := syscall.Rlimit{Cur: 3 << 19, Max: 3 << 19}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	c, err := veza.New(url, "emu-token-test", veza.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	err = New(st, c, Options{NoHead: true, Sources: []string{"jobs"}}).Run(context.Background(), nil)
	if err == nil {
		t.Fatal("a sync past the file size limit succeeded")
	}
	fmt.Printf("SYNC ERROR: %s\n", err)
	st.Close() // may fail too: the checkpoint cannot grow the file
}
