package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestCacheFilesArePrivate: a new cache, its WAL and shared-memory files
// are 0600 and the directory Open creates for it 0700, whatever the
// umask: the cache holds the tenant's identities and errors.
func TestCacheFilesArePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "dir", "c.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(context.Background(), "k", "v"); err != nil { // the WAL exists now
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(f), m)
		}
	}
	for _, d := range []string{filepath.Dir(path), filepath.Dir(filepath.Dir(path))} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o700 {
			t.Errorf("%s: mode %04o, want 0700", d, m)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening keeps the mode (and a second Open never recreates the file).
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, ok, _ := s.GetMeta(context.Background(), "k"); !ok || v != "v" {
		t.Fatalf("reopened cache lost its data: %q %v", v, ok)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("reopened: mode %04o", fi.Mode().Perm())
	}
}

// TestOpenTightensOldCacheModes: a cache an older opsdeck left 0644 (with
// -wal/-shm files 0644) in a 0755 directory is private again after a
// writable Open; a read-only Open changes nothing, and a directory that
// also holds other people's files keeps its mode (only the cache files are
// opsdeck's to tighten).
func TestOpenTightensOldCacheModes(t *testing.T) {
	mode := func(p string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	// makeOld writes a cache with data, then loosens it like an old opsdeck.
	makeOld := func(dir string) string {
		t.Helper()
		path := filepath.Join(dir, "c.db")
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetMeta(context.Background(), "k", "v"); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{path + "-wal", path + "-shm"} {
			// An old cache after a crash: the WAL files are still there.
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(f, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}

	dir := filepath.Join(t.TempDir(), "opsdeck")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := makeOld(dir)
	if err := os.WriteFile(filepath.Join(dir, "opsdeck.log"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	// Read-only: nothing is ours to change.
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	ro.Close()
	if m := mode(path); m != 0o644 {
		t.Fatalf("OpenReadOnly changed the mode to %04o", m)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if _, err := os.Stat(f); err != nil {
			continue // SQLite may have removed an empty WAL file
		}
		if m := mode(f); m != 0o600 {
			t.Errorf("%s: mode %04o after Open, want 0600", filepath.Base(f), m)
		}
	}
	if m := mode(dir); m != 0o700 {
		t.Errorf("cache directory: mode %04o after Open, want 0700", m)
	}
	if v, ok, _ := s.GetMeta(context.Background(), "k"); !ok || v != "v" {
		t.Fatalf("tightened cache lost its data: %q %v", v, ok)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A shared directory: the cache is tightened, the directory is not.
	shared := t.TempDir()
	path = makeOld(shared)
	if err := os.WriteFile(filepath.Join(shared, "notes.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if m := mode(path); m != 0o600 {
		t.Errorf("cache in a shared directory: mode %04o, want 0600", m)
	}
	if m := mode(shared); m != 0o755 {
		t.Errorf("shared directory: mode %04o, want it left 0755", m)
	}
}
