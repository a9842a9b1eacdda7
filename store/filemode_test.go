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
