package veza

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// eventsServer answers every request with the next of answers (the last
// one repeats) and records the queries it was sent.
type eventsServer struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	queries []url.Values
	paths   []string
}

func (s *eventsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.queries)
	s.queries = append(s.queries, r.URL.Query())
	s.paths = append(s.paths, r.URL.Path)
	a := s.answers[min(n, len(s.answers)-1)]
	s.mu.Unlock()
	a(w)
}

func jsonAnswer(status int, body string, hdr ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

func newEventsClient(t *testing.T, s *eventsServer) (*Client, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL, fastOpts())
	var slept []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	return c, &slept
}

// TestExportSeed002Verbatim feeds seed 002's example response, byte for
// byte, through the client: every field of both events, the raw objects and
// the tail token come out as printed.
func TestExportSeed002Verbatim(t *testing.T) {
	body, err := os.ReadFile("testdata/seed002_export.json")
	if err != nil {
		t.Fatal(err)
	}
	s := &eventsServer{answers: []func(http.ResponseWriter){jsonAnswer(200, string(body))}}
	c, _ := newEventsClient(t, s)
	page, err := c.ExportEvents(context.Background(), EventParams{Filter: `persisted_at ge "2023-09-14T23:59:59.999999999Z"`, PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if s.paths[0] != "/api/preview/events/export" || s.queries[0].Get("filter") != `persisted_at ge "2023-09-14T23:59:59.999999999Z"` || s.queries[0].Get("page_size") != "5" {
		t.Fatalf("request %s %v", s.paths[0], s.queries[0])
	}
	if len(page.Values) != 2 || page.HasMore || !strings.HasPrefix(page.NextPageToken, "eyJMaXN0SW5wdXQiOnsiQ2F0ZWdvcnkiOjAs") || !strings.HasSuffix(page.NextPageToken, "fQ==") {
		t.Fatalf("page: %d events, has_more %v, token %q", len(page.Values), page.HasMore, page.NextPageToken)
	}
	a, b := page.Values[0].Value, page.Values[1].Value
	wantA := SystemEvent{
		ID: "e1560da1-bb88-4ef0-8d7f-e220fa2b33ca", Timestamp: time.Date(2023, 9, 21, 12, 41, 27, 111852371, time.UTC),
		Category: "INTEGRATIONS", Severity: "WARNING", Name: "OAA push", Message: `OAA data source pushed "VEZAFILESERVER"`,
		Entity: "DATASOURCE", EntityID: "b408b41f-a73b-4a73-90dc-013111d3b2d2", EntityName: "VEZAFILESERVER",
		EventType: "OAA push", ProviderID: "cbb69418-e9de-422a-945c-7e62ba3ae1ac",
		Error: &EventError{Reason: "OAA_PUSH_WARNINGS", Message: "OAA push had warnings.",
			Resolution: "Address the warnings and push the datasource again.", RequestID: "be920721634911577b8223f36f06ff1e",
			Metadata: EventMetadata{
				"0": "Cannot find identity by names (values: CN=Domain Admins,CN=Users,DC=evergreentrucks,DC=local)",
				"1": "Cannot find identity by names (values: CN=Domain Users,CN=Users,DC=evergreentrucks,DC=local)",
				"2": "Empty permissions field",
				"3": "Empty identity_to_permissions field",
			}},
	}
	wantB := SystemEvent{
		ID: "ee79c82d-4574-42d9-840a-7fa5c32e8c37", Timestamp: time.Date(2023, 9, 21, 12, 42, 16, 300711343, time.UTC),
		Category: "INTEGRATIONS", Severity: "INFO", Name: "Data Source extracted", Message: `"VEZAFILESERVER" Data Source extracted (0s)`,
		Entity: "DATASOURCE", EntityID: "b408b41f-a73b-4a73-90dc-013111d3b2d2", EntityName: "VEZAFILESERVER",
		EventType: "Data Source extracted", ProviderID: "cbb69418-e9de-422a-945c-7e62ba3ae1ac",
	}
	for _, c := range []struct{ got, want SystemEvent }{{a, wantA}, {b, wantB}} {
		g, _ := json.Marshal(c.got)
		w, _ := json.Marshal(c.want)
		if !bytes.Equal(g, w) || !c.got.Timestamp.Equal(c.want.Timestamp) {
			t.Errorf("event\n got %s\nwant %s", g, w)
		}
	}
	// Raw is the object exactly as printed in the seed.
	for i, r := range page.Values {
		if !bytes.Contains(body, r.Raw) || !bytes.HasPrefix(r.Raw, []byte("{")) || !bytes.HasSuffix(r.Raw, []byte("}")) {
			t.Errorf("raw %d is not a verbatim object of the response: %.80s", i, r.Raw)
		}
		var back SystemEvent
		if err := json.Unmarshal(r.Raw, &back); err != nil || back.ID != r.Value.ID {
			t.Errorf("raw %d does not decode to its event: %v", i, err)
		}
	}
	// The tail: only the token is sent, URL-encoded ('=' survives).
	if _, err := c.ExportEvents(context.Background(), EventParams{PageToken: page.NextPageToken, PageSize: 5, Filter: "ignored"}); err != nil {
		t.Fatal(err)
	}
	q := s.queries[1]
	if q.Get("page_token") != page.NextPageToken || q.Has("filter") || len(q) != 1 {
		t.Fatalf("tail request sent %v", q)
	}
}

func TestExportHasMoreWithoutField(t *testing.T) {
	full := `{"events":[{"id":"a"},{"id":"b"}],"next_page_token":"t2"}`
	s := &eventsServer{answers: []func(http.ResponseWriter){jsonAnswer(200, full)}}
	c, _ := newEventsClient(t, s)
	page, err := c.ExportEvents(context.Background(), EventParams{PageSize: 2})
	if err != nil || !page.HasMore || page.NextPageToken != "t2" {
		t.Fatalf("a full page without has_more means more: %+v %v", page, err)
	}
	page, err = c.ExportEvents(context.Background(), EventParams{PageSize: 3})
	if err != nil || page.HasMore {
		t.Fatalf("a short page means caught up: %+v %v", page, err)
	}
	for _, body := range []string{`{"events":[],"has_more":true,"next_page_token":"t3"}`, `{}`} {
		s := &eventsServer{answers: []func(http.ResponseWriter){jsonAnswer(200, body)}}
		c, _ := newEventsClient(t, s)
		if _, err := c.ExportEvents(context.Background(), EventParams{}); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
	}
	for _, body := range []string{`{"values":[]}`, `[]`, `{"events":[{"id":"a"}],"has_more":"yes"}`, `{"events":[{"id":"a"`} {
		s := &eventsServer{answers: []func(http.ResponseWriter){jsonAnswer(200, body)}}
		c, _ := newEventsClient(t, s)
		if _, err := c.ExportEvents(context.Background(), EventParams{}); err == nil || !strings.Contains(err.Error(), "decode export_events") {
			t.Fatalf("%s: err %v", body, err)
		}
	}
}

func TestEventMetadataTolerant(t *testing.T) {
	var e SystemEvent
	in := `{"id":"x","error":{"reason":"R","metadata":{"a":"s","n":3,"o":{"k":[1]}}}}`
	if err := json.Unmarshal([]byte(in), &e); err != nil {
		t.Fatal(err)
	}
	if m := e.Error.Metadata; m["a"] != "s" || m["n"] != "3" || m["o"] != `{"k":[1]}` {
		t.Fatalf("metadata %v", m)
	}
	if err := json.Unmarshal([]byte(`{"error":{"metadata":["p","q"]}}`), &e); err != nil || e.Error.Metadata["1"] != "q" {
		t.Fatalf("array metadata %v %v", e.Error.Metadata, err)
	}
	if err := json.Unmarshal([]byte(`{"error":{"metadata":null}}`), &e); err != nil || e.Error.Metadata != nil {
		t.Fatalf("null metadata %v %v", e.Error.Metadata, err)
	}
}

// TestExportResourceExhausted: both spellings, without Retry-After, come
// back at once (one request, no backoff sleep) as a typed error; with a
// Retry-After the client waits that long and retries as for any 429.
func TestExportResourceExhausted(t *testing.T) {
	for _, code := range []string{"ResourceExhaused", "ResourceExhausted"} {
		body := `{"code":"` + code + `","message":"export rate limit exceeded; wait one minute before retrying","request_id":"r1"}`
		s := &eventsServer{answers: []func(http.ResponseWriter){jsonAnswer(429, body)}}
		c, slept := newEventsClient(t, s)
		_, err := c.ExportEvents(context.Background(), EventParams{PageToken: "tok"})
		if !IsResourceExhausted(err) || !errors.Is(err, ErrResourceExhausted) {
			t.Fatalf("%s: err %v is not ResourceExhausted", code, err)
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 429 || ae.Code != code {
			t.Fatalf("%s: APIError lost: %v", code, err)
		}
		if len(s.queries) != 1 || len(*slept) != 0 {
			t.Fatalf("%s: %d requests, slept %v: the client must leave the one-minute wait to the caller", code, len(s.queries), *slept)
		}
	}
	ok := `{"events":[],"next_page_token":"t"}`
	s := &eventsServer{answers: []func(http.ResponseWriter){
		jsonAnswer(429, `{"code":"ResourceExhausted","message":"slow down"}`, "Retry-After", "2"), jsonAnswer(200, ok)}}
	c, slept := newEventsClient(t, s)
	if _, err := c.ExportEvents(context.Background(), EventParams{}); err != nil {
		t.Fatal(err)
	}
	if len(s.queries) != 2 || len(*slept) != 1 || (*slept)[0] != 2*time.Second {
		t.Fatalf("Retry-After: %d requests, slept %v", len(s.queries), *slept)
	}
	// Another route's plain 429 is not the export's answer unless coded so.
	if IsResourceExhausted(&APIError{Status: 500, Code: "Internal"}) || IsResourceExhausted(errors.New("x")) {
		t.Fatal("false positive")
	}
}

// TestRetentionError: seed 002's field violation becomes a RetentionError
// carrying the oldest valid time; other 400s stay plain.
func TestRetentionError(t *testing.T) {
	body := `{"code":"InvalidArgument","message":"invalid filter.start_time: Must be after or equal to 2023-05-13T21:39:21Z","request_id":"r",
		"details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"filter.start_time","description":"Must be after or equal to 2023-05-13T21:39:21Z"}]}]}`
	for _, list := range []bool{false, true} {
		s := &eventsServer{answers: []func(http.ResponseWriter){jsonAnswer(400, body)}}
		c, _ := newEventsClient(t, s)
		var err error
		if list {
			_, err = c.ListEvents(context.Background(), EventParams{Filter: `timestamp ge "2020-01-01T00:00:00Z"`})
		} else {
			_, err = c.ExportEvents(context.Background(), EventParams{Filter: `persisted_at ge "2020-01-01T00:00:00Z"`})
		}
		re, ok := AsRetention(err)
		if !ok || !re.Oldest.Equal(time.Date(2023, 5, 13, 21, 39, 21, 0, time.UTC)) {
			t.Fatalf("list=%v: %v", list, err)
		}
		if !IsStatus(err, 400) || len(s.queries) != 1 {
			t.Fatalf("list=%v: status lost or retried: %v", list, err)
		}
	}
	// Only the message, lower-case wording, an offset.
	ae := &APIError{Status: 400, Message: "filter.start_time must be after 2023-05-13T23:39:21.5+02:00"}
	if ts, ok := retention(ae); !ok || !ts.Equal(time.Date(2023, 5, 13, 21, 39, 21, 5e8, time.UTC)) {
		t.Fatalf("message form: %v %v", ts, ok)
	}
	for _, ae := range []*APIError{
		{Status: 400, Message: "invalid filter: bad time 2023-05-13T21:39:21Z"},
		{Status: 400, Violations: []FieldViolation{{Field: "page_token", Description: "issued after 2023-05-13T21:39:21Z"}}},
		{Status: 404, Message: "filter.start_time must be after 2023-05-13T21:39:21Z"},
	} {
		if _, ok := retention(ae); ok {
			t.Errorf("%+v taken for a retention error", ae)
		}
	}
}

func TestListEventsParams(t *testing.T) {
	s := &eventsServer{answers: []func(http.ResponseWriter){jsonAnswer(200, `{"values":[{"id":"a","severity":"ERROR"}],"has_more":true,"next_page_token":"n+/="}`)}}
	c, _ := newEventsClient(t, s)
	page, err := c.ListEvents(context.Background(), EventParams{Filter: `category eq "INTEGRATIONS"`, OrderBy: "timestamp desc", PageSize: 50000})
	if err != nil {
		t.Fatal(err)
	}
	q := s.queries[0]
	if s.paths[0] != "/api/preview/events" || q.Get("filter") != `category eq "INTEGRATIONS"` || q.Get("order_by") != "timestamp desc" || q.Get("page_size") != "10000" {
		t.Fatalf("query %s %v", s.paths[0], q)
	}
	if len(page.Values) != 1 || page.Values[0].Value.Severity != "ERROR" || string(page.Values[0].Raw) != `{"id":"a","severity":"ERROR"}` || !page.HasMore || page.NextPageToken != "n+/=" {
		t.Fatalf("page %+v", page)
	}
	if _, err := c.ListEvents(context.Background(), EventParams{PageToken: page.NextPageToken}); err != nil || s.queries[1].Get("page_token") != "n+/=" {
		t.Fatalf("token: %v %v", s.queries[1], err)
	}
	if _, err := c.ExportEvents(context.Background(), EventParams{OrderBy: "timestamp"}); err == nil {
		t.Fatal("export accepted order_by")
	}
}
