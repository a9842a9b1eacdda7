package store

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// A cache (and the log beside it) holds the tenant's identities and errors.
// Open creates new ones private, but a cache written by an older opsdeck
// may be 0644 in a 0755 directory: a writable Open takes group and other
// access away from it. It never fails an Open: a file or directory we may
// not chmod (someone else's, a read-only mount) stays as it is.

// tightenModes removes group and other access from the cache file at path,
// its -wal, -shm and -journal files, and from its directory when that
// directory holds nothing but opsdeck's files (see dedicatedDir).
func tightenModes(path string) {
	if runtime.GOOS == "windows" {
		return // no POSIX permission bits to tighten
	}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		tighten(path + suffix)
	}
	if dir := filepath.Dir(path); dedicatedDir(dir) {
		tighten(dir)
	}
}

// tighten clears the group and other bits of the file or directory p, if
// any are set (through a symlink: what it points at holds the data).
// Errors are ignored: p may be missing (no WAL yet) or not ours to change.
func tighten(p string) {
	fi, err := os.Stat(p)
	if err != nil {
		return
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		_ = os.Chmod(p, fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)|perm&^0o077)
	}
}

// dedicatedMaxEntries bounds how much of a directory dedicatedDir reads: a
// directory with more entries than this is not a cache directory.
const dedicatedMaxEntries = 256

// dedicatedDir reports whether dir is a directory opsdeck owns: one whose
// entries are all caches (*.db and their -wal/-shm/-journal files), logs
// (*.log) and crash reports (opsdeck-crash-*.txt). The default data
// directory is one; a --cache in the user's home, a project directory or
// /tmp is not, and its mode is not opsdeck's to change. A sticky directory
// is shared by definition.
func dedicatedDir(dir string) bool {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || fi.Mode()&fs.ModeSticky != 0 {
		return false
	}
	if home, err := os.UserHomeDir(); err == nil && sameDir(home, dir) {
		return false
	}
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	entries, err := f.ReadDir(dedicatedMaxEntries + 1)
	if (err != nil && err != io.EOF) || len(entries) > dedicatedMaxEntries {
		return false
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !opsdeckFile(e.Name()) {
			return false
		}
	}
	return true
}

// opsdeckFile reports whether name is one opsdeck writes into its directory.
func opsdeckFile(name string) bool {
	for _, suffix := range []string{".db", ".db-wal", ".db-shm", ".db-journal", ".log"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return strings.HasPrefix(name, "opsdeck-crash-") && strings.HasSuffix(name, ".txt")
}

func sameDir(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
