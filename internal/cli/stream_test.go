package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
)

// streamStrings are values the output must carry exactly: escapes, C1
// controls, bidi overrides, invalid UTF-8, NUL bytes (which the store's
// packed read cannot carry: their page falls back), astral runes.
var streamStrings = []string{
	"", "plain", "Zoë 李", hostile, "tab\there", "quote \" and \\ backslash", "nul\x00byte",
	"bad \xff\xfe utf8", "\x7f del", "\u2028 line sep", "emoji 🙂", "\u200b zero width", "cr\r\nlf",
	"\u0085 nel", "\xed\xa0\x80 surrogate", "trailing \xc3",
}

// streamTimes are unix ms values around the fast paths' edges.
var streamTimes = []int64{
	0, 1, -1, -86_400_001, 999, 86_399_999, 86_400_000, 951_782_400_000, // 2000-02-29
	4_102_444_800_000 - 1, 253_402_300_799_999, 253_402_300_800_000, math.MaxInt64, math.MinInt64,
}

// streamCache writes n generated jobs (every streamStrings value and
// streamTimes value in some field of some row, ties on created_at, rowid
// order unlike created_at order, ~1/8 ERRORED) and returns the cache path.
func streamCache(t testing.TB, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cache.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	states := []string{"COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "ERRORED", "RUNNING", "SKIPPED"}
	pick := func() string {
		if rng.IntN(4) == 0 {
			return streamStrings[rng.IntN(len(streamStrings))]
		}
		return fmt.Sprintf("value-%d", rng.IntN(50))
	}
	tm := func() int64 {
		if rng.IntN(10) == 0 {
			return streamTimes[rng.IntN(len(streamTimes))]
		}
		return base.UnixMilli() + rng.Int64N(90*24*3600*1000)
	}
	rows := make([]store.JobRow, 0, n)
	created := base.UnixMilli()
	for i := 0; i < n; i++ {
		if rng.IntN(3) > 0 {
			created += rng.Int64N(5000) // else a tie
		}
		r := store.JobRow{
			JobID: fmt.Sprintf("job-%05d", i), State: states[rng.IntN(len(states))],
			PolicyTask: pick(), ActionName: pick(), ActionType: pick(), PolicyID: pick(), WorkflowName: pick(),
			IdentityID: pick(), IdentityName: pick(), EventSource: pick(), EventSourceID: pick(),
			ExtractionEvent: pick(), ExtractionEventType: pick(),
			StartedAt: tm(), CompletedAt: tm(), CreatedAt: created, AnyChanges: rng.IntN(2) == 0,
			EventsCreated: rng.Int64N(5) - 1, ErrorMessage: pick(),
		}
		if i%97 == 0 {
			r.CreatedAt = streamTimes[i/97%len(streamTimes)]
		}
		if rng.IntN(3) == 0 {
			r.Request = []byte(`{"data_source":{"name":"` + fmt.Sprint(i) + `"},"note":"\u202e x"}`)
			r.Result = []byte(`{"error_messages":["boom ` + fmt.Sprint(i) + `"]}`)
		}
		rows = append(rows, r)
	}
	// Write in shuffled batches so rowid order is not created_at order.
	rng.Shuffle(len(rows)/100, func(i, j int) {
		for k := 0; k < 100; k++ {
			rows[i*100+k], rows[j*100+k] = rows[j*100+k], rows[i*100+k]
		}
	})
	ctx := context.Background()
	for i := 0; i < len(rows); i += 250 {
		if _, err := st.WriteJobs(ctx, rows[i:min(i+250, len(rows))], nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// streamQueries are the command lines the streaming tests compare.
var streamQueries = [][]string{
	{"query", "jobs", "-o", "jsonl"},
	{"query", "jobs", "-o", "json"},
	{"query", "jobs", "--filter", `state eq "ERRORED"`, "-o", "jsonl"},
	{"query", "jobs", "--filter", `state eq "ERRORED"`, "-o", "json", "--order-by", "created_at desc"},
	{"query", "errors", "-o", "jsonl"},
	{"query", "errors", "-o", "jsonl", "--details", "--limit", "300"},
	{"query", "jobs", "-o", "jsonl", "--fields", "synced_at,created_at,job_id,any_changes,events_created,error_message"},
	{"query", "jobs", "-o", "jsonl", "--order-by", "identity_name desc", "--limit", "1234"},
	{"query", "jobs", "-o", "jsonl", "--limit", "2000"},
	{"query", "jobs", "-o", "jsonl", "--search", "value-1", "--filter", `not (state eq "COMPLETED")`},
	{"query", "jobs", "-o", "json", "--filter", `state eq "BLOCKED"`},
	{"query", "jobs", "-o", "csv"},
	{"query", "jobs", "-o", "table", "--limit", "50"},
	{"query", "tasks", "-o", "jsonl"},
}

// TestStreamMatchesGeneric: json and jsonl from the fast path
// (writeJSON: accessors, day cache, read-ahead pages, packed store pages)
// are byte for byte what the value path (writeValues: source.get into
// []any, appendObject) writes, on a cache of hostile values.
func TestStreamMatchesGeneric(t *testing.T) {
	path := streamCache(t, 3000)
	h := newHarness(t, path)
	st, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	compared := 0
	for _, args := range streamQueries {
		src := sourceByName(args[1])
		fs := flag.NewFlagSet("query", flag.ContinueOnError)
		var o queryOpts
		o.register(fs)
		format := fmtTable
		outFlag(fs, &format)
		if err := fs.Parse(args[2:]); err != nil {
			t.Fatal(err)
		}
		if format != fmtJSON && format != fmtJSONL {
			continue
		}
		sel, err := o.selectRows(src, src.defaultFields())
		if err != nil {
			t.Fatal(err)
		}
		r := &runner{env: h.env, loc: time.UTC}
		var want, got bytes.Buffer
		nw, err := sel.writeValues(ctx, r, st, &want, format, o.details)
		if err != nil {
			t.Fatal(err)
		}
		ng, err := sel.writeJSON(ctx, st, &got, format == fmtJSON, o.details)
		if err != nil {
			t.Fatal(err)
		}
		if nw != ng || !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%v: fast path differs (%d rows, want %d): %s", args, ng, nw, lineDiff(got.String(), want.String()))
		}
		// And what the command prints is the fast path's output.
		if out := h.mustRun(args...); out != got.String() {
			t.Errorf("%v: the command does not print the fast path's output: %s", args, lineDiff(out, got.String()))
		}
		if nw > 0 {
			compared++
		}
	}
	if compared < 6 {
		t.Fatalf("only %d queries had rows: the comparison proves little", compared)
	}
}

func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got %q\nwant %q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}

// TestJobAccessorsMatchField: every accessor returns what JobRow.Field
// does, and the jobs fields all have one.
func TestJobAccessorsMatchField(t *testing.T) {
	rows := []store.JobRow{{}, {
		JobID: "j", State: "s", PolicyTask: "pt", ActionName: "an", ActionType: "at", PolicyID: "pi", WorkflowName: "wn",
		IdentityID: "ii", IdentityName: "in", EventSource: "es", EventSourceID: "esi", ExtractionEvent: "ee",
		ExtractionEventType: "eet", StartedAt: 1, CompletedAt: 2, CreatedAt: 3, AnyChanges: true, EventsCreated: 4,
		ErrorMessage: "em", ErrorSignature: "sig", SyncedAt: 5,
	}}
	for _, f := range jobFields {
		a, ok := jobAccess(f.name)
		if !ok || !a.fits(f.kind) {
			t.Errorf("field %s (kind %d): no accessor of its kind", f.name, f.kind)
			continue
		}
		for i := range rows {
			want, ok := rows[i].Field(f.name)
			if !ok {
				t.Fatalf("JobRow.Field(%q) unknown", f.name)
			}
			var got any
			switch {
			case a.str != nil:
				got = a.str(&rows[i])
			case a.num != nil:
				got = a.num(&rows[i])
			default:
				got = a.flag(&rows[i])
			}
			if got != want {
				t.Errorf("%s: accessor %v, Field %v", f.name, got, want)
			}
		}
	}
}

// TestDayCacheMatchesFormat: the fast time format is appendJSONValue's,
// for times around day, year and range edges, in and out of order.
func TestDayCacheMatchesFormat(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var c dayCache
	check := func(ms int64) {
		t.Helper()
		want := string(appendJSONValue(nil, kTime, ms))
		if got := string(c.appendTime(nil, ms)); got != want {
			t.Fatalf("%d: %s, want %s", ms, got, want)
		}
	}
	for _, ms := range streamTimes {
		check(ms)
		check(ms - 1)
		check(ms + 1)
	}
	for i := 0; i < 200_000; i++ {
		switch i % 4 {
		case 0:
			check(rng.Int64N(maxFastMS + 2))
		case 1:
			check(rng.Int64())
		case 2:
			check(-rng.Int64N(1 << 50))
		default:
			check(base.UnixMilli() + rng.Int64N(3*msPerDay)) // same few days: cache hits
		}
	}
}

// referenceJSONString is appendJSONString without the 8-byte skip.
func referenceJSONString(b []byte, s string) []byte { return appendJSONStringSkip(b, s, false) }

func TestJSONStringMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Bytes around every boundary plain8 tests, and pieces of runes.
	alphabet := []byte{0, 1, 0x1f, 0x20, 0x21, '"', '\\', 'a', 'z', 0x7e, 0x7f, 0x80, 0x9f, 0xc2, 0xc3, 0xe2, 0x80, 0xae, 0xa8, 0xf0, 0x9f, 0x99, 0x82, 0xfe, 0xff, '\n', '\t'}
	check := func(s string) {
		t.Helper()
		if got, want := appendJSONString(nil, s), referenceJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
	}
	for _, s := range streamStrings {
		check(s)
		check(strings.Repeat("abcdefgh", 3) + s + strings.Repeat("ijklmnop", 2))
	}
	for i := 0; i < 100_000; i++ {
		b := make([]byte, rng.IntN(40))
		for j := range b {
			if rng.IntN(3) == 0 {
				b[j] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[j] = byte(0x20 + rng.IntN(0x5f))
			}
		}
		check(string(b))
	}
	for c := 0; c < 256; c++ { // each byte at each position of a word
		for pos := 0; pos < 8; pos++ {
			b := []byte("abcdefghijklmnop")
			b[pos] = byte(c)
			check(string(b))
		}
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

var errFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestStreamStops: a failing output or a cancelled context ends the
// stream with its error, and the page reader is gone when write returns
// (the store is closed right after).
func TestStreamStops(t *testing.T) {
	path := streamCache(t, 3000)
	st, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var o queryOpts
	sel, err := o.selectRows(jobsSource, jobsSource.defaultFields())
	if err != nil {
		t.Fatal(err)
	}
	n, err := sel.writeJSON(context.Background(), st, &failWriter{n: 100_000}, false, false)
	if !errors.Is(err, errFull) || n == 0 || n >= 3000 {
		t.Fatalf("failing writer: %d rows, %v", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	seen := 0
	err = sel.each(ctx, st, func(record) error {
		if seen++; seen == 1500 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || seen >= 3000 {
		t.Fatalf("cancelled: %d rows, %v", seen, err)
	}

	// A reader blocked in a page read when the writer fails: each returns
	// only once the reader has returned.
	src := *jobsSource
	var exited atomic.Bool
	entered := make(chan struct{})
	src.Page = func(ctx context.Context, st *store.Store, q store.Query, after *store.Key, n int) ([]record, error) {
		if after == nil {
			return jobsSource.Page(ctx, st, q, after, n)
		}
		close(entered)
		<-ctx.Done() // the second page never comes
		defer exited.Store(true)
		return nil, ctx.Err()
	}
	blocked := &selection{src: &src, q: sel.q, fields: sel.fields}
	// The writer fails once the reader is inside its read of the next page
	// (it reads one page ahead), however slowly the goroutines are run.
	err = blocked.each(context.Background(), st, func(record) error { <-entered; return errFull })
	if !errors.Is(err, errFull) {
		t.Fatalf("blocked reader: %v", err)
	}
	if !exited.Load() {
		t.Fatal("each returned while its page reader was still reading")
	}
}
