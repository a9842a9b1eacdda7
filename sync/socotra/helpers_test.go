package socotra_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/socotra"
	"github.com/opsdeck/opsdeck/sync/socotra/wire"
)

// tenant is an emulator on loopback behind a recorder that fails the test
// on any request combining a pagingToken with another parameter, and
// counts requests per path kind.
type tenant struct {
	t    *testing.T
	emu  *emulator.Server
	url  string
	mu   sync.Mutex
	reqs []*http.Request
}

func newTenant(t *testing.T, opts emulator.Options) *tenant {
	t.Helper()
	tn := &tenant{t: t, emu: emulator.New(opts)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("pagingToken") != "" && len(q) > 1 {
			t.Errorf("the client combined pagingToken with other parameters: %s", r.URL.RawQuery)
		}
		tn.mu.Lock()
		tn.reqs = append(tn.reqs, r)
		tn.mu.Unlock()
		tn.emu.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tn.url = srv.URL
	return tn
}

func (tn *tenant) requests() int {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return len(tn.reqs)
}

func noSleep(context.Context, time.Duration) error { return nil }

func (tn *tenant) client(tenantLocator, token string) *socotra.Client {
	tn.t.Helper()
	c, err := socotra.New(tn.url, tenantLocator, token, socotra.ClientOptions{Sleep: noSleep, MaxRetries: 8})
	if err != nil {
		tn.t.Fatal(err)
	}
	return c
}

func (tn *tenant) goodClient() *socotra.Client {
	return tn.client(tn.emu.SocotraTenant(), emulator.DefaultToken)
}

func openStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cache.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

// upstream reads the whole event stream straight from the emulator, with
// no client code involved, as the truth to compare the cache with.
func (tn *tenant) upstream() []wire.Event {
	tn.t.Helper()
	var out []wire.Event
	q := url.Values{"pageSize": {"1000"}}
	for range 10_000 {
		req := httptest.NewRequest(http.MethodGet, "/event/"+tn.emu.SocotraTenant()+"/events/list?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+emulator.DefaultToken)
		rec := httptest.NewRecorder()
		faults := tn.emu.Faults().String()
		tn.emu.SetFaults("")
		tn.emu.ServeHTTP(rec, req)
		tn.emu.SetFaults(faults)
		var p wire.EventStream
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &p) != nil {
			tn.t.Fatalf("upstream: %d %s", rec.Code, rec.Body.String())
		}
		if len(p.Events) == 0 {
			return out
		}
		out = append(out, p.Events...)
		q = url.Values{"pagingToken": {p.PagingToken}}
	}
	tn.t.Fatal("upstream stream does not end")
	return nil
}

// cached reads every cached event, in stream order (rowid follows
// insertion order, which the sync keeps).
func cached(t *testing.T, st *store.Store) []store.SocotraEventRow {
	t.Helper()
	var out []store.SocotraEventRow
	var after *store.Key
	q := store.Query{Sort: "timestamp"}
	for {
		p, err := st.SocotraEvents(context.Background(), q, after, false, 500)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p...)
		if len(p) < 500 {
			return out
		}
		k := store.SocotraEventKey(q, p[len(p)-1])
		after = &k
	}
}

// raw sends a GET straight to the emulator, past the recorder (which
// would flag the forbidden requests some tests send on purpose).
func (tn *tenant) raw(pathQuery string) int {
	req := httptest.NewRequest(http.MethodGet, pathQuery, nil)
	req.Header.Set("Authorization", "Bearer "+emulator.DefaultToken)
	rec := httptest.NewRecorder()
	tn.emu.ServeHTTP(rec, req)
	return rec.Code
}
