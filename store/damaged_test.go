package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDamagedCacheFailsClearly: an opsdeck cache whose header is intact
// but whose pages were overwritten (a bad disk, a half-copied file) never
// panics: Open or the first query that meets the damage returns an error
// that says the file is damaged, and paging stops there.
func TestDamagedCacheFailsClearly(t *testing.T) {
	for _, from := range []float64{0.05, 0.6} { // from which fraction of the file on
		t.Run(fmt.Sprint(from), func(t *testing.T) { damagedCache(t, from) })
	}
}

func damagedCache(t *testing.T, from float64) {
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rows := make([]JobRow, 3000)
	for i := range rows {
		rows[i] = JobRow{JobID: fmt.Sprintf("job-%05d", i), State: "COMPLETED", CreatedAt: int64(i) * 1000,
			IdentityName: strings.Repeat("n", 200), Raw: []byte(`{}`)}
	}
	if _, err := s.WriteJobs(ctx, rows, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := []byte(strings.Repeat("\xde\xad\xbe\xef", 8192/4))
	first := int64(float64(fi.Size())*from) / 8192 * 8192
	for off := first; off < fi.Size(); off += 8192 * 3 { // every third page
		if _, err := f.WriteAt(junk, off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	damaged, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err == nil {
		defer s.Close()
		pageUntilDamage(t, s)
		return
	}
	t.Logf("Open: %v", err)
	if !strings.Contains(err.Error(), "malformed") || !strings.Contains(err.Error(), "the cache file is damaged: move it away") {
		t.Fatalf("Open of a damaged cache: %v", err)
	}
	if now, _ := os.ReadFile(path); string(now) != string(damaged) {
		t.Fatal("Open changed the damaged file")
	}
	ro, err := OpenReadOnly(path)
	if err != nil {
		if !strings.Contains(err.Error(), "the cache file is damaged") {
			t.Fatalf("OpenReadOnly of a damaged cache: %v", err)
		}
		return
	}
	defer ro.Close()
	pageUntilDamage(t, ro)
}

// pageUntilDamage pages through the jobs and wants an error that says the
// file is malformed before the end.
func pageUntilDamage(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	var key *Key
	for n := 0; n < 100; n++ {
		page, err := s.Jobs(ctx, Query{}, key, false, 100)
		if err != nil {
			t.Logf("paging: %v", err)
			if !strings.Contains(err.Error(), "malformed") {
				t.Fatalf("error does not say the cache is damaged: %v", err)
			}
			return
		}
		if len(page) == 0 {
			break
		}
		k := JobKey(Query{}, page[len(page)-1])
		key = &k
	}
	t.Fatal("every page of a damaged cache read without an error")
}
