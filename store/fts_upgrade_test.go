package store

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestFTSUpgradeToDetailNone: migration 0008 replaces a v7 cache's
// free-text index (detail=full, filled) with a detail=none one: every job
// goes back to the backlog, searches give the same rows before and after
// the backlog is indexed, and the new index is what answers afterwards.
func TestFTSUpgradeToDetailNone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	db, err := sql.Open("sqlite", dsn(path, "", "journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, 7); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"Alan Smith", "Grace Hopper", "Jo Smithson", "abcXbcd"} {
		if _, err := db.Exec("INSERT INTO jobs (job_id, state, identity_name, created_at) VALUES (?, 'COMPLETED', ?, ?)", "j"+string(rune('a'+i)), name, i); err != nil {
			t.Fatal(err)
		}
	}
	// v7 indexed them (detail=full).
	if _, err := db.Exec(`INSERT INTO jobs_fts (jobs_fts) VALUES ('rebuild'); UPDATE jobs_fts_state SET indexed_upto = 4`); err != nil {
		t.Fatal(err)
	}
	var sqlText string
	db.QueryRow("SELECT sql FROM sqlite_schema WHERE name = 'jobs_fts'").Scan(&sqlText)
	if strings.Contains(sqlText, "detail") {
		t.Fatalf("v7 index already %s: the test proves nothing", sqlText)
	}
	db.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.r.QueryRow("SELECT sql FROM sqlite_schema WHERE name = 'jobs_fts'").Scan(&sqlText)
	if !strings.Contains(sqlText, "detail = none") {
		t.Fatalf("index after upgrade: %s", sqlText)
	}
	if s.text.backlog.Load() != 4 {
		t.Fatalf("backlog %d after the upgrade, want all 4 jobs", s.text.backlog.Load())
	}
	count := func() int {
		n, err := s.CountQuery(ctx, EntityJobs, Query{Text: "smith"})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 2 {
		t.Fatalf("before indexing: %d matches for smith, want 2", n)
	}
	if err := s.FlushTextIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("after indexing: %d matches for smith, want 2", n)
	}
	// "abcd": both its trigrams are in "abcXbcd", not next to each other.
	// The index finds the row, the LIKE check drops it.
	var superset int
	s.r.QueryRow("SELECT count(*) FROM jobs_fts WHERE jobs_fts MATCH ?", ftsTrigrams("abcd")).Scan(&superset)
	if superset != 1 {
		t.Fatalf("the index finds %d rows for abcd, want the 1 superset row", superset)
	}
	if n, _ := s.CountQuery(ctx, EntityJobs, Query{Text: "abcd"}); n != 0 {
		t.Fatalf("%d matches for a text whose trigrams all occur but not together", n)
	}
	if rows, err := s.Jobs(ctx, Query{Text: "abcd"}, nil, false, 10); err != nil || len(rows) != 0 {
		t.Fatalf("page for abcd: %d rows, %v", len(rows), err)
	}
	var indexed int
	s.r.QueryRow("SELECT count(*) FROM jobs_fts WHERE jobs_fts MATCH ?", ftsTrigrams("smith")).Scan(&indexed)
	if indexed != 2 {
		t.Fatalf("the new index finds %d rows for smith, want 2", indexed)
	}
}

// TestFTSTrigrams: every trigram of a short text, quoted (a quote doubled),
// lower-cased, once; a long one at most maxTrigrams spread over it, the
// last included.
func TestFTSTrigrams(t *testing.T) {
	for text, want := range map[string]string{
		"abc":      `"abc"`,
		"abcd":     `"abc" AND "bcd"`,
		`a"bA"b`:   `"a""b" AND """ba" AND "ba"""`,
		"ÉtéÉté":   `"été" AND "téé" AND "éét"`,
		"aaaaaaaa": `"aaa"`,
	} {
		if got := ftsTrigrams(text); got != want {
			t.Errorf("%q: %s, want %s", text, got, want)
		}
	}
	long := strings.Repeat("abcdefghij", 10) + "xyz"
	got := ftsTrigrams(long)
	if n := strings.Count(got, " AND ") + 1; n > maxTrigrams+1 {
		t.Fatalf("%d terms for a long text", n)
	}
	if !strings.HasSuffix(got, `"xyz"`) {
		t.Fatalf("last trigram missing: %s", got)
	}
}
