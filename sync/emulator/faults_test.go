package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// doBody sends a request with a JSON body (nil: none) straight to ServeHTTP.
func doBody(t testing.TB, s *Server, method, target string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, target, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func TestParseFaults(t *testing.T) {
	spec := "429=0.05,500=0.02,503=0.02,reset=0.01,slow=0.01,truncated=0.01,emptypage=0.02,dup=0.01"
	f, err := ParseFaults(spec)
	if err != nil {
		t.Fatal(err)
	}
	if f.String() != spec || f.Prob("429") != 0.05 || f.Prob("dup") != 0.01 || f.Prob("html") != 0 {
		t.Fatalf("round trip: %q", f.String())
	}
	if g, err := ParseFaults(" HTML = 0.5 , badjson=0.5,exhausted=0"); err != nil || g.String() != "html=0.5,badjson=0.5" {
		t.Fatalf("spaces and case: %v %q", err, g.String())
	}
	if z, err := ParseFaults(""); err != nil || z.String() != "" || z.enabled() {
		t.Fatal("empty spec")
	}
	for _, bad := range []string{"teapot=0.1", "429", "429=", "429=x", "429=-0.1", "429=1.5", "429=NaN", "429=0.1,429=0.2", "500=0.6,503=0.6"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("ParseFaults(%q) accepted", bad)
		}
	}
	if len(FaultKinds()) != int(numFaults) {
		t.Fatal("FaultKinds")
	}
}

// faulty is a small tenant with one kind of fault always on.
func faulty(t *testing.T, spec string) *Server {
	t.Helper()
	f, err := ParseFaults(spec)
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{Seed: 11, Scale: 1500, Faults: f, SlowDelay: 30 * time.Millisecond})
}

func TestFaultKinds(t *testing.T) {
	clean := New(Options{Seed: 11, Scale: 1500})
	first := do(t, clean, jobsPath, nil)

	t.Run("status", func(t *testing.T) {
		for _, tc := range []struct {
			spec   string
			status int
			code   string
		}{{"429=1", 429, "ResourceExhausted"}, {"500=1", 500, "Internal"}, {"503=1", 503, "Unavailable"}} {
			s := faulty(t, tc.spec)
			for _, path := range []string{jobsPath, tasksPath + "/" + s.g.ids.uuid(kindTask, 0), events, autos} {
				rec := do(t, s, path, nil)
				decodeError(t, rec, tc.status, tc.code)
				if tc.status == 429 && rec.Header().Get("Retry-After") != "1" {
					t.Errorf("429 without Retry-After: 1")
				}
			}
			if got := s.FaultCounts()[strings.SplitN(tc.spec, "=", 2)[0]]; got != 4 {
				t.Errorf("%s: counted %d faults, want 4", tc.spec, got)
			}
			// Writes are never faulted.
			if rec := doBody(t, s, http.MethodDelete, autos+"/"+seedAutomations[0].ID, nil); rec.Code != 200 {
				t.Errorf("%s: DELETE faulted: %d", tc.spec, rec.Code)
			}
		}
	})
	t.Run("html", func(t *testing.T) {
		rec := do(t, faulty(t, "html=1"), jobsPath, nil)
		if rec.Code != http.StatusBadGateway || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), "<h1>502 Bad Gateway</h1>") {
			t.Fatalf("html: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
	})
	t.Run("truncated", func(t *testing.T) {
		rec := do(t, faulty(t, "truncated=1"), jobsPath, nil)
		if rec.Code != 200 || rec.Body.Len() != first.Body.Len()/2 || rec.Header().Get("Content-Length") != strconv.Itoa(first.Body.Len()) {
			t.Fatalf("truncated: %d, %d of %d bytes, Content-Length %s", rec.Code, rec.Body.Len(), first.Body.Len(), rec.Header().Get("Content-Length"))
		}
		if !bytes.HasPrefix(first.Body.Bytes(), rec.Body.Bytes()) || json.Valid(rec.Body.Bytes()) {
			t.Fatal("truncated body is not the start of the real one")
		}
	})
	t.Run("badjson", func(t *testing.T) {
		rec := do(t, faulty(t, "badjson=1"), jobsPath, nil)
		var p veza.ListPage[veza.Job]
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"has_more":"yes"`) || json.Unmarshal(rec.Body.Bytes(), &p) == nil {
			t.Fatalf("badjson: %d %.200s", rec.Code, rec.Body.String())
		}
		// A single object has no envelope to spoil.
		if rec := do(t, faulty(t, "badjson=1"), autos+"/"+seedAutomations[0].ID, nil); rec.Code != 200 || !json.Valid(rec.Body.Bytes()) {
			t.Fatal("badjson spoiled a GET of one object")
		}
	})
	t.Run("emptypage", func(t *testing.T) {
		s := faulty(t, "emptypage=1")
		q := vals("filter", `state eq "COMPLETED"`, "page_size", "7")
		want := page[veza.Job](t, clean, jobsPath, q)
		var p veza.ListPage[veza.Job]
		if err := json.Unmarshal(do(t, s, jobsPath, q).Body.Bytes(), &p); err != nil || len(p.Values) != 0 || !p.HasMore || p.NextPageToken == "" {
			t.Fatalf("emptypage: %+v %v", p, err)
		}
		_ = s.SetFaults("")
		got := page[veza.Job](t, s, jobsPath, vals("page_token", p.NextPageToken, "page_size", "7"))
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if !bytes.Equal(a, b) {
			t.Fatal("the empty page's token does not resume at the same position")
		}
	})
	t.Run("dup", func(t *testing.T) {
		s := faulty(t, "dup=1")
		p1 := page[veza.Job](t, s, jobsPath, vals("page_size", "10")) // a first page has no previous page
		if len(p1.Values) != 10 || s.FaultCounts()["dup"] != 0 {
			t.Fatalf("dup on a first page: %d values", len(p1.Values))
		}
		p2 := page[veza.Job](t, s, jobsPath, vals("page_token", p1.NextPageToken, "page_size", "10"))
		n := len(p2.Values) - 10
		if n < 1 || n > 3 || s.FaultCounts()["dup"] != 1 {
			t.Fatalf("dup: page 2 has %d values", len(p2.Values))
		}
		for i := 0; i < n; i++ {
			if p2.Values[i].JobID != p1.Values[10-n+i].JobID {
				t.Fatalf("dup: value %d is not from the end of page 1", i)
			}
		}
		if p2.Values[n].JobID != clean.g.ids.uuid(kindJob, 10) {
			t.Fatal("dup: the real page 2 does not follow the repeats")
		}
	})
	t.Run("exhausted", func(t *testing.T) {
		s := faulty(t, "exhausted=1")
		if rec := do(t, s, jobsPath, nil); rec.Code != 200 {
			t.Fatalf("exhausted hit the jobs list: %d", rec.Code)
		}
		decodeError(t, do(t, s, events+"/export", nil), http.StatusTooManyRequests, "ResourceExhaused")
		if s.FaultCounts()["exhausted"] != 1 {
			t.Fatalf("counts %v", s.FaultCounts())
		}
	})
	t.Run("slow", func(t *testing.T) {
		s := faulty(t, "slow=1")
		start := time.Now()
		rec := do(t, s, jobsPath, nil)
		if time.Since(start) < 30*time.Millisecond || rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), first.Body.Bytes()) {
			t.Fatalf("slow: %v, %d", time.Since(start), rec.Code)
		}
	})
}

func TestFaultReset(t *testing.T) {
	f, _ := ParseFaults("reset=1")
	run, err := Start(context.Background(), "127.0.0.1:0", Options{Seed: 1, Scale: 100, Faults: f})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest(http.MethodGet, run.URL+jobsPath, nil)
	req.Header.Set("Authorization", "Bearer "+run.Token)
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("reset: got a response %d", resp.StatusCode)
	}
	if run.Server.FaultCounts()["reset"] != 1 {
		t.Fatalf("counts %v", run.Server.FaultCounts())
	}
	// Truncation over a real socket: the client sees an unexpected EOF.
	if err := run.Server.SetFaults("truncated=1"); err != nil {
		t.Fatal(err)
	}
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated body read: %v", err)
	}
}

// TestFaultsReproducible: the same requests meet the same faults.
func TestFaultsReproducible(t *testing.T) {
	spec := "429=0.1,500=0.05,503=0.05,truncated=0.05,emptypage=0.1,dup=0.1,html=0.05,badjson=0.05"
	run := func() (string, map[string]int) {
		s := faulty(t, spec)
		var log strings.Builder
		tok := ""
		for i := 0; i < 60; i++ {
			q := vals("page_size", "20")
			if tok != "" {
				q.Set("page_token", tok)
			}
			rec := do(t, s, jobsPath, q)
			log.WriteString(strconv.Itoa(rec.Code))
			log.Write(rec.Body.Bytes())
			var p veza.ListPage[veza.Job]
			if rec.Code == 200 && json.Unmarshal(rec.Body.Bytes(), &p) == nil && p.HasMore {
				tok = p.NextPageToken
			}
		}
		return log.String(), s.FaultCounts()
	}
	a, ca := run()
	b, cb := run()
	if a != b {
		t.Fatal("two runs met different faults")
	}
	total := 0
	for k, n := range ca {
		total += n
		if cb[k] != n {
			t.Fatal("fault counts differ")
		}
	}
	if total < 15 || total > 45 {
		t.Fatalf("%d faults in 60 requests at about 55%%: %v", total, ca)
	}
}

// TestSyncThroughFaults pages through every job and event the way a robust
// client must: retry whatever fails, re-ask with the same token, drop
// duplicates. It ends with exactly the data of a fault-free tenant.
func TestSyncThroughFaults(t *testing.T) {
	spec := "429=0.08,500=0.04,503=0.04,truncated=0.04,emptypage=0.08,dup=0.08,html=0.04,badjson=0.04"
	s := faulty(t, spec)
	fetch := func(path string, q url.Values, out any) bool {
		rec := do(t, s, path, q)
		return rec.Code == 200 && json.Unmarshal(rec.Body.Bytes(), out) == nil
	}
	seen := map[string]bool{}
	var order []string
	q := vals("page_size", "50")
	for req := 0; ; req++ {
		if req > 2000 {
			t.Fatal("no progress")
		}
		var p veza.ListPage[veza.Job]
		if !fetch(jobsPath, q, &p) {
			continue
		}
		for _, j := range p.Values {
			if !seen[j.JobID] {
				seen[j.JobID] = true
				order = append(order, j.JobID)
			}
		}
		if !p.HasMore {
			break
		}
		q.Set("page_token", p.NextPageToken)
	}
	_, _, nj := s.Counts()
	if len(order) != nj {
		t.Fatalf("synced %d jobs of %d", len(order), nj)
	}
	for k, id := range order {
		if id != s.g.ids.uuid(kindJob, k) {
			t.Fatalf("job %d out of place", k)
		}
	}
	counts := s.FaultCounts()
	for _, k := range []string{"429", "500", "503", "truncated", "emptypage", "dup", "html", "badjson"} {
		if counts[k] == 0 {
			t.Errorf("no %s fault in %d pages", k, len(order)/50)
		}
	}

	// The Socotra stream too, with its own envelope.
	socSeen := map[string]bool{}
	tok := ""
	for req := 0; ; req++ {
		if req > 2000 {
			t.Fatal("no progress on the Socotra stream")
		}
		q := vals("pageSize", "40")
		if tok != "" {
			q = vals("pagingToken", tok)
		}
		var p SocotraEventStream
		if !fetch(socPath(s, "/list"), q, &p) {
			continue
		}
		for _, e := range p.Events {
			socSeen[e.Locator] = true
		}
		if len(p.Events) == 0 && p.PagingToken == tok && len(socSeen) == s.soc.n {
			break // caught up
		}
		tok = p.PagingToken
	}
	if len(socSeen) != s.soc.n {
		t.Fatalf("synced %d Socotra events of %d", len(socSeen), s.soc.n)
	}
}
