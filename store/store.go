// Package store is the SQLite cache: the room where synced Lifecycle
// Management tasks, actions and integration jobs live between the sync
// (which writes pages into it) and the views (which read keyset pages out of
// it, online or offline). It owns the schema and its embedded migrations, the
// upserts with their sync cursors, the per-state counters and the paged
// queries. It knows nothing about the network or the wire types: sync converts
// to the row types declared here.
//
// One writer connection does every write; reads go through a separate small
// pool so a page query never waits behind a sync transaction (WAL mode).
package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go, CGO_ENABLED=0)
)

var (
	// ErrNotCache: the file exists but is not an opsdeck cache (not SQLite,
	// corrupt, or somebody else's database). The file is left untouched.
	ErrNotCache = errors.New("not an opsdeck cache")
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("not found")
	// ErrReadOnly: a write on a store opened with OpenReadOnly.
	ErrReadOnly = errors.New("cache is open read-only")
)

// appID marks an opsdeck cache in the SQLite header (PRAGMA application_id),
// so a foreign database is recognised before anything is written to it.
const appID = 0x6f707364 // "opsd"

// busyTimeoutMS bounds how long a connection waits for another process's lock
// (a second opsdeck on the same cache) before SQLITE_BUSY.
const busyTimeoutMS = 5000

// Store is an open cache. Its methods are safe for concurrent use.
type Store struct {
	path     string
	w        *sql.DB // the single writer connection; nil when read-only
	r        *sql.DB // read pool
	readOnly bool
}

// handler is what a query needs: *sql.DB, *sql.Tx and *sql.Conn all satisfy
// it, so a helper runs the same inside a transaction or outside one.
type handler interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ handler = (*sql.DB)(nil)
	_ handler = (*sql.Tx)(nil)
)

// Open opens the cache at path, creating it (and its directory) if needed and
// upgrading its schema. A file that is not an opsdeck cache is refused with
// ErrNotCache and never modified.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create cache directory: %w", err)
	}
	if err := checkExisting(path); err != nil {
		return nil, err
	}

	// Pragmas in the DSN apply to every connection the pool ever opens.
	// synchronous=NORMAL in WAL mode syncs at checkpoints only: a power cut
	// can lose the last transactions, never corrupt the file, and the cache
	// can always be re-synced. cache_size is per connection (negative = KiB).
	w, err := sql.Open("sqlite", dsn(path, "",
		"busy_timeout("+fmt.Sprint(busyTimeoutMS)+")",
		"foreign_keys(1)",
		"synchronous(NORMAL)",
		"cache_size(-65536)",
		"temp_store(MEMORY)",
	)+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	ctx := context.Background()
	// page_size only takes effect on a new, empty file, so it must precede
	// journal_mode (which writes the header). 8 KiB pages hold three ~2 KB
	// job rows where 4 KiB pages hold one, with ~40% slack.
	ps := "8192"
	if v := os.Getenv("XPS"); v != "" {
		ps = v // TEMP experiment
	}
	for _, p := range []string{"PRAGMA page_size = " + ps, "PRAGMA journal_mode = WAL"} {
		if _, err := w.ExecContext(ctx, p); err != nil {
			w.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	if err := migrate(ctx, w, len(migrations)); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", dsn(path, "",
		"busy_timeout("+fmt.Sprint(busyTimeoutMS)+")",
		"query_only(1)",
		"cache_size(-16384)",
	))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	return &Store{path: path, w: w, r: r}, nil
}

// OpenReadOnly opens an existing cache for offline inspection without
// writing to it (mode=ro): every write method returns ErrReadOnly. When the
// directory is not writable and SQLite cannot create its WAL index, the file
// is opened as immutable instead.
func OpenReadOnly(path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := checkExisting(path); err != nil {
		return nil, err
	}
	var lastErr error
	for _, extra := range []string{"mode=ro", "mode=ro&immutable=1"} {
		r, err := sql.Open("sqlite", dsn(path, extra,
			"busy_timeout("+fmt.Sprint(busyTimeoutMS)+")",
			"query_only(1)",
			"cache_size(-16384)",
		))
		if err != nil {
			return nil, err
		}
		r.SetMaxOpenConns(4)
		v, err := schemaVersion(context.Background(), r)
		if err != nil {
			r.Close()
			lastErr = err
			continue
		}
		if v != len(migrations) {
			r.Close()
			return nil, fmt.Errorf("open %s read-only: cache schema is v%d, this opsdeck needs v%d (open it read-write once to upgrade)", path, v, len(migrations))
		}
		return &Store{path: path, r: r, readOnly: true}, nil
	}
	return nil, fmt.Errorf("open %s read-only: %w", path, lastErr)
}

// Close closes the cache. The last connection to close checkpoints the WAL,
// leaving a single self-contained file.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// Path is the cache file's path.
func (s *Store) Path() string { return s.path }

// ReadOnly reports whether the store was opened with OpenReadOnly.
func (s *Store) ReadOnly() bool { return s.readOnly }

func dsn(path, extra string, pragmas ...string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	u := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	if extra != "" {
		u += "&" + extra
	}
	return u
}

var sqliteMagic = []byte("SQLite format 3\x00")

// checkExisting refuses, without writing to it, a file that is not an opsdeck
// cache: not SQLite at all, unreadable as SQLite, or an SQLite database that
// has tables but not our application_id. A missing or empty file is fine.
func checkExisting(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	hdr := make([]byte, 100)
	n, _ := f.Read(hdr)
	f.Close()
	if n == 0 {
		return nil // SQLite treats an empty file as an empty database
	}
	notCache := func(why string, args ...any) error {
		return fmt.Errorf("%s is not an opsdeck cache: %s: %w", path, fmt.Sprintf(why, args...), ErrNotCache)
	}
	if n < len(hdr) || !bytes.HasPrefix(hdr, sqliteMagic) {
		return notCache("not an SQLite database")
	}

	// Ask SQLite itself (read-only), so a header still in the WAL counts.
	db, err := sql.Open("sqlite", dsn(path, "mode=ro", "busy_timeout("+fmt.Sprint(busyTimeoutMS)+")", "query_only(1)"))
	if err != nil {
		return notCache("%v", err)
	}
	defer db.Close()
	ctx := context.Background()
	var id, tables int
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id); err != nil {
		return notCache("%v", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return notCache("%v", err)
	}
	switch {
	case id == appID:
	case id == 0 && tables == 0:
		return nil // an empty database: ours to initialise
	case id == 0:
		return notCache("a database with %d schema objects and no opsdeck marker", tables)
	default:
		return notCache("application_id %#x belongs to another program", id)
	}
	v, err := schemaVersion(ctx, db)
	if err != nil {
		return notCache("%v", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("%s: cache schema v%d is newer than this opsdeck understands (v%d); upgrade opsdeck or use another --cache", path, v, len(migrations))
	}
	return nil
}

// isBusy reports SQLite's "database is locked" family of errors.
func isBusy(err error) bool {
	return err != nil && strings.Contains(err.Error(), "SQLITE_BUSY")
}

func nowMS() int64 { return time.Now().UnixMilli() }
