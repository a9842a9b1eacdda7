package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func socPath(s *Server, p string) string { return "/event/" + s.SocotraTenant() + "/events" + p }

func socDecode[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode: %v: %.300s", err, rec.Body.String())
	}
	return v
}

func socFail(t testing.TB, rec *httptest.ResponseRecorder, status int) SocotraError {
	t.Helper()
	var e SocotraError
	if rec.Code != status || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.HTTPStatus != status || e.Message == "" {
		t.Fatalf("want a %d error, got %d %s", status, rec.Code, rec.Body.String())
	}
	return e
}

// socAll follows the paging token until a page comes back empty.
func socAll(t testing.TB, s *Server, q url.Values) ([]SocotraEvent, string) {
	t.Helper()
	var out []SocotraEvent
	for pages := 0; ; pages++ {
		p := socDecode[SocotraEventStream](t, do(t, s, socPath(s, "/list"), q))
		if p.PagingToken == "" {
			t.Fatal("page without a paging token")
		}
		out = append(out, p.Events...)
		if len(p.Events) == 0 {
			return out, p.PagingToken
		}
		if pages > 10000 {
			t.Fatal("no end")
		}
		q = vals("pagingToken", p.PagingToken)
	}
}

func TestSocotraEvents(t *testing.T) {
	s := New(Options{Seed: 9, Scale: 4000})
	if s.SocotraTenant() == "" || New(Options{SocotraTenant: "t-1"}).SocotraTenant() != "t-1" {
		t.Fatal("tenant")
	}
	evs, _ := socAll(t, s, vals("pageSize", "250"))
	if len(evs) != s.soc.n || len(evs) != 1000 {
		t.Fatalf("%d events, want %d", len(evs), s.soc.n)
	}
	types := map[string]int{}
	late := 0
	requests := map[string][]string{}
	for i, e := range evs {
		if e.Locator != s.soc.locator(kindSocEvent, i) || len(e.Locator) != 26 {
			t.Fatalf("event %d out of stream order: %s", i, e.Locator)
		}
		if e.UserLocator == "" || e.RequestID == "" || e.Data["policyLocator"] == nil || e.Timestamp.After(DefaultNow) {
			t.Fatalf("incomplete event %+v", e)
		}
		if i > 0 && e.Timestamp.Before(evs[i-1].Timestamp) {
			late++
		}
		types[e.Type]++
		requests[e.RequestID] = append(requests[e.RequestID], e.Locator)
	}
	for _, want := range []string{"policy.quote.issue", "policy.cancellation.create", "policy.status.update", "invoice.create", "payment.post"} {
		if types[want] == 0 {
			t.Errorf("no %s event", want)
		}
	}
	if late == 0 || late > len(evs)/10 {
		t.Errorf("%d events earlier than their predecessor; want a few", late)
	}
	if len(requests) > len(evs)*3/4 || len(requests) < len(evs)/8 {
		t.Errorf("%d requests for %d events", len(requests), len(evs))
	}

	// One event, and the events of a request.
	e := evs[123]
	got := socDecode[SocotraEvent](t, do(t, s, socPath(s, "/"+e.Locator), nil))
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(e)
	if string(a) != string(b) {
		t.Fatal("GET event differs from the list")
	}
	req := socDecode[[]SocotraEvent](t, do(t, s, socPath(s, "/request/"+e.RequestID), nil))
	var locs []string
	for _, x := range req {
		locs = append(locs, x.Locator)
	}
	if !slices.Equal(locs, requests[e.RequestID]) {
		t.Fatalf("request events %v, list says %v", locs, requests[e.RequestID])
	}
	for _, bad := range []string{"/" + strings.ToLower(e.Locator), "/00000000000000000000000000", "/request/" + e.Locator, "/request/" + s.g.ids.uuid(kindSocRequest, 1<<20)} {
		socFail(t, do(t, s, socPath(s, bad), nil), http.StatusNotFound)
	}

	// Filters.
	from, to := evs[300].Timestamp, evs[600].Timestamp
	win, _ := socAll(t, s, vals("startTimestamp", from.Format(time.RFC3339Nano), "endTimestamp", to.Format(time.RFC3339Nano), "pageSize", "50"))
	want := 0
	for _, e := range evs {
		if !e.Timestamp.Before(from) && !e.Timestamp.After(to) {
			want++
		}
	}
	if len(win) != want {
		t.Fatalf("window: %d events, want %d", len(win), want)
	}
	issued, _ := socAll(t, s, vals("type", "policy.quote.issue", "startTimestamp", "0"))
	if len(issued) != types["policy.quote.issue"] {
		t.Fatalf("type filter: %d, want %d", len(issued), types["policy.quote.issue"])
	}

	// Bad requests.
	p := socDecode[SocotraEventStream](t, do(t, s, socPath(s, "/list"), vals("pageSize", "5")))
	for _, q := range []url.Values{
		vals("pagingToken", p.PagingToken, "pageSize", "5"),
		vals("pagingToken", p.PagingToken, "type", "x"),
		vals("pagingToken", "garbage"),
		vals("startTimestamp", "yesterday"),
		vals("pageSize", "0"),
		vals("startTimestamp", "2026-01-02T00:00:00Z", "endTimestamp", "2026-01-01T00:00:00Z"),
	} {
		socFail(t, do(t, s, socPath(s, "/list"), q), http.StatusBadRequest)
	}
	socFail(t, do(t, s, "/event/"+s.g.ids.uuid(kindTenant, 1)+"/events/list", nil), http.StatusNotFound)
	socFail(t, doAuth(t, s, socPath(s, "/list"), nil, "Bearer nope"), http.StatusUnauthorized)
	socFail(t, doBody(t, s, http.MethodPost, socPath(s, "/list"), "{}"), http.StatusMethodNotAllowed)
}

func TestSocotraTail(t *testing.T) {
	s := New(Options{Seed: 10, Scale: 800, Live: true, LiveRate: 4, LiveHorizon: time.Hour, Clock: func() time.Time { return DefaultNow }})
	all, tok := socAll(t, s, vals("pageSize", "1000"))
	if len(all) != s.soc.n {
		t.Fatalf("%d events before Now, want %d", len(all), s.soc.n)
	}
	// Caught up: the token is kept and polled later.
	again := socDecode[SocotraEventStream](t, do(t, s, socPath(s, "/list"), vals("pagingToken", tok)))
	if len(again.Events) != 0 || again.PagingToken == "" {
		t.Fatal("a caught-up token returned events")
	}
	s.Advance(30 * time.Second) // 2 events a second
	newer, tok2 := socAll(t, s, vals("pagingToken", again.PagingToken))
	if len(newer) < 55 || len(newer) > 61 {
		t.Fatalf("%d new events in 30 s at 2/s", len(newer))
	}
	if newer[0].Locator != s.soc.locator(kindSocEvent, s.soc.n) {
		t.Fatal("the tail skipped events")
	}
	for _, e := range newer {
		if e.Timestamp.Before(DefaultNow.Add(-socMaxLateMs*time.Millisecond)) || e.Timestamp.After(s.Now()) {
			t.Fatalf("new event at %v", e.Timestamp)
		}
	}
	if p := socDecode[SocotraEventStream](t, do(t, s, socPath(s, "/list"), vals("pagingToken", tok2))); len(p.Events) != 0 {
		t.Fatal("events repeated after the tail caught up")
	}
}

func TestSocotraSchedules(t *testing.T) {
	s := New(Options{Seed: 12, Scale: 2000})
	states := map[string]int{}
	for pol := 0; pol < s.soc.nPol; pol++ {
		loc := s.soc.locator(kindSocPolicy, pol)
		for _, ev := range socDecode[[]ScheduledPolicyEvent](t, do(t, s, socPath(s, "/schedules/policy/"+loc), nil)) {
			states[ev.TriggerState]++
			if ev.PolicyLocator != loc || ev.TransactionLocator == "" || ev.CustomEventID == "" ||
				(ev.NextEventTime != nil) != (ev.TriggerState == "NORMAL" || ev.TriggerState == "PAUSED" || ev.TriggerState == "BLOCKED") {
				t.Fatalf("scheduled event %+v", ev)
			}
		}
	}
	for _, st := range []string{"BLOCKED", "COMPLETE", "ERROR", "NONE", "NORMAL", "PAUSED"} {
		if states[st] == 0 {
			t.Errorf("no %s trigger", st)
		}
	}
	socFail(t, do(t, s, socPath(s, "/schedules/policy/"+s.soc.locator(kindSocPolicy, s.soc.nPol+1)), nil), http.StatusNotFound)
}

func TestSocotraFailedJobs(t *testing.T) {
	s := New(Options{Seed: 13, Scale: 2000})
	list := func(p string, q url.Values) []FailedJobDetails {
		return socDecode[[]FailedJobDetails](t, do(t, s, socPath(s, p), q))
	}
	every := list("/schedules/failed/list", nil)
	if len(every) != len(s.soc.failed) || len(every) < 20 {
		t.Fatalf("%d failed jobs", len(every))
	}
	queued, quit := list("/schedules/failed/queued/list", nil), list("/schedules/failed/quit/list", nil)
	tenant := list("/schedules/tenant/failed/list", nil)
	if len(queued)+len(quit) != len(every) || len(queued) == 0 || len(quit) == 0 || len(tenant) == 0 {
		t.Fatalf("queued %d + quit %d != %d, tenant %d", len(queued), len(quit), len(every), len(tenant))
	}
	var polJob FailedJobDetails
	for _, d := range every {
		if strings.HasPrefix(d.TriggerGroup, "policy:") {
			polJob = d
			break
		}
	}
	pol := strings.TrimPrefix(polJob.TriggerGroup, "policy:")
	ofPolicy := list("/schedules/policy/"+pol+"/failed/list", nil)
	if !slices.Contains(ofPolicy, polJob) {
		t.Fatal("the policy's failed list misses its job")
	}
	// Paging.
	var paged []FailedJobDetails
	for off := 0; ; off += 7 {
		p := list("/schedules/failed/list", vals("offset", strconv.Itoa(off), "count", "7"))
		paged = append(paged, p...)
		if len(p) < 7 {
			break
		}
	}
	if !slices.Equal(paged, every) {
		t.Fatal("offset/count paging differs from the whole list")
	}
	socFail(t, do(t, s, socPath(s, "/schedules/failed/list"), vals("offset", "-1")), http.StatusBadRequest)
	socFail(t, do(t, s, socPath(s, "/schedules/failed/stuck/list"), nil), http.StatusBadRequest)

	// Resume and delete take a job off the list.
	body := FailedJobRequest{TriggerName: polJob.TriggerName, TriggerGroup: polJob.TriggerGroup}
	if rec := doBody(t, s, http.MethodPost, socPath(s, "/schedules/failed/resume"), body); rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("resume: %d %s", rec.Code, rec.Body.String())
	}
	if slices.Contains(list("/schedules/failed/list", nil), polJob) {
		t.Fatal("a resumed job is still failed")
	}
	socFail(t, doBody(t, s, http.MethodPost, socPath(s, "/schedules/failed/resume"), body), http.StatusNotFound)
	other := every[len(every)-1]
	if rec := doBody(t, s, http.MethodDelete, socPath(s, "/schedules/failed"), FailedJobRequest{TriggerName: other.TriggerName, TriggerGroup: other.TriggerGroup}); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d", rec.Code)
	}
	if n := len(list("/schedules/failed/list", nil)); n != len(every)-2 {
		t.Fatalf("%d failed jobs left, want %d", n, len(every)-2)
	}
	socFail(t, doBody(t, s, http.MethodDelete, socPath(s, "/schedules/failed"), `{"triggerName":"x"}`), http.StatusBadRequest)
	socFail(t, doBody(t, s, http.MethodDelete, socPath(s, "/schedules/failed"), `{"triggerName":"x","triggerGroup":"y","extra":1}`), http.StatusBadRequest)
}
