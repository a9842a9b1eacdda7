package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// eventPages lists system events until has_more is false.
func eventPages(t testing.TB, s *Server, q url.Values) []SystemEvent {
	t.Helper()
	var out []SystemEvent
	for pages := 0; ; pages++ {
		var p EventPage
		rec := do(t, s, events, q)
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &p) != nil {
			t.Fatalf("GET events?%s: %d %.300s", q.Encode(), rec.Code, rec.Body.String())
		}
		if p.HasMore == (p.NextPageToken == "") {
			t.Fatalf("has_more=%v with token %q", p.HasMore, p.NextPageToken)
		}
		out = append(out, p.Values...)
		if !p.HasMore {
			return out
		}
		if pages > 10000 {
			t.Fatal("no end")
		}
		q = vals("page_token", p.NextPageToken)
	}
}

var sharedEvents = sync.OnceValue(func() *Server {
	return New(Options{Seed: 21, Scale: map[bool]int{false: 200_000, true: 30_000}[raceEnabled]})
})

func TestSystemEvents(t *testing.T) {
	s := sharedEvents()
	evs := eventPages(t, s, vals("page_size", "10000"))
	if len(evs) != s.ev.n || s.ev.n != s.g.nJobs/10 {
		t.Fatalf("%d events, want Scale/10", len(evs))
	}
	types := map[string]int{}
	sev := map[string]int{}
	hostile, withErr := 0, 0
	oldestOK := oldest(DefaultNow)
	for i, e := range evs {
		if e.ID != s.g.ids.uuid(kindEvent, i) && i != s.ev.examples[0] && i != s.ev.examples[1] {
			t.Fatalf("event %d out of order", i)
		}
		if i > 0 && e.Timestamp.Before(evs[i-1].Timestamp) {
			t.Fatalf("event %d older than its predecessor", i)
		}
		if e.Timestamp.Before(oldestOK) || !e.Timestamp.Before(DefaultNow) {
			t.Fatalf("event at %v", e.Timestamp)
		}
		if e.Name == "" || e.Message == "" || e.Entity == "" || !slices.Contains(eventCategories, e.Category) {
			t.Fatalf("incomplete event %+v", e)
		}
		types[e.EventType]++
		sev[e.Severity]++
		if strings.ContainsAny(e.Message+e.EntityName, "\x1b\u009b\u202e") {
			hostile++
		}
		if e.Error != nil {
			withErr++
			if e.Error.Reason == "" || e.Error.Message == "" || e.Error.Resolution == "" || len(e.Error.RequestID) != 32 {
				t.Fatalf("incomplete error %+v", e.Error)
			}
			if e.Severity == "INFO" {
				t.Fatalf("INFO event with an error: %+v", e)
			}
		}
	}
	for _, et := range eventTypes {
		if types[et.name] == 0 {
			t.Errorf("no %s event", et.name)
		}
	}
	for _, want := range []string{"INFO", "WARNING", "ERROR"} {
		if sev[want] == 0 {
			t.Errorf("no %s event", want)
		}
	}
	if hostile == 0 || hostile > len(evs)/50 {
		t.Errorf("%d events with terminal escapes", hostile)
	}
	if withErr < len(evs)/50 {
		t.Errorf("only %d events with an error object", withErr)
	}

	// Seed 002's examples are there verbatim, but for the timestamp.
	for k, i := range s.ev.examples {
		got, want := evs[i], exampleEvents[k]
		if got.Timestamp.Nanosecond() != want.Timestamp.Nanosecond() {
			t.Errorf("example %d: nanoseconds %d", k, got.Timestamp.Nanosecond())
		}
		got.Timestamp = want.Timestamp
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if !bytes.Equal(a, b) {
			t.Errorf("example %d:\n%s\n%s", k, a, b)
		}
	}
	raw := do(t, s, events, vals("filter", `id eq "ee79c82d-4574-42d9-840a-7fa5c32e8c37"`)).Body.String()
	if !strings.Contains(raw, `"error":null`) || !strings.Contains(raw, `"message":"\"VEZAFILESERVER\" Data Source extracted (0s)"`) {
		t.Errorf("second example as sent: %s", raw)
	}

	// Filters match a scan of the whole list.
	from, to := evs[len(evs)/4].Timestamp, evs[len(evs)*9/20].Timestamp
	for _, tc := range []struct {
		filter string
		keep   func(e *SystemEvent) bool
	}{
		{`category eq "INTEGRATIONS" and timestamp ge "` + rfc(from) + `"`, func(e *SystemEvent) bool {
			return e.Category == "INTEGRATIONS" && e.Timestamp.UnixMilli() >= from.UnixMilli()
		}},
		{`severity eq "error"`, func(e *SystemEvent) bool { return e.Severity == "ERROR" }},
		{`event_type eq "USER_LOGIN" and timestamp le "` + rfc(to) + `"`, func(e *SystemEvent) bool {
			return e.EventType == "USER_LOGIN" && e.Timestamp.UnixMilli() <= to.UnixMilli()
		}},
		{`event_type eq "OAA_PUSH"`, func(e *SystemEvent) bool { return e.EventType == "OAA_PUSH" || e.EventType == "OAA push" }},
		{`severity ne "INFO" and category eq "SYSTEM"`, func(e *SystemEvent) bool { return e.Severity != "INFO" && e.Category == "SYSTEM" }},
	} {
		var want []string
		for i := range evs {
			if tc.keep(&evs[i]) {
				want = append(want, evs[i].ID)
			}
		}
		var got []string
		for _, e := range eventPages(t, s, vals("filter", tc.filter, "page_size", "500")) {
			got = append(got, e.ID)
		}
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s: %d events, want %d", tc.filter, len(got), len(want))
		}
	}

	// Newest first is the reverse.
	desc := eventPages(t, s, vals("order_by", "timestamp desc", "page_size", "3000"))
	if len(desc) != len(evs) || desc[0].ID != evs[len(evs)-1].ID || desc[len(desc)-1].ID != evs[0].ID {
		t.Fatal("timestamp desc is not the reverse")
	}
}

func TestSystemEventsRequests(t *testing.T) {
	s := New(Options{Seed: 22, Scale: 12000})
	// Page size: 1,000 by default, at most 10,000.
	var p EventPage
	_ = json.Unmarshal(do(t, s, events, nil).Body.Bytes(), &p)
	if len(p.Values) != 1000 || !p.HasMore {
		t.Fatalf("default page: %d values", len(p.Values))
	}
	for _, tc := range []struct{ size, want int }{{0, 1000}, {1, 1}, {9999, 9999}, {20000, 10000}} {
		q, _, err := s.parseEvQuery(httptest.NewRequest(http.MethodGet, events+"?page_size="+strconv.Itoa(tc.size), nil), false)
		if err != nil || q.size != tc.want {
			t.Errorf("page_size %d: %d (%v)", tc.size, q.size, err)
		}
	}
	// The token is standard base64 of JSON, as in seed 002: it must be
	// URL-encoded, and it is checked.
	_ = json.Unmarshal(do(t, s, events, vals("page_size", "7")).Body.Bytes(), &p)
	b, err := base64.StdEncoding.DecodeString(p.NextPageToken)
	if err != nil || !bytes.Contains(b, []byte(`"ListInput":{"Category":0`)) || !bytes.Contains(b, []byte(`"PaginationLastID":"`)) {
		t.Fatalf("token %q: %s", p.NextPageToken, b)
	}
	tampered := base64.StdEncoding.EncodeToString(bytes.Replace(b, []byte(`"PageSize":7`), []byte(`"PageSize":8`), 1))
	retention := DefaultNow.AddDate(0, -1, 0).Add(-time.Second)
	for _, tc := range []struct {
		q     url.Values
		field string
		in    string
	}{
		{vals("filter", `colour eq "red"`), "filter", "colour"},
		{vals("filter", `severity eq "LOUD"`), "filter", "severity"},
		{vals("filter", `category co "INT"`), "filter", "category"},
		{vals("page_token", tampered), "page_token", ""},
		{vals("page_token", "eyJMaXNfQ=="), "page_token", ""},
		{vals("order_by", "severity"), "order_by", ""},
		{vals("filter", `timestamp ge "`+rfc(retention)+`"`), "filter.start_time", "Must be after or equal to 2025-12-05T09:30:00Z"},
		{vals("filter", `category eq "SYSTEM" and timestamp gt "2023-05-13T21:39:21Z"`), "filter.start_time", "2025-12-05T09:30:00Z"},
	} {
		e := decodeError(t, do(t, s, events, tc.q), http.StatusBadRequest, "InvalidArgument")
		fv := e.Details[0].FieldViolations[0]
		if fv.Field != tc.field || !strings.Contains(fv.Description, tc.in) {
			t.Errorf("%v: violation %+v, want field %s mentioning %q", tc.q, fv, tc.field, tc.in)
		}
	}
	if rec := do(t, s, events, vals("filter", `timestamp ge "`+rfc(DefaultNow.AddDate(0, -1, 0))+`"`)); rec.Code != 200 {
		t.Fatalf("the oldest valid time is refused: %s", rec.Body.String())
	}
}

func TestSystemEventsExport(t *testing.T) {
	s := New(Options{Seed: 23, Scale: 3000, Live: true, LiveRate: 10, LiveHorizon: time.Hour, Clock: func() time.Time { return DefaultNow }})
	listed := eventPages(t, s, nil)
	from := listed[100].Timestamp
	export := func(q url.Values) EventExportPage {
		t.Helper()
		var p EventExportPage
		rec := do(t, s, events+"/export", q)
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.NextPageToken == "" {
			t.Fatalf("export: %d %s", rec.Code, rec.Body.String())
		}
		return p
	}
	var got []SystemEvent
	p := export(vals("filter", `persisted_at ge "`+rfc(from)+`"`, "page_size", "40"))
	for {
		got = append(got, p.Events...)
		if !p.HasMore {
			break
		}
		p = export(vals("page_token", p.NextPageToken))
	}
	if len(got) != len(listed)-100 || got[0].ID != listed[100].ID {
		t.Fatalf("export from event 100: %d events, want %d", len(got), len(listed)-100)
	}
	// Caught up: the token still comes, and later yields what is new.
	tail := export(vals("page_token", p.NextPageToken))
	if len(tail.Events) != 0 || tail.HasMore {
		t.Fatal("a caught-up export returned events")
	}
	s.Advance(50 * time.Second) // one event a second
	var newer []SystemEvent
	for p = export(vals("page_token", tail.NextPageToken)); ; p = export(vals("page_token", p.NextPageToken)) {
		newer = append(newer, p.Events...)
		if !p.HasMore {
			break
		}
	}
	if len(newer) < 48 || len(newer) > 51 || newer[0].ID != s.g.ids.uuid(kindEvent, s.ev.n) {
		t.Fatalf("%d new events after 50 s at 1/s", len(newer))
	}
	for _, e := range newer {
		if e.Timestamp.Before(DefaultNow) || e.Timestamp.After(s.Now()) {
			t.Fatalf("new event at %v", e.Timestamp)
		}
	}
	if again := export(vals("page_token", p.NextPageToken)); len(again.Events) != 0 {
		t.Fatal("events repeated after catching up")
	}
	// An export token is no list token, and the reverse.
	decodeError(t, do(t, s, events, vals("page_token", p.NextPageToken)), http.StatusBadRequest, "InvalidArgument")
	decodeError(t, do(t, s, events+"/export", vals("filter", `persisted_at ge "2020-01-01T00:00:00Z"`)), http.StatusBadRequest, "InvalidArgument")
	decodeError(t, do(t, s, events+"/export", vals("order_by", "timestamp desc")), http.StatusBadRequest, "InvalidArgument")
}
