package store

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/store/filter"
)

// testEvents makes n events one second apart: every 7th is an ERROR with an
// error object, every 3rd (not 7th) a WARNING, the rest INFO.
func testEvents(n int, base int64) []EventRow {
	rows := make([]EventRow, n)
	for i := range rows {
		sev, cat := "INFO", "INTEGRATIONS"
		var errObj, meta []byte
		reason, emsg := "", ""
		switch {
		case i%7 == 0:
			sev, cat = "ERROR", "SYSTEM"
			reason, emsg = "PERMISSION_DENIED", fmt.Sprintf("403 Forbidden #%d", i)
			meta = []byte(fmt.Sprintf(`{"attempt":"%d","phase":"extraction"}`, i%3))
			errObj = []byte(fmt.Sprintf(`{"reason":%q,"metadata":%s,"message":%q,"resolution":"Grant access.","request_id":"be920721634911577b8223f36f06ff1e"}`, reason, meta, emsg))
		case i%3 == 0:
			sev = "WARNING"
		}
		id := fmt.Sprintf("e%07d-bb88-4ef0-8d7f-e220fa2b33ca", i)
		rows[i] = EventRow{
			ID: id, Timestamp: base + int64(i)*1000, Severity: sev, Category: cat,
			EventType: "DATASOURCE_EXTRACTED", Name: "Data Source extracted",
			Message: fmt.Sprintf(`"DS-%d" Data Source extracted (%ds)`, i%5, i), Entity: "DATASOURCE",
			EntityID: fmt.Sprintf("ds-%d", i%5), EntityName: fmt.Sprintf("DS-%d", i%5), ProviderID: "prov-1",
			ErrorReason: reason, ErrorMessage: emsg, Error: errObj, Metadata: meta,
			Raw: []byte(fmt.Sprintf(`{"id":%q,"severity":%q}`, id, sev)),
		}
	}
	return rows
}

const evBase = int64(1_767_000_000_000)

func TestEventColumnsMatchSchema(t *testing.T) {
	s := openTest(t)
	rows, err := s.r.Query("SELECT name FROM pragma_table_info('events')")
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		have = append(have, n)
	}
	rows.Close()
	want := slices.Clone(eventCols)
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("events table has %v\ncolumn list has %v", have, want)
	}
	r := &EventRow{}
	if len(r.ptrs()) != len(eventCols) || len(r.args(0)) != len(eventCols)-1 {
		t.Errorf("%d columns, %d scan targets, %d args", len(eventCols), len(r.ptrs()), len(r.args(0)))
	}
	for _, f := range filter.Events.Fields {
		if !slices.Contains(eventCols, f.Column) {
			t.Errorf("events.%s: no column %q", f.Name, f.Column)
		}
		if _, ok := r.Field(f.Name); !ok {
			t.Errorf("events.%s: not a Field of EventRow", f.Name)
		}
	}
}

func TestWriteEventsUpsertCountsAndCursor(t *testing.T) {
	s := openTest(t)
	rows := testEvents(100, evBase)
	st, err := s.WriteEvents(ctx, rows, &Cursor{Source: "veza/events", Value: "tok-1"})
	if err != nil {
		t.Fatal(err)
	}
	if st != (WriteStats{Inserted: 100}) {
		t.Fatalf("first write %+v", st)
	}
	want := map[string]int{}
	for _, r := range rows {
		want[r.Severity]++
	}
	checkCounts := func() {
		t.Helper()
		got, err := s.StateCounts(ctx, EntityEvents)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("severity counts %v, want %v", got, want)
		}
		n, err := s.Count(ctx, EntityEvents, nil)
		if err != nil || n != len(rows) {
			t.Fatalf("count %d %v", n, err)
		}
	}
	checkCounts()
	if v, ok, _ := s.GetCursor(ctx, "veza/events"); !ok || v != "tok-1" {
		t.Fatalf("cursor %q %v", v, ok)
	}

	// The same page again (the export overlaps): nothing written. Twice in
	// one batch too.
	st, err = s.WriteEvents(ctx, append(slices.Clone(rows[:10]), rows[:10]...), &Cursor{Source: "veza/events", Value: "tok-2"})
	if err != nil {
		t.Fatal(err)
	}
	if st != (WriteStats{Unchanged: 20}) {
		t.Fatalf("re-write %+v", st)
	}
	checkCounts()

	// A changed event moves its severity counter.
	changed := rows[1] // INFO
	changed.Severity, changed.Raw = "ERROR", []byte(`{"changed":true}`)
	st, err = s.WriteEvents(ctx, []EventRow{changed}, nil)
	if err != nil || st != (WriteStats{Updated: 1}) {
		t.Fatalf("update %+v %v", st, err)
	}
	want["INFO"]--
	want["ERROR"]++
	checkCounts()
	if n, err := s.Count(ctx, EntityEvents, mustParse(t, `severity eq "error"`)); err != nil || n != want["ERROR"] {
		t.Fatalf("count ERROR (any case) = %d %v, want %d", n, err, want["ERROR"])
	}

	// A bad row fails the whole page: no row and no cursor move.
	bad := testEvents(5, evBase+1e9)
	for i := range bad {
		bad[i].ID = "new-" + bad[i].ID
	}
	bad[3].ID = ""
	if _, err := s.WriteEvents(ctx, bad, &Cursor{Source: "veza/events", Value: "tok-bad"}); err == nil {
		t.Fatal("empty id accepted")
	}
	if v, _, _ := s.GetCursor(ctx, "veza/events"); v != "tok-2" {
		t.Fatalf("cursor moved to %q by a failed write", v)
	}
	checkCounts()
}

func TestEventsKeysetPaging(t *testing.T) {
	s := openTest(t)
	rows := testEvents(500, evBase)
	// Ties on timestamp: rowid breaks them.
	for i := 100; i < 110; i++ {
		rows[i].Timestamp = rows[100].Timestamp
	}
	if _, err := s.WriteEvents(ctx, rows, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		filter string
		desc   bool
		sort   string
	}{
		{"", true, ""},
		{"", false, "timestamp"},
		{`severity eq "ERROR"`, true, ""},
		{`severity ne "INFO" and timestamp ge "2025-12-29T09:25:00Z"`, true, ""},
		{`message co "ds-3"`, false, "entity_name"},
		{`metadata co "extraction" and error_reason eq "permission_denied"`, true, ""},
	} {
		var where filter.Node
		if c.filter != "" {
			where = mustParse(t, c.filter)
		}
		q := Query{Where: where, Desc: c.desc, Sort: c.sort}
		var all []EventRow
		var after *Key
		for pages := 0; ; pages++ {
			page, err := s.Events(ctx, q, after, false, 37)
			if err != nil {
				t.Fatalf("%s: %v", c.filter, err)
			}
			all = append(all, page...)
			if len(page) < 37 {
				break
			}
			k := EventKey(q, page[len(page)-1])
			after = &k
		}
		pred, err := filter.Predicate(where, filter.Events)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for i := range rows {
			r := rows[i]
			if pred(func(f string) (any, bool) { return r.Field(f) }) {
				want++
			}
		}
		if len(all) != want || want == 0 {
			t.Fatalf("%q: paged %d rows, predicate says %d", c.filter, len(all), want)
		}
		seen := map[string]bool{}
		for i, r := range all {
			if seen[r.ID] {
				t.Fatalf("%q: %s twice", c.filter, r.ID)
			}
			seen[r.ID] = true
			if r.Raw != nil || r.Error != nil {
				t.Fatalf("list rows carry payloads")
			}
			if i > 0 && c.sort == "" {
				prev := all[i-1]
				if (c.desc && prev.Timestamp < r.Timestamp) || (!c.desc && prev.Timestamp > r.Timestamp) {
					t.Fatalf("%q: out of order at %d", c.filter, i)
				}
			}
		}
		// Backward from the end gives the last page in the same order.
		k := EventKey(q, all[len(all)-1])
		back, err := s.Events(ctx, q, &k, true, 5)
		if err != nil {
			t.Fatal(err)
		}
		wantBack := all[max(0, len(all)-6) : len(all)-1]
		if len(back) != len(wantBack) {
			t.Fatalf("%q: backward page of %d, want %d", c.filter, len(back), len(wantBack))
		}
		for i := range back {
			if back[i].ID != wantBack[i].ID {
				t.Fatalf("%q: backward page differs at %d", c.filter, i)
			}
		}
	}
}

// TestEventsSeverityUsesIndex: the ERROR view, newest first, seeks the
// (severity, timestamp) index instead of sorting the table.
func TestEventsSeverityUsesIndex(t *testing.T) {
	s := openTest(t)
	q := Query{Where: mustParse(t, `severity eq "ERROR"`), Desc: true}
	query, args, err := eventsEntity.pageSQL(q, &Key{Sort: evBase, RowID: 10}, false, 50)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		rows.Scan(&id, &parent, &notused, &detail)
		plan = append(plan, detail)
	}
	p := strings.Join(plan, "; ")
	if !strings.Contains(p, "events_sev_ts") || strings.Contains(p, "TEMP B-TREE") {
		t.Fatalf("plan: %s", p)
	}
}

func TestEventDetailAndNotFound(t *testing.T) {
	s := openTest(t)
	rows := testEvents(10, evBase)
	if _, err := s.WriteEvents(ctx, rows, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Event(ctx, rows[7].ID)
	if err != nil {
		t.Fatal(err)
	}
	w := rows[7]
	if got.RowID == 0 || got.SyncedAt == 0 || got.ID != w.ID || got.Timestamp != w.Timestamp || got.Severity != "ERROR" ||
		got.ErrorReason != w.ErrorReason || got.ErrorMessage != w.ErrorMessage || string(got.Error) != string(w.Error) ||
		string(got.Metadata) != string(w.Metadata) || string(got.Raw) != string(w.Raw) || got.EntityName != w.EntityName ||
		got.ProviderID != w.ProviderID || got.Entity != w.Entity || got.Category != w.Category || got.Message != w.Message {
		t.Fatalf("got %+v\nwant %+v", got, w)
	}
	info, err := s.Event(ctx, rows[1].ID)
	if err != nil || len(info.Error) != 0 || len(info.Metadata) != 0 {
		t.Fatalf("event without error: %+v %v", info, err)
	}
	if _, err := s.Event(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing event: %v", err)
	}
}

func TestWriteEventsReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteEvents(ctx, testEvents(3, evBase), nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.WriteEvents(ctx, testEvents(1, evBase), nil); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only write: %v", err)
	}
	if n, err := ro.Count(ctx, EntityEvents, nil); err != nil || n != 3 {
		t.Fatalf("read-only count %d %v", n, err)
	}
}

// TestUpgradeAddsEvents: a cache from before system events (schema v2,
// with jobs in it) gains the events table on Open and keeps its jobs.
func TestUpgradeAddsEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	db, err := sql.Open("sqlite", dsn(path, "", "journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO jobs (job_id, state, created_at) VALUES ('j1', 'ERRORED', 1)"); err != nil {
		t.Fatal(err)
	}
	var has int
	db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name = 'events'").Scan(&has)
	db.Close()
	if has != 0 {
		t.Fatal("v2 already has events")
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.WriteEvents(ctx, testEvents(14, evBase), nil); err != nil {
		t.Fatal(err)
	}
	ev, err := s.StateCounts(ctx, EntityEvents)
	if err != nil || ev["ERROR"] != 2 {
		t.Fatalf("events counts %v %v", ev, err)
	}
	if j, err := s.Job(ctx, "j1"); err != nil || j.State != "ERRORED" {
		t.Fatalf("job after upgrade: %+v %v", j, err)
	}
}
