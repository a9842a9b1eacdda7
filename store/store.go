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
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // the "sqlite" driver: pure Go, CGO_ENABLED=0 works
)

// Primary SQLite result codes (the low byte of an extended code).
const (
	sqliteBusy     = 5
	sqliteReadOnly = 8
	sqliteCantOpen = 14
)

// sqliteCode is err's primary SQLite result code, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

var (
	// ErrNotCache: the file exists but is not an opsdeck cache (not SQLite,
	// corrupt, or somebody else's database). The file is left untouched.
	ErrNotCache = errors.New("not an opsdeck cache")
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("not found")
	// ErrReadOnly: a write on a store opened with OpenReadOnly.
	ErrReadOnly = errors.New("cache is open read-only")
	// ErrOldSchema: a read-only open found a cache an older opsdeck made;
	// opening it read-write once upgrades it.
	ErrOldSchema = errors.New("cache schema is older than this opsdeck")
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
	ws, rs   *stmtCache
	readOnly bool
	ckpt     *checkpointer // nil when read-only

	text textIndexState // the free-text index's backlog (store/triage.go)
	// bulkHead caches the job ids of a bulk load's head (store/bulk.go).
	bulkHeadMu sync.Mutex
	bulkHead   struct {
		upto int64
		ids  map[string]bool
	}

	closeOnce sync.Once
	closeErr  error
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
func Open(path string) (_ *Store, err error) {
	defer func() { err = damagedHint(err) }()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create cache directory: %w", err)
	}
	if err := checkExisting(path); err != nil {
		return nil, err
	}
	// A cache we may read but not write: say so in a way callers can test
	// (errors.Is(err, os.ErrPermission)) and fall back to OpenReadOnly.
	if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open %s: %w", path, err)
	} else if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		// SQLite would create the file 0644: the cache holds the tenant's
		// data, so it is created 0600 here (an empty file is an empty
		// database), and SQLite gives the -wal and -shm files its mode.
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	tightenModes(path) // an older opsdeck's 0644 cache (store/filemode.go)

	// Pragmas in the DSN apply to every connection the pool ever opens.
	// synchronous=NORMAL in WAL mode syncs at checkpoints only: a power cut
	// can lose the last transactions, never corrupt the file, and the cache
	// can always be re-synced. cache_size is per connection (negative = KiB)
	// and is memory the process keeps: 32 MiB holds every hot index page of a
	// 100k-job cache for the writer, 8 MiB per reader holds what page queries
	// touch (MEASURED-LIMITS sets 50 MB RSS for a 1M-row cache).
	// Checkpoints run in the background (checkpointer); the writer's own
	// autocheckpoint is only the backstop that lets the WAL restart once it
	// reaches 16384 pages (128 MiB). journal_size_limit then trims the file.
	w, err := sql.Open("sqlite", dsn(path, "",
		"busy_timeout("+fmt.Sprint(busyTimeoutMS)+")",
		"foreign_keys(1)",
		"synchronous(NORMAL)",
		"cache_size(-32768)",
		"temp_store(MEMORY)",
		"wal_autocheckpoint(16384)",
		"journal_size_limit(67108864)",
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
	// journal_mode (which writes the header). Measured on 100k and 1M job
	// ingests: 4 KiB pages waste ~10% around 2.2 KB rows and double the
	// syscalls; 16-32 KiB pages win at 100k rows but fall behind at 1M, where
	// every random job_id insert rewrites a whole page.
	for _, p := range []string{"PRAGMA page_size = 8192", "PRAGMA journal_mode = WAL"} {
		if err := retryBusy(func() error { _, err := w.ExecContext(ctx, p); return err }); err != nil {
			w.Close()
			if code := sqliteCode(err); code == sqliteReadOnly || code == sqliteCantOpen {
				// Typically a directory we may not write: no room for the WAL.
				return nil, fmt.Errorf("open %s: %w (%w)", path, os.ErrPermission, err)
			}
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
		"cache_size(-8192)",
	))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	ckpt, err := startCheckpointer(path)
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	s := &Store{path: path, w: w, r: r, ws: newStmtCache(w), rs: newStmtCache(r), ckpt: ckpt}
	// The writer's statements are prepared now: the writer has a single
	// connection, so preparing one inside a transaction would wait for
	// itself.
	// A first sync killed long ago left the jobs in bulk mode (store/bulk.go).
	if err := s.endStaleBulk(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	for _, spec := range []writeSpec{jobsWrite, tasksWrite, actionsWrite} {
		bulk, err := bulkTx(ctx, s.w, bulkTables[spec.table])
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		for _, q := range []string{spec.upsert, spec.lookup, bulkTables[spec.table].insert} {
			if bulk && q == spec.upsert {
				continue // its conflict target is back at the end of the load
			}
			if _, err := s.ws.get(ctx, q); err != nil {
				s.Close()
				return nil, fmt.Errorf("open %s: prepare: %w", path, err)
			}
		}
	}
	if err := s.openTriage(ctx); err != nil { // store/triage.go
		s.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

// damagedHint tells what to do about a cache SQLite finds damaged (a bad
// disk, a half-copied file): it is only a cache, so a new one will do.
func damagedHint(err error) error {
	if err == nil || !strings.Contains(err.Error(), "malformed") {
		return err
	}
	return fmt.Errorf("%w (the cache file is damaged: move it away and opsdeck builds a new one with a full sync)", err)
}

// OpenReadOnly opens an existing cache for offline inspection without
// writing to it: every write method returns ErrReadOnly.
func OpenReadOnly(path string) (_ *Store, err error) {
	defer func() { err = damagedHint(err) }()
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := checkExisting(path); err != nil {
		return nil, err
	}
	r, err := openRO(path, 4)
	if err != nil {
		return nil, fmt.Errorf("open %s read-only: %w", path, err)
	}
	v, err := schemaVersion(context.Background(), r)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("open %s read-only: %w", path, err)
	}
	if v != len(migrations) {
		r.Close()
		if v < len(migrations) {
			return nil, fmt.Errorf("open %s read-only: %w: v%d, this opsdeck needs v%d (open it read-write once to upgrade)", path, ErrOldSchema, v, len(migrations))
		}
		return nil, fmt.Errorf("open %s read-only: cache schema is v%d, this opsdeck needs v%d (open it read-write once to upgrade)", path, v, len(migrations))
	}
	return &Store{path: path, r: r, rs: newStmtCache(r), readOnly: true}, nil
}

// openRO opens path with mode=ro. A WAL database whose -shm file is gone
// (a clean close deletes it) cannot be opened that way in a directory we
// may not write to; then the file is opened as immutable, which is exact as
// long as nobody writes it meanwhile, and nobody can in such a directory.
func openRO(path string, conns int) (*sql.DB, error) {
	var lastErr error
	for _, mode := range []string{"mode=ro", "mode=ro&immutable=1"} {
		db, err := sql.Open("sqlite", dsn(path, mode,
			"busy_timeout("+fmt.Sprint(busyTimeoutMS)+")",
			"query_only(1)",
			"cache_size(-8192)",
		))
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(conns)
		// sql.Open connects lazily; this is where SQLite opens the file.
		var id int
		if lastErr = db.QueryRow("PRAGMA application_id").Scan(&id); lastErr == nil {
			return db, nil
		}
		db.Close()
	}
	return nil, lastErr
}

// Close closes the cache. The last connection to close checkpoints the WAL,
// leaving a single self-contained file. Closing twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, c := range []*stmtCache{s.rs, s.ws} {
			if c != nil {
				c.close()
			}
		}
		if s.ckpt != nil {
			errs = append(errs, s.ckpt.close())
		}
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		if s.w != nil {
			errs = append(errs, s.w.Close()) // last: it checkpoints and removes the WAL
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
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
// has tables but not our application_id; and a cache whose schema is newer
// than this build's. A missing or empty file is fine.
func checkExisting(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	hdr := make([]byte, 100)
	n, err := io.ReadFull(f, hdr)
	f.Close()
	switch {
	case n == 0 && err == io.EOF:
		return nil // SQLite treats an empty file as an empty database
	case err != nil && err != io.ErrUnexpectedEOF:
		return fmt.Errorf("open %s: %w", path, err) // a directory, say
	}
	notCache := func(why string, args ...any) error {
		return fmt.Errorf("%s is not an opsdeck cache: %s: %w", path, fmt.Sprintf(why, args...), ErrNotCache)
	}
	if n < len(hdr) || !bytes.HasPrefix(hdr, sqliteMagic) {
		return notCache("not an SQLite database")
	}

	// Ask SQLite itself (read-only), so a header still in the WAL counts.
	db, err := openRO(path, 1)
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

func nowMS() int64 { return time.Now().UnixMilli() }

// retryBusy retries f while it fails with SQLITE_BUSY, up to the busy
// timeout. Switching a new file to WAL needs an exclusive lock and SQLite
// does not wait for it through busy_timeout, so two opsdeck processes
// creating the same cache at once would otherwise fail.
func retryBusy(f func() error) error {
	deadline := time.Now().Add(busyTimeoutMS * time.Millisecond)
	for {
		err := f()
		if sqliteCode(err) != sqliteBusy || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// queryRow runs a read through the statement cache.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.rs.get(ctx, query)
	if err != nil {
		// A Row carrying the error: the caller's Scan reports it.
		return s.r.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs a read through the statement cache.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.rs.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}
