package store

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestMarksUpgradeKeepsMarks: migration 0007 rebuilds the marks table (a new
// entity in its CHECK); the marks already there survive, the views still
// work, and a Socotra failed job can now be acknowledged.
func TestMarksUpgradeKeepsMarks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	db, err := sql.Open("sqlite", dsn(path, "", "journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, 6); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO marks (entity, key, note, acked_at) VALUES ('jobs', 'j1', 'seen', 5), ('group', 'sig', '', 6)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO marks (entity, key) VALUES ('socotra_failed', 'g\x1fn')`); err == nil {
		t.Fatal("v6 accepted a socotra_failed mark: the test proves nothing")
	}
	db.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, ok, err := s.Mark(ctx, MarkJobs, "j1")
	if err != nil || !ok || m.Note != "seen" || m.AckedAt != 5 {
		t.Fatalf("job mark after upgrade: %+v %v %v", m, ok, err)
	}
	if _, ok, _ := s.Mark(ctx, MarkGroup, "sig"); !ok {
		t.Fatal("group mark lost in the upgrade")
	}
	if err := s.Ack(ctx, MarkSocotraFailed, "g\x1fn", "billing knows"); err != nil {
		t.Fatalf("socotra mark after upgrade: %v", err)
	}
	var n int
	if err := s.queryRow(ctx, "SELECT count(*) FROM errored_jobs").Scan(&n); err != nil {
		t.Fatalf("errored_jobs view after upgrade: %v", err)
	}
	if err := s.queryRow(ctx, "SELECT count(*) FROM error_groups").Scan(&n); err != nil {
		t.Fatalf("error_groups view after upgrade: %v", err)
	}
}
