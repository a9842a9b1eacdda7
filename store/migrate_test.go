package store

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func pragmaInt(t *testing.T, db *sql.DB, name string) int {
	t.Helper()
	var v int
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenFresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "cache.db") // parent dirs do not exist yet
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := pragmaInt(t, s.w, "user_version"); got != len(migrations) {
		t.Errorf("user_version = %d, want %d", got, len(migrations))
	}
	if got := pragmaInt(t, s.w, "application_id"); got != appID {
		t.Errorf("application_id = %#x, want %#x", got, appID)
	}
	var mode string
	if err := s.w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if got := pragmaInt(t, s.w, "foreign_keys"); got != 1 {
		t.Errorf("foreign_keys = %d", got)
	}
	if got := pragmaInt(t, s.w, "synchronous"); got != 1 { // NORMAL
		t.Errorf("synchronous = %d, want 1 (NORMAL)", got)
	}
	if got := pragmaInt(t, s.w, "busy_timeout"); got != busyTimeoutMS {
		t.Errorf("busy_timeout = %d", got)
	}
	var logged int
	if err := s.w.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&logged); err != nil || logged != len(migrations) {
		t.Errorf("schema_migrations has %d rows (%v), want %d", logged, err, len(migrations))
	}
	for _, table := range []string{"tasks", "actions", "jobs", "sync_cursors", "meta", "state_counts"} {
		var n int
		if err := s.r.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	// The read pool must not be able to write.
	if _, err := s.r.Exec("INSERT INTO meta (key, value) VALUES ('x', 'y')"); err == nil {
		t.Error("read pool accepted a write")
	}
}

func TestMigrationFilesNumbered(t *testing.T) {
	if len(migrations) < 2 {
		t.Fatalf("%d migrations", len(migrations))
	}
	for i, m := range migrations {
		if m.version != i+1 || !strings.HasPrefix(m.name, fmt.Sprintf("%04d_", i+1)) || m.sql == "" {
			t.Errorf("migration %d is %q (v%d)", i, m.name, m.version)
		}
	}
}

func TestReopenIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := newGen(1).jobs(10, 1000, true)
	if _, err := s.WriteJobs(ctx, rows, &Cursor{"veza/jobs", "t1"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for i := 0; i < 2; i++ {
		s, err = Open(path)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		var logged int
		s.w.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&logged)
		if logged != len(migrations) {
			t.Errorf("reopen %d: %d migrations logged, want %d", i, logged, len(migrations))
		}
		if n, err := s.Count(ctx, EntityJobs, nil); err != nil || n != 10 {
			t.Errorf("reopen %d: %d jobs, %v", i, n, err)
		}
		if v, ok, err := s.GetCursor(ctx, "veza/jobs"); v != "t1" || !ok || err != nil {
			t.Errorf("cursor = %q %v %v", v, ok, err)
		}
		s.Close()
	}
}

// TestUpgradeFromV1 builds a cache at schema v1 (before state counters),
// fills it, and checks that Open upgrades it and backfills the counters.
func TestUpgradeFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	db, err := sql.Open("sqlite", dsn(path, "", "journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, 1); err != nil {
		t.Fatal(err)
	}
	if got := pragmaInt(t, db, "user_version"); got != 1 {
		t.Fatalf("user_version = %d", got)
	}
	for i, st := range []string{"RUNNING", "ERRORED", "ERRORED", "COMPLETED"} {
		if _, err := db.Exec("INSERT INTO jobs (job_id, state, created_at) VALUES (?, ?, ?)", "job-"+string(rune('a'+i)), st, i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("INSERT INTO tasks (id, state) VALUES ('t1', 'BLOCKED')"); err != nil {
		t.Fatal(err)
	}
	var hasCounts int
	db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name = 'state_counts'").Scan(&hasCounts)
	if hasCounts != 0 {
		t.Fatal("v1 already has state_counts")
	}
	db.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := pragmaInt(t, s.w, "user_version"); got != len(migrations) {
		t.Errorf("user_version after upgrade = %d", got)
	}
	want := map[string]int{"RUNNING": 1, "ERRORED": 2, "COMPLETED": 1}
	if got, err := s.StateCounts(ctx, EntityJobs); err != nil || !equalCounts(got, want) {
		t.Errorf("jobs counts = %v, %v; want %v", got, err, want)
	}
	if got, _ := s.StateCounts(ctx, EntityTasks); !equalCounts(got, map[string]int{"BLOCKED": 1}) {
		t.Errorf("task counts = %v", got)
	}
	// And the upgraded cache keeps counting.
	if _, err := s.WriteJobs(ctx, []JobRow{{JobID: "job-a", State: "ERRORED", Raw: []byte(`{}`)}}, nil); err != nil {
		t.Fatal(err)
	}
	want = map[string]int{"ERRORED": 3, "COMPLETED": 1}
	if got, _ := s.StateCounts(ctx, EntityJobs); !equalCounts(got, want) {
		t.Errorf("after write: %v, want %v", got, want)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRefuseForeignFiles: anything that is not an opsdeck cache is refused
// with ErrNotCache by Open and OpenReadOnly, and left byte for byte as it was.
func TestRefuseForeignFiles(t *testing.T) {
	dir := t.TempDir()
	foreignDB := func(name string, stmts ...string) string {
		p := filepath.Join(dir, name)
		db, err := sql.Open("sqlite", dsn(p, ""))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range stmts {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		return p
	}
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 2048)
	cases := map[string]string{
		"text":            file("notes.txt", []byte("hello, I am not a database\n")),
		"binary":          file("blob.bin", garbage),
		"sqlite header":   file("corrupt.db", append(append([]byte{}, sqliteMagic...), garbage...)),
		"foreign sqlite":  foreignDB("other.db", "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO customers (name) VALUES ('ada')"),
		"other app id":    foreignDB("app.db", "PRAGMA application_id = 1234", "CREATE TABLE t (x)"),
		"foreign in WAL":  foreignDB("wal.db", "PRAGMA journal_mode = WAL", "CREATE TABLE t (x)"),
		"look-alike jobs": foreignDB("jobs.db", "CREATE TABLE jobs (job_id TEXT)"),
	}
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open accepted it")
			}
			if !errors.Is(err, ErrNotCache) || !strings.Contains(err.Error(), path+" is not an opsdeck cache") {
				t.Errorf("Open error = %v", err)
			}
			if s, err := OpenReadOnly(path); err == nil || !errors.Is(err, ErrNotCache) {
				if s != nil {
					s.Close()
				}
				t.Errorf("OpenReadOnly error = %v", err)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Error("the file was modified")
			}
		})
	}
}

func TestOpenEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatalf("an empty file is a new cache: %v", err)
	}
	s.Close()
}

func TestRefuseNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, _ := os.ReadFile(path)
	if s, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a v99 cache: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the file was modified")
	}
}

// TestConcurrentFirstOpen: two processes (here two Stores) creating the same
// cache at once take turns migrating; both end up with a working cache.
func TestConcurrentFirstOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	errs := make(chan error, 4)
	stores := make(chan *Store, 4)
	for i := 0; i < 4; i++ {
		go func() {
			s, err := Open(path)
			errs <- err
			stores <- s
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
		if s := <-stores; s != nil {
			defer s.Close()
		}
	}
}

func TestCloseLeavesOneFile(t *testing.T) {
	s := openTest(t)
	if _, err := s.WriteJobs(ctx, newGen(1).jobs(50, 1, true), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(s.Path() + suffix); err == nil {
			t.Errorf("%s left behind", suffix)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
