package main

import (
	"bytes"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/store"
)

// TestCLIThroughMain: the headless commands are reachable from the binary's
// front door, with the profile resolved from the environment: a sync, then a
// count and a restart through the same profile.
func TestCLIThroughMain(t *testing.T) {
	emu, url := emuServer(t, 300, nil)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("VEZA_URL", url)
	t.Setenv("VEZA_TOKEN", emuToken)
	cache := filepath.Join(t.TempDir(), "c.db")
	var out, errb bytes.Buffer
	if code := run([]string{"sync", "--cache", cache, "--sources", "jobs,actions,tasks"}, &out, &errb); code != 0 {
		t.Fatalf("sync exit %d: %s", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"query", "jobs", "--count", "--cache", cache}, &out, &errb); code != 0 {
		t.Fatalf("query exit %d: %s", code, errb.String())
	}
	_, _, jobs := emu.Counts()
	if got, _ := strconv.Atoi(strings.TrimSpace(out.String())); got != jobs {
		t.Fatalf("query --count = %q, emulator has %d jobs", out.String(), jobs)
	}

	// --read-only anywhere on the line refuses a write (exit 2).
	out.Reset()
	errb.Reset()
	if code := run([]string{"restart", "some-task", "--yes", "--cache", cache, "--read-only"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "read-only") {
		t.Fatalf("restart under --read-only: exit %d, %q", code, errb.String())
	}
	// A bad filter is a usage error with a one-line message.
	errb.Reset()
	if code := run([]string{"query", "jobs", "--filter", `state eq`, "--cache", cache}, &out, &errb); code != 2 || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
		t.Fatalf("bad filter: exit %d, %q", code, errb.String())
	}
	// The token never reaches the output.
	if strings.Contains(out.String()+errb.String(), emuToken) {
		t.Fatal("token in CLI output")
	}
}

func TestCLICompletionNeedsNoProfile(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("VEZA_URL", "")
	var out, errb bytes.Buffer
	if code := run([]string{"completion", "bash"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "_opsdeck") {
		t.Fatalf("completion: exit %d, %q %q", code, out.String(), errb.String())
	}
	for _, c := range []string{"query", "sync", "demo", "automations"} {
		if !strings.Contains(out.String(), c) {
			t.Fatalf("completion does not offer %q", c)
		}
	}
}

// TestQueryUpgradesAnOldCache: a cache made by an older opsdeck is upgraded
// once by a query (which otherwise only ever opens read-only).
func TestQueryUpgradesAnOldCache(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("VEZA_URL", "")
	path := filepath.Join(t.TempDir(), "old.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	// As an opsdeck with six migrations left it.
	for _, q := range []string{"PRAGMA user_version = 6", "DELETE FROM schema_migrations WHERE version > 6"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if _, err := store.OpenReadOnly(path); !errors.Is(err, store.ErrOldSchema) {
		t.Fatalf("read-only open of a v6 cache: %v", err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"query", "jobs", "--count", "--cache", path}, &out, &errb); code != 0 || strings.TrimSpace(out.String()) != "0" {
		t.Fatalf("query on an old cache: exit %d, %q %q", code, out.String(), errb.String())
	}
	if st, err := store.OpenReadOnly(path); err != nil {
		t.Fatalf("the cache was not upgraded: %v", err)
	} else {
		st.Close()
	}
}
