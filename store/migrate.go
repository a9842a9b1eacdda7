package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations are the embedded migrations/NNNN_name.sql files in order.
// Version N is the file numbered N; numbers must be 1..len without gaps.
var migrations = loadMigrations()

func loadMigrations() []migration {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	var ms []migration
	for i, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			panic(fmt.Sprintf("store: migration %s: want number %04d", base, i+1))
		}
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			panic(err)
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(base, ".sql"), sql: string(b)})
	}
	return ms
}

// schemaVersion is the number of the last migration applied (0 for a new
// database). PRAGMA user_version is the source of truth; schema_migrations is
// a human-readable log of when each ran.
func schemaVersion(ctx context.Context, h handler) (int, error) {
	var v int
	err := h.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}

// migrate applies migrations up to and including version target, each in its
// own transaction together with its user_version bump, so a crash leaves the
// schema at a whole version. db must begin IMMEDIATE transactions (the
// writer's _txlock): two processes opening a new cache at once then take
// turns, and the second finds the work done.
func migrate(ctx context.Context, db *sql.DB, target int) error {
	for _, m := range migrations[:target] {
		if err := applyMigration(ctx, db, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	cur, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if cur > len(migrations) {
		return fmt.Errorf("cache schema v%d is newer than this opsdeck understands (v%d)", cur, len(migrations))
	}
	if cur >= m.version {
		return nil
	}
	if cur != m.version-1 {
		return fmt.Errorf("cache schema is v%d, cannot apply v%d", cur, m.version)
	}
	stmts := []string{
		m.sql,
		`CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		) STRICT`,
		// Pragmas take no parameters; both values are our own integers.
		fmt.Sprintf("PRAGMA application_id = %d", appID),
		fmt.Sprintf("PRAGMA user_version = %d", m.version),
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, nowMS()); err != nil {
		return err
	}
	return tx.Commit()
}
