package sync

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// mangler sits between the client and the emulator. From the nth page
// (200 answer) to a GET of path on (only the nth when once is set), it
// answers with
// mangle(the emulator's answer) instead, and remembers the ids of the
// records of the first page it spoiled.
type mangler struct {
	emu    http.Handler
	path   string
	nth    int
	once   bool
	idKey  string
	mangle func(w http.ResponseWriter, orig []byte)

	mu     gosync.Mutex
	n      int
	badIDs []string
}

func (m *mangler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != m.path {
		m.emu.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	m.emu.ServeHTTP(rec, r)
	m.mu.Lock()
	if rec.Code == http.StatusOK { // pages only, not the emulator's own errors
		m.n++
	}
	hit := rec.Code == http.StatusOK && (m.n == m.nth || (!m.once && m.n > m.nth))
	m.mu.Unlock()
	if !hit {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	orig := rec.Body.Bytes()
	m.mu.Lock()
	if m.badIDs == nil {
		m.badIDs = recordIDs(orig, m.idKey)
	}
	m.mu.Unlock()
	m.mangle(w, orig)
}

// recordIDs are the idKey values of the objects in the first array of a
// page's top-level object.
func recordIDs(page []byte, idKey string) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal(page, &top) != nil {
		return nil
	}
	for _, raw := range top {
		var recs []map[string]any
		if json.Unmarshal(raw, &recs) != nil || len(recs) == 0 {
			continue
		}
		ids := []string{}
		for _, r := range recs {
			if s, ok := r[idKey].(string); ok {
				ids = append(ids, s)
			}
		}
		return ids
	}
	return nil
}

// rewriteRecords applies f to every record of the page (the objects of its
// first array) and to the envelope, and re-encodes it.
func rewriteRecords(page []byte, f func(rec map[string]any, i, n int), envelope func(map[string]any)) []byte {
	var top map[string]any
	if json.Unmarshal(page, &top) != nil {
		return page
	}
	for _, v := range top {
		recs, ok := v.([]any)
		if !ok {
			continue
		}
		for i, r := range recs {
			if m, ok := r.(map[string]any); ok {
				f(m, i, len(recs))
			}
		}
		break
	}
	if envelope != nil {
		envelope(top)
	}
	b, _ := json.Marshal(top)
	return b
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

const proxyPage = "<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head>\n<body><h1>Your session has expired</h1>\x1b]0;pwned\x07</body></html>\n"

// malformedCase is one way a server or a proxy spoils a page.
type malformedCase struct {
	name   string
	once   bool   // a one-off spoiled page (retried requests get a good one)
	want   string // a regexp the error matches
	mangle func(idKey string) func(w http.ResponseWriter, orig []byte)
}

func malformedCases() []malformedCase {
	json200 := func(w http.ResponseWriter, b []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}
	return []malformedCase{
		{name: "wrong types", want: "decode .*cannot unmarshal number", mangle: func(idKey string) func(http.ResponseWriter, []byte) {
			return func(w http.ResponseWriter, orig []byte) {
				// The last record's id becomes a number: the records before
				// it are fine, and must not be committed either.
				json200(w, rewriteRecords(orig, func(r map[string]any, i, n int) {
					if i == n-1 {
						r[idKey] = 12345
					}
				}, nil))
			}
		}},
		{name: "missing id", want: "empty (job_)?id|has no id", mangle: func(idKey string) func(http.ResponseWriter, []byte) {
			return func(w http.ResponseWriter, orig []byte) {
				json200(w, rewriteRecords(orig, func(r map[string]any, i, n int) {
					if i == n-1 {
						delete(r, idKey)
					}
				}, nil))
			}
		}},
		{name: "envelope of the wrong type", want: "decode .*cannot unmarshal string", mangle: func(string) func(http.ResponseWriter, []byte) {
			return func(w http.ResponseWriter, orig []byte) {
				json200(w, rewriteRecords(orig, func(map[string]any, int, int) {}, func(top map[string]any) {
					for k, v := range top {
						if _, ok := v.([]any); ok {
							top[k] = "not a list"
						}
					}
				}))
			}
		}},
		{name: "html 200 from a proxy", want: "decode .*HTML page, not JSON .*Corporate Proxy", mangle: func(string) func(http.ResponseWriter, []byte) {
			return func(w http.ResponseWriter, _ []byte) {
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte(proxyPage))
			}
		}},
		{name: "html 502 from a proxy", want: "HTTP 502 Bad Gateway: body .*Corporate Proxy", mangle: func(string) func(http.ResponseWriter, []byte) {
			return func(w http.ResponseWriter, _ []byte) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				w.Write([]byte(proxyPage))
			}
		}},
		{name: "gzip lie", want: "not the gzip data its Content-Encoding announces", mangle: func(string) func(http.ResponseWriter, []byte) {
			return func(w http.ResponseWriter, orig []byte) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(orig)
			}
		}},
		{name: "gzip truncated", want: "gzip-encoded body was cut short", mangle: func(string) func(http.ResponseWriter, []byte) {
			return func(w http.ResponseWriter, orig []byte) {
				z := gzipped(orig)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(z[:len(z)/2])
			}
		}},
	}
}

// vezaSource is one Veza source under test: its list path, the id key of
// its records and how to look one up in the cache.
type vezaSource struct {
	name, path, idKey string
	nth               int // the spoiled page
	has               func(st *store.Store, id string) bool
	count             func(st *store.Store) int
}

func vezaSources() []vezaSource {
	r := veza.DefaultRoutes()
	found := func(err error) bool { return err == nil }
	count := func(entity string) func(st *store.Store) int {
		return func(st *store.Store) int {
			n, err := st.Count(context.Background(), entity, nil)
			if err != nil {
				panic(err)
			}
			return n
		}
	}
	return []vezaSource{
		{name: "jobs", path: r.ListJobs, idKey: "job_id", nth: 2, count: count("jobs"),
			has: func(st *store.Store, id string) bool { _, err := st.Job(context.Background(), id); return found(err) }},
		{name: "tasks", path: r.ListTasks, idKey: "id", nth: 2, count: count("tasks"),
			has: func(st *store.Store, id string) bool { _, err := st.Task(context.Background(), id); return found(err) }},
		{name: "events", path: r.ExportEvents, idKey: "id", nth: 2, count: count("events"),
			has: func(st *store.Store, id string) bool { _, err := st.Event(context.Background(), id); return found(err) }},
		{name: "automations", path: r.Automations, idKey: "id", nth: 1, count: count("automations"),
			has: func(st *store.Store, id string) bool {
				_, err := st.Automation(context.Background(), id)
				return found(err)
			}},
	}
}

// TestMalformedResponsesPerSource: for every Veza source and every way a
// page can be spoiled, the sync fails with an error that names the source
// and says what was wrong, nothing of the spoiled page reaches the cache,
// the pages before it stay, and a later sync against a healthy server
// completes the cache.
func TestMalformedResponsesPerSource(t *testing.T) {
	for _, src := range vezaSources() {
		for _, mc := range malformedCases() {
			t.Run(src.name+"/"+mc.name, func(t *testing.T) {
				emu := emulator.New(emulator.Options{Seed: 4, Scale: 400, Token: "malformed-token"})
				m := &mangler{emu: emu, path: src.path, nth: src.nth, once: mc.once, idKey: src.idKey, mangle: mc.mangle(src.idKey)}
				srv := httptest.NewServer(m)
				t.Cleanup(srv.Close)
				c, err := veza.New(srv.URL, "malformed-token", veza.Options{MaxRetries: 2, BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				st := openStore(t)
				eng := New(st, c, Options{NoHead: true, PageSize: 50, Sources: []string{src.name}})
				eng.ev = eventsTuning{pageSize: 50, noHead: true}
				err = eng.Run(context.Background(), nil)
				if err == nil {
					t.Fatalf("sync of a spoiled %s page succeeded; cache holds %d", src.name, src.count(st))
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "sync "+src.name+": ") || !regexp.MustCompile(mc.want).MatchString(msg) {
					t.Fatalf("error %q: want it to start with %q and mention %q", msg, "sync "+src.name+": ", mc.want)
				}
				t.Logf("%s", msg)
				if strings.ContainsAny(msg, "\x1b\x07") || strings.Contains(msg, "malformed-token") {
					t.Fatalf("error carries escapes or the token: %q", msg)
				}
				if len(m.badIDs) == 0 {
					t.Fatal("the spoiled page had no records: the test proves nothing")
				}
				for _, id := range m.badIDs {
					if src.has(st, id) {
						t.Fatalf("%s %s of the spoiled page was committed", src.name, id)
					}
				}
				before := src.count(st)
				if src.nth > 1 && before == 0 {
					t.Fatalf("the pages before the spoiled one were not kept")
				}
				if _, ok, _ := st.GetMeta(context.Background(), store.MetaLastSync); ok {
					t.Fatal("last_sync recorded for a failed sync")
				}

				// The server heals: the next run resumes and completes.
				m.mu.Lock()
				m.nth, m.once = 1<<30, true
				m.mu.Unlock()
				if err := eng.Run(context.Background(), nil); err != nil {
					t.Fatalf("sync after the server healed: %v", err)
				}
				for _, id := range m.badIDs {
					if !src.has(st, id) {
						t.Fatalf("%s %s missing after a healthy sync", src.name, id)
					}
				}
				if after := src.count(st); after <= before {
					t.Fatalf("healthy sync added nothing: %d -> %d", before, after)
				}
			})
		}
	}
}

// TestExtraFieldsAreKept: fields this build does not know, in the records
// and in the envelope, are no error; the rows are stored and the unknown
// fields survive in the raw object.
func TestExtraFieldsAreKept(t *testing.T) {
	for _, src := range vezaSources() {
		t.Run(src.name, func(t *testing.T) {
			emu := emulator.New(emulator.Options{Seed: 4, Scale: 400, Token: "malformed-token"})
			m := &mangler{emu: emu, path: src.path, nth: 1, idKey: src.idKey, mangle: func(w http.ResponseWriter, orig []byte) {
				w.Header().Set("Content-Type", "application/json")
				w.Write(rewriteRecords(orig, func(r map[string]any, i, n int) {
					r["zz_future_field"] = map[string]any{"nested": []any{1, "two", nil}}
				}, func(top map[string]any) { top["zz_envelope_extra"] = true }))
			}}
			srv := httptest.NewServer(m)
			t.Cleanup(srv.Close)
			c, err := veza.New(srv.URL, "malformed-token", veza.Options{MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			st := openStore(t)
			eng := New(st, c, Options{NoHead: true, PageSize: 50, Sources: []string{src.name}})
			eng.ev = eventsTuning{pageSize: 50, noHead: true}
			if err := eng.Run(context.Background(), nil); err != nil {
				t.Fatalf("extra fields refused: %v", err)
			}
			if len(m.badIDs) == 0 || src.count(st) < len(m.badIDs) {
				t.Fatalf("%d rows stored, %d served", src.count(st), len(m.badIDs))
			}
			for _, id := range m.badIDs {
				if !src.has(st, id) {
					t.Fatalf("%s %s not stored", src.name, id)
				}
			}
			if src.name == "jobs" {
				j, err := st.Job(context.Background(), m.badIDs[0])
				if err != nil || !bytes.Contains(j.Raw, []byte("zz_future_field")) {
					t.Fatalf("raw object lost the unknown field: %s %v", j.Raw, err)
				}
			}
		})
	}
}
