package store

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"testing"
)

// hostileJobs are rows whose values are hard to pack: NUL bytes (the
// separator), invalid UTF-8, control characters, empty strings, extreme
// integers.
func hostileJobs(g *gen) []JobRow {
	var out []JobRow
	edit := []func(*JobRow){
		func(r *JobRow) { r.IdentityName = "nul\x00inside" },
		func(r *JobRow) { r.ErrorMessage = "\x00"; r.State = "ERRORED" },
		func(r *JobRow) { r.WorkflowName = "bad \xff\xfe utf8 \x1b[2J \u202e" },
		func(r *JobRow) { r.ActionName, r.ActionType, r.PolicyID, r.EventSource = "", "", "", "" },
		func(r *JobRow) { r.StartedAt, r.CompletedAt, r.EventsCreated = -1, math.MaxInt64, math.MinInt64 },
		func(r *JobRow) { r.AnyChanges = true; r.IdentityID = "\x00" },
		func(r *JobRow) { r.ExtractionEventType = "trailing nul\x00" },
		func(r *JobRow) { r.ErrorMessage = "Zoë 李 ünïcödé 🙂, comma, \"quote\"" },
	}
	for _, f := range edit {
		r := g.job(500, false)
		f(&r)
		out = append(out, r)
	}
	return out
}

// walkPages reads every page of q with read, forward, in pages of size.
func walkPages(t *testing.T, q Query, size int, read func(dst []JobRow, after *Key) ([]JobRow, error)) []JobRow {
	t.Helper()
	var all, buf []JobRow
	var after *Key
	for {
		page, err := read(buf, after)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < size {
			return all
		}
		k := JobKey(q, page[len(page)-1])
		after = &k
		buf = page // reused: rows already appended to all must not change
	}
}

// TestJobsPackedMatchColumns: pages read packed (jobsInto, Jobs) are
// exactly the pages read column by column, for clean rows and for rows the
// packing cannot carry (which fall back).
func TestJobsPackedMatchColumns(t *testing.T) {
	s := openTest(t)
	g := newGen(5)
	var rows []JobRow
	for i := 0; i < 1200; i++ {
		step := int64(1000)
		if i%5 == 0 {
			step = 0 // ties on created_at
		}
		rows = append(rows, g.job(step, i%4 == 0))
		if i%300 == 150 {
			rows = append(rows, hostileJobs(g)...)
		}
	}
	for i := 0; i < len(rows); i += 100 {
		if _, err := s.WriteJobs(ctx, rows[i:min(i+100, len(rows))], nil); err != nil {
			t.Fatal(err)
		}
	}
	queries := []Query{
		{},
		{Desc: true},
		{Where: mustParse(t, `state eq "ERRORED"`)},
		{Where: mustParse(t, `state eq "ERRORED"`), Desc: true},
		{Sort: "identity_name", Where: mustParse(t, `not (state eq "COMPLETED")`)},
		{Text: "ada"},
		{Text: "inside"},
	}
	for _, q := range queries {
		for _, size := range []int{1, 7, 100, 5000} {
			t.Run(fmt.Sprintf("%v/%s/desc=%v/text=%q/size=%d", q.Where, q.Sort, q.Desc, q.Text, size), func(t *testing.T) {
				want := walkPages(t, q, size, func(dst []JobRow, after *Key) ([]JobRow, error) {
					return s.jobsByColumns(ctx, dst, q, after, false, size)
				})
				got := walkPages(t, q, size, func(dst []JobRow, after *Key) ([]JobRow, error) {
					return s.jobsInto(ctx, dst, q, after, false, size)
				})
				if len(want) == 0 && q.Text == "" {
					t.Fatal("query matched nothing: the comparison proves nothing")
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("packed pages differ from column pages:\n got %d rows\nwant %d rows\nfirst diff: %s", len(got), len(want), firstDiff(got, want))
				}
				plain := walkPages(t, q, size, func(_ []JobRow, after *Key) ([]JobRow, error) {
					return s.Jobs(ctx, q, after, false, size)
				})
				if !reflect.DeepEqual(plain, want) {
					t.Fatalf("Jobs differs from column pages: %s", firstDiff(plain, want))
				}
			})
		}
	}

	// Backward pages, as the TUI reads them from the end.
	q := Query{Desc: true}
	mid, err := s.jobsByColumns(ctx, nil, q, nil, false, 600)
	if err != nil || len(mid) != 600 {
		t.Fatalf("%d rows, %v", len(mid), err)
	}
	k := JobKey(q, mid[599])
	got, err := s.jobsInto(ctx, nil, q, &k, true, 50)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.jobsByColumns(ctx, nil, q, &k, true, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("backward page: got %d rows, want %d: %s", len(got), len(want), firstDiff(got, want))
	}
}

// TestJobsPackedPath: clean pages really are read packed, and a page
// holding a NUL really is refused by the packed scan (so the fallback, not
// luck, makes TestJobsPackedMatchColumns pass on it).
func TestJobsPackedPath(t *testing.T) {
	s := openTest(t)
	g := newGen(9)
	clean := g.jobs(50, 1000, true)
	if _, err := s.WriteJobs(ctx, clean, nil); err != nil {
		t.Fatal(err)
	}
	packed := func(q Query) ([]JobRow, error) {
		return pageInto(ctx, s, jobsEntity, jobsPackedSelect, q, nil, false, 1000, nil, scanJobPacked)
	}
	got, err := packed(Query{})
	if err != nil {
		t.Fatalf("clean rows: the packed scan failed: %v", err)
	}
	if len(got) != len(clean) {
		t.Fatalf("clean rows: %d read, %d written", len(got), len(clean))
	}
	bad := g.job(1000, false)
	bad.IdentityName = "a\x00b"
	if _, err := s.WriteJobs(ctx, []JobRow{bad}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := packed(Query{}); !errors.Is(err, errUnpacked) {
		t.Fatalf("a NUL in a value: packed scan error %v, want errUnpacked", err)
	}
	rows, err := s.Jobs(ctx, Query{}, nil, false, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rows); n != len(clean)+1 || rows[n-1].IdentityName != "a\x00b" {
		t.Fatalf("fallback page: %d rows, last %q", n, rows[n-1].IdentityName)
	}
}

func TestUnpackJob(t *testing.T) {
	good := "7\x00j\x00ERRORED\x00t\x00a\x00T\x00p\x00w\x00i\x00n\x00s\x00si\x00e\x00et\x00-1\x002\x003\x001\x004\x00msg\x00sig\x009"
	var r JobRow
	if !unpackJob(good, &r) {
		t.Fatal("a well-formed value did not unpack")
	}
	want := JobRow{RowID: 7, JobID: "j", State: "ERRORED", PolicyTask: "t", ActionName: "a", ActionType: "T", PolicyID: "p",
		WorkflowName: "w", IdentityID: "i", IdentityName: "n", EventSource: "s", EventSourceID: "si", ExtractionEvent: "e",
		ExtractionEventType: "et", StartedAt: -1, CompletedAt: 2, CreatedAt: 3, AnyChanges: true, EventsCreated: 4,
		ErrorMessage: "msg", ErrorSignature: "sig", SyncedAt: 9}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("unpacked %+v\nwant %+v", r, want)
	}
	for _, bad := range []string{
		"",
		good + "\x00extra",
		good[:len(good)-2],             // one part short
		replaceNth(good, "1", "2", 0),  // any_changes 2
		replaceNth(good, "-1", "x", 0), // started_at not a number
		replaceNth(good, "9", "99999999999999999999", 0), // overflows int64
	} {
		if unpackJob(bad, &JobRow{}) {
			t.Errorf("%q unpacked", bad)
		}
	}
}

// replaceNth replaces the n-th (0-based) NUL-separated part equal to old.
func replaceNth(s, old, new string, n int) string {
	parts := splitNUL(s)
	for i, p := range parts {
		if p == old {
			if n == 0 {
				parts[i] = new
				break
			}
			n--
		}
	}
	out := parts[0]
	for _, p := range parts[1:] {
		out += "\x00" + p
	}
	return out
}

func splitNUL(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func firstDiff(got, want []JobRow) string {
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			return fmt.Sprintf("row %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

func TestAtoi(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "42", "1750000000000", "-9223372036854775808", "9223372036854775807",
		"999999999999999999", "-999999999999999999", "1000000000000000000", "9223372036854775808", "-9223372036854775809",
		"", "-", "+1", "1a", " 1", "01", "--1", "1.5", "\x00", "12345678901234567890123"} {
		want, err := strconv.ParseInt(s, 10, 64)
		got, ok := atoi(s)
		if ok != (err == nil) || ok && got != want {
			t.Errorf("atoi(%q) = %d, %v; ParseInt %d, %v", s, got, ok, want, err)
		}
	}
}

// TestJobsPackedPlans: the packed SELECT list leaves the plan as it is
// (same index, no sort) for the list's usual queries.
func TestJobsPackedPlans(t *testing.T) {
	s := openTest(t)
	errored := mustParse(t, `state eq "ERRORED"`)
	key := &Key{Sort: int64(1_750_000_000_000), RowID: 1234}
	for _, q := range []Query{{}, {Desc: true}, {Where: errored}, {Where: errored, Desc: true},
		{Where: mustParse(t, `policy_task eq "t" and action_name eq "a"`)}, {Sort: "completed_at", Desc: true}} {
		for _, after := range []*Key{nil, key} {
			plain, args, err := jobsEntity.pageSQLSelect(jobsEntity.listSelect(), q, after, false, 50, textIndexed)
			if err != nil {
				t.Fatal(err)
			}
			packed, pargs, err := jobsEntity.pageSQLSelect(jobsPackedSelect, q, after, false, 50, textIndexed)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(args, pargs) {
				t.Fatalf("args %v and %v", args, pargs)
			}
			if p, pp := explain(t, s, plain, args), explain(t, s, packed, args); p != pp {
				t.Errorf("%v sort=%s desc=%v: plan %q, packed %q", q.Where, q.Sort, q.Desc, p, pp)
			}
		}
	}
}
