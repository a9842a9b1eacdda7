package socotra_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/socotra"
)

// spoiler sits between the client and the emulator: from the nth 200
// answer to a GET of path on, it answers with spoil(the emulator's answer)
// and remembers the keys of the records of the first page it spoiled.
type spoiler struct {
	emu   http.Handler
	path  string
	nth   int
	key   func(rec map[string]any) string
	spoil func(w http.ResponseWriter, orig []byte)

	mu      sync.Mutex
	n       int
	healed  bool
	badKeys []string
}

func (s *spoiler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	s.emu.ServeHTTP(rec, r)
	s.mu.Lock()
	hit := false
	if r.Method == http.MethodGet && r.URL.Path == s.path && rec.Code == http.StatusOK && !s.healed {
		s.n++
		hit = s.n >= s.nth
		if hit && s.badKeys == nil {
			s.badKeys = pageKeys(rec.Body.Bytes(), s.key)
		}
	}
	s.mu.Unlock()
	if hit {
		s.spoil(w, rec.Body.Bytes())
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// records returns the record objects of a page: a bare array (failed
// jobs) or the first array of an envelope (events).
func records(page []byte) (recs []any, put func([]any) []byte) {
	var arr []any
	if json.Unmarshal(page, &arr) == nil {
		return arr, func(a []any) []byte { b, _ := json.Marshal(a); return b }
	}
	var top map[string]any
	if json.Unmarshal(page, &top) != nil {
		return nil, func([]any) []byte { return page }
	}
	for k, v := range top {
		if a, ok := v.([]any); ok {
			return a, func(a []any) []byte { top[k] = a; b, _ := json.Marshal(top); return b }
		}
	}
	return nil, func([]any) []byte { return page }
}

func pageKeys(page []byte, key func(map[string]any) string) []string {
	recs, _ := records(page)
	out := []string{}
	for _, r := range recs {
		if m, ok := r.(map[string]any); ok {
			out = append(out, key(m))
		}
	}
	return out
}

// lastRecord applies f to the page's last record.
func lastRecord(page []byte, f func(map[string]any)) []byte {
	recs, put := records(page)
	if len(recs) > 0 {
		if m, ok := recs[len(recs)-1].(map[string]any); ok {
			f(m)
		}
	}
	return put(recs)
}

const socProxyPage = "<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head>\n<body><h1>Your session has expired</h1>\x1b]0;pwned\x07</body></html>\n"

type socCase struct {
	name  string
	want  string // a regexp the error matches
	spoil func(w http.ResponseWriter, orig []byte)
}

func socCases(idKey string) []socCase {
	json200 := func(w http.ResponseWriter, b []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}
	return []socCase{
		{"wrong types", `undecodable answer: .*cannot unmarshal number`, func(w http.ResponseWriter, orig []byte) {
			json200(w, lastRecord(orig, func(m map[string]any) { m[idKey] = 12345 }))
		}},
		{"missing id", `without a locator|empty trigger|no trigger`, func(w http.ResponseWriter, orig []byte) {
			json200(w, lastRecord(orig, func(m map[string]any) { delete(m, idKey) }))
		}},
		{"html 200 from a proxy", `HTML page.*Corporate Proxy`, func(w http.ResponseWriter, _ []byte) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(socProxyPage))
		}},
		{"html 502 from a proxy", `HTTP 502 Bad Gateway.*Corporate Proxy`, func(w http.ResponseWriter, _ []byte) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte(socProxyPage))
		}},
		{"gzip lie", `not the gzip data its Content-Encoding announces`, func(w http.ResponseWriter, orig []byte) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(orig)
		}},
		{"gzip truncated", `body was cut short`, func(w http.ResponseWriter, orig []byte) {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(orig)
			zw.Close()
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(buf.Bytes()[:buf.Len()/2])
		}},
	}
}

// TestSocotraMalformedResponses: for both Socotra sources and every way a
// page can be spoiled, the sync fails with an error naming the source and
// what was wrong, nothing of the spoiled page (for the failed-jobs
// snapshot: nothing at all) reaches the cache, and a sync against the
// healed server completes it.
func TestSocotraMalformedResponses(t *testing.T) {
	emuOpts := emulator.Options{Seed: 21, Scale: 1600}
	tenantID := emulator.New(emuOpts).SocotraTenant()
	ctx := context.Background()
	sources := []struct {
		name, path, idKey string
		nth               int
		key               func(map[string]any) string
		has               func(st *store.Store, key string) bool
	}{
		{name: socotra.SourceEvents, path: "/event/" + tenantID + "/events/list", idKey: "locator", nth: 2,
			key: func(m map[string]any) string { s, _ := m["locator"].(string); return s },
			has: func(st *store.Store, k string) bool { _, err := st.SocotraEvent(ctx, k); return err == nil }},
		// The second of the two failed lists: the first was fine, and the
		// snapshot must not be half replaced.
		{name: socotra.SourceFailed, path: "/event/" + tenantID + "/events/schedules/failed/quit/list", idKey: "triggerName", nth: 1,
			key: func(m map[string]any) string {
				g, _ := m["triggerGroup"].(string)
				n, _ := m["triggerName"].(string)
				return g + "\x00" + n
			},
			has: func(st *store.Store, k string) bool {
				g, n, _ := strings.Cut(k, "\x00")
				_, err := st.SocotraFailedJob(ctx, g, n)
				return err == nil
			}},
	}
	for _, src := range sources {
		for _, sc := range socCases(src.idKey) {
			t.Run(src.name+"/"+sc.name, func(t *testing.T) {
				sp := &spoiler{emu: emulator.New(emuOpts), path: src.path, nth: src.nth, key: src.key, spoil: sc.spoil}
				srv := httptest.NewServer(sp)
				t.Cleanup(srv.Close)
				c, err := socotra.New(srv.URL, tenantID, emulator.DefaultToken, socotra.ClientOptions{Sleep: noSleep, MaxRetries: 2})
				if err != nil {
					t.Fatal(err)
				}
				st, _ := openStore(t)
				sy := socotra.NewSyncer(st, c, socotra.Options{PageSize: 40, Sources: []string{src.name}})
				err = sy.Run(ctx, nil)
				if err == nil {
					t.Fatal("a sync over a spoiled page succeeded")
				}
				msg := err.Error()
				t.Logf("%s", msg)
				if !strings.Contains(msg, src.name) || !regexp.MustCompile(sc.want).MatchString(msg) {
					t.Fatalf("error %q: want it to name %s and match %q", msg, src.name, sc.want)
				}
				if strings.ContainsAny(msg, "\x1b\x07") || strings.Contains(msg, emulator.DefaultToken) {
					t.Fatalf("error carries escapes or the token: %q", msg)
				}
				if len(sp.badKeys) == 0 {
					t.Fatal("the spoiled page had no records: the test proves nothing")
				}
				for _, k := range sp.badKeys {
					if src.has(st, k) {
						t.Fatalf("%q of the spoiled page was committed", k)
					}
				}
				events, _ := st.Count(ctx, "socotra_events", nil)
				failed, _ := st.Count(ctx, "socotra_failed", nil)
				switch src.name {
				case socotra.SourceEvents:
					if events == 0 {
						t.Fatal("the pages before the spoiled one were not kept")
					}
				case socotra.SourceFailed:
					if failed != 0 {
						t.Fatalf("%d failed jobs committed from a snapshot that failed half way", failed)
					}
				}

				sp.mu.Lock()
				sp.healed = true
				sp.mu.Unlock()
				if err := sy.Run(ctx, nil); err != nil {
					t.Fatalf("sync after the server healed: %v", err)
				}
				for _, k := range sp.badKeys {
					if !src.has(st, k) {
						t.Fatalf("%q missing after a healthy sync", k)
					}
				}
			})
		}
	}
}
