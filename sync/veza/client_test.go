package veza

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testToken = "tok-ZX9-Q7w3-SECRET-5e1f"

func fastOpts() Options {
	return Options{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func newTestClient(t *testing.T, url string, opts Options) *Client {
	t.Helper()
	c, err := New(url, testToken, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// --- paging -----------------------------------------------------------------

// scripted serves the list pages in order, keyed by the page token it expects.
type scripted struct {
	mu     sync.Mutex
	pages  map[string]string // page_token -> body
	tokens []string          // tokens seen, in order
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("page_token")
	s.mu.Lock()
	s.tokens = append(s.tokens, tok)
	body, ok := s.pages[tok]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, 400, ErrorBody{Code: "InvalidArgument", Message: "bad page_token"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, body)
}

func collectJobs(t *testing.T, c *Client, p ListParams) ([]string, int, error) {
	t.Helper()
	pg := NewPager(p, c.ListJobs)
	var ids []string
	for pg.More() {
		page, err := pg.Next(context.Background())
		if err != nil {
			return ids, pg.Pages(), err
		}
		for _, j := range page.Values {
			ids = append(ids, j.JobID)
		}
	}
	return ids, pg.Pages(), nil
}

func TestPagerEmptyPageWithHasMoreContinues(t *testing.T) {
	s := &scripted{pages: map[string]string{
		"":   `{"values":[{"job_id":"a"}],"has_more":true,"next_page_token":"t1"}`,
		"t1": `{"values":[],"has_more":true,"next_page_token":"t2"}`,
		"t2": `{"has_more":true,"next_page_token":"t3"}`,
		"t3": `{"values":[{"job_id":"b"}],"has_more":false,"next_page_token":""}`,
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ids, pages, err := collectJobs(t, newTestClient(t, srv.URL, fastOpts()), ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids, ","); got != "a,b" || pages != 4 {
		t.Fatalf("ids %q pages %d, want a,b over 4 pages", got, pages)
	}
}

func TestPagerStopsOnHasMoreFalseDespiteToken(t *testing.T) {
	s := &scripted{pages: map[string]string{
		"":   `{"values":[{"job_id":"a"}],"has_more":true,"next_page_token":"t1"}`,
		"t1": `{"values":[{"job_id":"b"}],"has_more":false,"next_page_token":"t2"}`,
		"t2": `{"values":[{"job_id":"c"}],"has_more":false}`,
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ids, _, err := collectJobs(t, newTestClient(t, srv.URL, fastOpts()), ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids, ","); got != "a,b" {
		t.Fatalf("ids %q, want a,b", got)
	}
	if len(s.tokens) != 2 {
		t.Fatalf("requests %v, want 2", s.tokens)
	}
}

func TestPagerRepeatedTokenFails(t *testing.T) {
	s := &scripted{pages: map[string]string{
		"":     `{"values":[{"job_id":"a"}],"has_more":true,"next_page_token":"loop"}`,
		"loop": `{"values":[],"has_more":true,"next_page_token":"loop"}`,
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	_, pages, err := collectJobs(t, newTestClient(t, srv.URL, fastOpts()), ListParams{})
	if !errors.Is(err, ErrRepeatedToken) {
		t.Fatalf("err %v, want ErrRepeatedToken", err)
	}
	if pages != 1+DefaultMaxRepeats {
		t.Fatalf("pages %d, want %d", pages, 1+DefaultMaxRepeats)
	}
}

func TestPagerHasMoreWithoutTokenFails(t *testing.T) {
	s := &scripted{pages: map[string]string{
		"": `{"values":[{"job_id":"a"}],"has_more":true,"next_page_token":""}`,
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	_, _, err := collectJobs(t, newTestClient(t, srv.URL, fastOpts()), ListParams{})
	if !errors.Is(err, ErrMissingToken) {
		t.Fatalf("err %v, want ErrMissingToken", err)
	}
}

func TestPagerResumesFromToken(t *testing.T) {
	s := &scripted{pages: map[string]string{
		"t1": `{"values":[{"job_id":"b"}],"has_more":false}`,
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ids, _, err := collectJobs(t, newTestClient(t, srv.URL, fastOpts()), ListParams{PageToken: "t1"})
	if err != nil || strings.Join(ids, ",") != "b" {
		t.Fatalf("ids %v err %v", ids, err)
	}
}

func TestPagerAll(t *testing.T) {
	s := &scripted{pages: map[string]string{
		"":   `{"values":[{"job_id":"a"},{"job_id":"b"}],"has_more":true,"next_page_token":"x"}`,
		"x":  `{"values":[{"job_id":"c"}],"has_more":true,"next_page_token":"y"}`,
		"y":  `{"values":[],"has_more":true,"next_page_token":"zz"}`,
		"zz": `{"values":[{"job_id":"d"}],"has_more":false}`,
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := newTestClient(t, srv.URL, fastOpts())
	var got []string
	for j, err := range NewPager(ListParams{}, c.ListJobs).All(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, j.JobID)
	}
	if strings.Join(got, "") != "abcd" {
		t.Fatalf("got %v", got)
	}
}

// --- request shape ----------------------------------------------------------

func TestListRequestParameters(t *testing.T) {
	const tok = "a+b/c=d&e f%g"
	var seen *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Clone(context.Background())
		io.WriteString(w, `{"values":[],"has_more":false}`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL+"/prefix/", fastOpts())
	_, err := c.ListJobs(context.Background(), ListParams{
		Filter: `state eq "ERRORED"`, OrderBy: "created_at asc", PageSize: 50, PageToken: tok, Details: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	q := seen.URL.Query()
	for k, want := range map[string]string{
		"filter": `state eq "ERRORED"`, "order_by": "created_at asc", "page_size": "50",
		"page_token": tok, "details": "true",
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if strings.Contains(seen.URL.RawQuery, "a+b/c") {
		t.Errorf("page_token not URL-encoded: %s", seen.URL.RawQuery)
	}
	if seen.URL.Path != "/prefix/api/private/lifecycle_management/action_job_events" {
		t.Errorf("path %q", seen.URL.Path)
	}
	if got := seen.Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization %q", got)
	}
	if seen.Header.Get("User-Agent") != "opsdeck" {
		t.Errorf("User-Agent %q", seen.Header.Get("User-Agent"))
	}
}

func TestEveryEndpointPathAndAuth(t *testing.T) {
	type hit struct{ method, rawPath, body, auth string }
	var mu sync.Mutex
	var hits []hit
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits = append(hits, hit{r.Method, r.URL.EscapedPath(), string(b), r.Header.Get("Authorization")})
		mu.Unlock()
		switch {
		case r.Method == http.MethodPost:
			io.WriteString(w, `{}`)
		case strings.Contains(r.URL.Path, "/policy_tasks/"):
			io.WriteString(w, `{"value":{"id":"t 1"}}`)
		case strings.Contains(r.URL.Path, "/action_events/"):
			io.WriteString(w, `{"value":{"policy_task":"t1","action_name":"a/b c"}}`)
		case strings.Contains(r.URL.Path, "/action_job_events/"):
			io.WriteString(w, `{"value":{"job_id":"j1","request":{"x":1},"result":{"error_messages":["boom"]}}}`)
		default:
			io.WriteString(w, `{"values":[],"has_more":false}`)
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, fastOpts())
	ctx := context.Background()
	mustNil := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.ListTasks(ctx, ListParams{})
	mustNil(err)
	_, err = c.ListActions(ctx, ListParams{})
	mustNil(err)
	tk, err := c.GetTask(ctx, "t 1")
	mustNil(err)
	if tk.Value.ID != "t 1" || string(tk.Raw) != `{"id":"t 1"}` {
		t.Errorf("task %+v raw %s", tk.Value, tk.Raw)
	}
	ac, err := c.GetAction(ctx, "t1", "a/b c")
	mustNil(err)
	if ac.Value.ActionName != "a/b c" {
		t.Errorf("action %+v", ac.Value)
	}
	jb, err := c.GetJob(ctx, "j1")
	mustNil(err)
	if string(jb.Value.Result) != `{"error_messages":["boom"]}` {
		t.Errorf("job result %s", jb.Value.Result)
	}
	task, err := c.Restart(ctx, "t1")
	mustNil(err)
	if task != nil {
		t.Errorf("restart with {} reply returned %+v", task)
	}
	mustNil(c.Unblock(ctx, []string{"t1", "t2"}, "RUN"))
	mustNil(c.PushResult(ctx, "j1", PushBody{ActionType: "SEND_REST_PAYLOAD", AnyChanges: true}))

	lcm := "/api/private/lifecycle_management"
	want := []hit{
		{"GET", lcm + "/policy_tasks", "", ""},
		{"GET", lcm + "/action_events", "", ""},
		{"GET", lcm + "/policy_tasks/t%201", "", ""},
		{"GET", lcm + "/action_events/t1/a%2Fb%20c", "", ""},
		{"GET", lcm + "/action_job_events/j1", "", ""},
		{"POST", lcm + "/policy_tasks/t1:restart", "{}", ""},
		{"POST", lcm + "/policy_tasks:unblock", `{"task_ids":["t1","t2"],"action":"RUN"}`, ""},
		{"POST", lcm + "/action_job_events/j1:push",
			`{"value":{"job_id":"j1","action_type":"SEND_REST_PAYLOAD","output_entities":[],"any_changes":true,"any_created":false}}`, ""},
	}
	if len(hits) != len(want) {
		t.Fatalf("%d requests, want %d: %+v", len(hits), len(want), hits)
	}
	for i, w := range want {
		h := hits[i]
		if h.method != w.method || h.rawPath != w.rawPath || h.body != w.body {
			t.Errorf("request %d: got %s %s %s, want %s %s %s", i, h.method, h.rawPath, h.body, w.method, w.rawPath, w.body)
		}
		if h.auth != "Bearer "+testToken {
			t.Errorf("request %d: Authorization %q", i, h.auth)
		}
	}
}

func TestArgumentValidation(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1", fastOpts())
	ctx := context.Background()
	for name, err := range map[string]error{
		"empty job id":   func() error { _, err := c.GetJob(ctx, ""); return err }(),
		"dot-dot id":     func() error { _, err := c.GetTask(ctx, ".."); return err }(),
		"empty action":   func() error { _, err := c.GetAction(ctx, "t", ""); return err }(),
		"unblock action": c.Unblock(ctx, []string{"x"}, "DELETE"),
		"unblock ids":    c.Unblock(ctx, nil, "RUN"),
		"push mismatch":  c.PushResult(ctx, "j1", PushBody{JobID: "j2"}),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRouteOverride(t *testing.T) {
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path + "?" + r.URL.RawQuery
		io.WriteString(w, `{"values":[]}`)
	}))
	defer srv.Close()
	opts := fastOpts()
	opts.Routes = Routes{ListJobs: "/v2/jobs", OrderByParam: "sort"}
	c := newTestClient(t, srv.URL, opts)
	if _, err := c.ListJobs(context.Background(), ListParams{OrderBy: "created_at asc"}); err != nil {
		t.Fatal(err)
	}
	if path != "/v2/jobs?sort=created_at+asc" {
		t.Fatalf("path %q", path)
	}
	if c.Routes().ListTasks != DefaultRoutes().ListTasks {
		t.Fatal("override clobbered an unrelated route")
	}
	for _, bad := range []Routes{{GetJob: "/jobs/{id}"}, {ListJobs: "jobs"}, {GetTask: "/t/{id}/{x}"}} {
		o := fastOpts()
		o.Routes = bad
		if _, err := New(srv.URL, testToken, o); err == nil {
			t.Errorf("route %+v accepted", bad)
		}
	}
}

// --- decoding ---------------------------------------------------------------

func TestRecordKeepsRawBytes(t *testing.T) {
	obj := `{ "job_id" : "j1", "unknown_field": {"deep": [1, 2.50, "\u00e9"]}, "created_at":"2025-01-02T03:04:05.123Z" }`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"values":[`+obj+`],"has_more":false}`)
	}))
	defer srv.Close()
	page, err := newTestClient(t, srv.URL, fastOpts()).ListJobRecords(context.Background(), ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Values) != 1 || string(page.Values[0].Raw) != obj {
		t.Fatalf("raw %q, want %q", page.Values[0].Raw, obj)
	}
	if v := page.Values[0].Value; v.JobID != "j1" || v.CreatedAt == nil || v.CreatedAt.UnixMilli() != 1735787045123 {
		t.Fatalf("value %+v", v)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := map[string]string{
		"html":        `<html><body>ok</body></html>`,
		"truncated":   `{"values":[{"job_id":"a"}`,
		"wrong shape": `{"items":[{"job_id":"a"}]}`,
		"array":       `[{"job_id":"a"}]`,
		"null":        `null`,
		"bad field":   `{"values":[{"job_id":1}],"has_more":false}`,
		"bad time":    `{"values":[{"created_at":"yesterday"}],"has_more":false}`,
		"trailing":    `{"values":[],"has_more":false} {}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				io.WriteString(w, body)
			}))
			defer srv.Close()
			_, err := newTestClient(t, srv.URL, fastOpts()).ListJobs(context.Background(), ListParams{})
			if err == nil || !strings.HasPrefix(err.Error(), "decode list_jobs: ") {
				t.Fatalf("err %v, want decode list_jobs: ...", err)
			}
			if n.Load() != 1 {
				t.Fatalf("%d requests: decode errors must not be retried", n.Load())
			}
		})
	}
	// A proto3 server omits empty fields: {} is a valid, final, empty page.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, " { } ") }))
	defer srv.Close()
	p, err := newTestClient(t, srv.URL, fastOpts()).ListJobs(context.Background(), ListParams{})
	if err != nil || p.HasMore || len(p.Values) != 0 {
		t.Fatalf("{}: %+v %v", p, err)
	}
	// get without "value"
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"job_id":"x"}`) }))
	defer srv2.Close()
	if _, err := newTestClient(t, srv2.URL, fastOpts()).GetJob(context.Background(), "x"); err == nil || !strings.HasPrefix(err.Error(), "decode get_job: ") {
		t.Fatalf("get without value: %v", err)
	}
}

func TestResponseSizeCap(t *testing.T) {
	big := `{"values":[{"job_id":"` + strings.Repeat("x", 4000) + `"}],"has_more":false}`
	for _, chunked := range []bool{false, true} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if chunked {
				w.(http.Flusher).Flush() // no Content-Length
			}
			io.WriteString(w, big)
		}))
		opts := fastOpts()
		opts.MaxResponseBytes = 1024
		_, err := newTestClient(t, srv.URL, opts).ListJobs(context.Background(), ListParams{})
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), "cap") {
			t.Fatalf("chunked=%v: err %v, want size cap error", chunked, err)
		}
	}
}

// --- error envelope ---------------------------------------------------------

func TestErrorEnvelope(t *testing.T) {
	type tc struct {
		status  int
		body    string
		code    string
		msg     string
		reqID   string
		viol    []FieldViolation
		inError []string
	}
	cases := map[string]tc{
		"400 violations": {
			status: 400,
			body: `{"code":"InvalidArgument","message":"invalid filter","request_id":"0123456789abcdef0123456789abcdef","timestamp":"2025-01-01T00:00:00Z",
				"details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"filter","description":"operator co not allowed on state"}]}]}`,
			code: "InvalidArgument", msg: "invalid filter", reqID: "0123456789abcdef0123456789abcdef",
			viol:    []FieldViolation{{"filter", "operator co not allowed on state"}},
			inError: []string{"HTTP 400", "InvalidArgument", "invalid filter", "filter: operator co not allowed on state", "request_id 0123456789abcdef0123456789abcdef", "list_jobs"},
		},
		"401": {
			status: 401, body: `{"code":"Unauthenticated","message":"bad key","request_id":"r401"}`,
			code: "Unauthenticated", msg: "bad key", reqID: "r401",
			inError: []string{"HTTP 401", "Unauthenticated", "bad key", "r401"},
		},
		"404": {
			status: 404, body: `{"code":"NotFound","message":"no such thing","request_id":"r404"}`,
			code: "NotFound", msg: "no such thing", reqID: "r404",
			inError: []string{"HTTP 404", "NotFound"},
		},
		"500 html": {
			status: 500,
			body:   "<html>\r\n<head><title>500 Internal Server Error</title></head>\x1b[31m\x07<body>" + strings.Repeat("lorem ipsum ", 200) + "</body></html>",
			code:   "", msg: "<html> <head><title>500 Internal Server Error</title></head>[31m<body>lorem",
			inError: []string{"HTTP 500", "<html>"},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			}))
			defer srv.Close()
			opts := fastOpts()
			opts.MaxRetries = 2
			_, err := newTestClient(t, srv.URL, opts).ListJobs(context.Background(), ListParams{})
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err %T %v, want *APIError", err, err)
			}
			if ae.Status != c.status || ae.Code != c.code || ae.RequestID != c.reqID {
				t.Errorf("got %+v", ae)
			}
			if c.code != "" && ae.Message != c.msg {
				t.Errorf("message %q, want %q", ae.Message, c.msg)
			}
			if c.code == "" {
				if !strings.HasPrefix(ae.Message, c.msg) || len([]rune(ae.Message)) > maxExcerpt+1 {
					t.Errorf("excerpt %q (%d runes)", ae.Message, len([]rune(ae.Message)))
				}
			}
			if fmt.Sprint(ae.Violations) != fmt.Sprint(c.viol) {
				t.Errorf("violations %v, want %v", ae.Violations, c.viol)
			}
			msg := err.Error()
			for _, s := range c.inError {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q lacks %q", msg, s)
				}
			}
			if strings.ContainsAny(msg, "\x1b\x07\r\n") {
				t.Errorf("control characters in %q", msg)
			}
			want := int32(1)
			if retryableStatus(c.status) {
				want = 3
			}
			if n.Load() != want {
				t.Errorf("%d requests, want %d", n.Load(), want)
			}
		})
	}
}

func TestErrorMessageSanitised(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, ErrorBody{Code: "Invalid\x1b]0;pwned\x07Argument", Message: "\x1b[2J" + strings.Repeat("é", 2000) + "\u202e"})
	}))
	defer srv.Close()
	_, err := newTestClient(t, srv.URL, fastOpts()).ListJobs(context.Background(), ListParams{})
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatal(err)
	}
	if strings.ContainsAny(err.Error(), "\x1b\x07\u202e") {
		t.Fatalf("unsanitised: %q", err.Error())
	}
	if n := len([]rune(ae.Message)); n > maxMessage+1 {
		t.Fatalf("message not truncated: %d runes", n)
	}
}

// --- retries ----------------------------------------------------------------

func TestRetry429HonoursRetryAfter(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, ErrorBody{Code: "ResourceExhausted", Message: "slow down"})
			return
		}
		io.WriteString(w, `{"values":[{"job_id":"a"}],"has_more":false}`)
	}))
	defer srv.Close()
	start := time.Now()
	p, err := newTestClient(t, srv.URL, fastOpts()).ListJobs(context.Background(), ListParams{})
	if err != nil || len(p.Values) != 1 {
		t.Fatalf("%+v %v", p, err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("retried after %v, Retry-After said 1s", d)
	}
	if n.Load() != 2 {
		t.Fatalf("%d requests", n.Load())
	}
}

func TestRetry503ThenSuccess(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			writeJSON(w, 503, ErrorBody{Code: "Unavailable", Message: "try later"})
			return
		}
		io.WriteString(w, `{"values":[{"job_id":"a"}],"has_more":false}`)
	}))
	defer srv.Close()
	p, err := newTestClient(t, srv.URL, fastOpts()).ListJobs(context.Background(), ListParams{})
	if err != nil || len(p.Values) != 1 || n.Load() != 3 {
		t.Fatalf("%+v %v after %d requests", p, err, n.Load())
	}
}

// resetConn hijacks the connection and closes it with SO_LINGER 0, so the
// client sees a TCP reset instead of a reply.
func resetConn(t *testing.T, w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func TestRetryTransportReset(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			resetConn(t, w)
			return
		}
		io.WriteString(w, `{"values":[{"job_id":"a"}],"has_more":false}`)
	}))
	defer srv.Close()
	p, err := newTestClient(t, srv.URL, fastOpts()).ListJobs(context.Background(), ListParams{})
	if err != nil || len(p.Values) != 1 || n.Load() < 2 {
		t.Fatalf("%+v %v after %d requests", p, err, n.Load())
	}
}

func TestRetryMidBodyReset(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			conn, buf, _ := w.(http.Hijacker).Hijack()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"values\":[")
			buf.Flush()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
			return
		}
		io.WriteString(w, `{"values":[{"job_id":"a"}],"has_more":false}`)
	}))
	defer srv.Close()
	p, err := newTestClient(t, srv.URL, fastOpts()).ListJobs(context.Background(), ListParams{})
	if err != nil || len(p.Values) != 1 || n.Load() != 2 {
		t.Fatalf("%+v %v after %d requests", p, err, n.Load())
	}
}

func TestRetryGivesUpAfterMax(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 502, ErrorBody{Code: "Unavailable", Message: "bad gateway"})
	}))
	defer srv.Close()
	for _, tc := range []struct{ opt, want int }{{0, 6}, {2, 3}, {-1, 1}} {
		n.Store(0)
		opts := fastOpts()
		opts.MaxRetries = tc.opt
		_, err := newTestClient(t, srv.URL, opts).ListJobs(context.Background(), ListParams{})
		if !IsStatus(err, 502) {
			t.Fatalf("MaxRetries %d: err %v", tc.opt, err)
		}
		if n.Load() != int32(tc.want) {
			t.Fatalf("MaxRetries %d: %d requests, want %d", tc.opt, n.Load(), tc.want)
		}
		if tc.want > 1 && !strings.Contains(err.Error(), fmt.Sprintf("giving up after %d attempts", tc.want)) {
			t.Fatalf("error %q does not say it gave up", err)
		}
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 422} {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.Header().Set("Retry-After", "0")
			writeJSON(w, status, ErrorBody{Code: "X", Message: "no"})
		}))
		_, err := newTestClient(t, srv.URL, fastOpts()).ListJobs(context.Background(), ListParams{})
		srv.Close()
		if !IsStatus(err, status) || n.Load() != 1 {
			t.Fatalf("status %d: %v after %d requests", status, err, n.Load())
		}
	}
}

func TestWritesRetryOnlyWhenNotApplied(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   int32
	}{{500, 1}, {502, 1}, {504, 1}, {503, 3}, {429, 3}} {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			writeJSON(w, tc.status, ErrorBody{Code: "X", Message: "no"})
		}))
		opts := fastOpts()
		opts.MaxRetries = 2
		_, err := newTestClient(t, srv.URL, opts).Restart(context.Background(), "t1")
		srv.Close()
		if !IsStatus(err, tc.status) || n.Load() != tc.want {
			t.Errorf("restart on %d: %v after %d requests, want %d", tc.status, err, n.Load(), tc.want)
		}
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "120")
		writeJSON(w, 429, ErrorBody{Code: "ResourceExhausted", Message: "wait"})
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := newTestClient(t, srv.URL, Options{}).ListJobs(ctx, ListParams{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("cancel took %v", d)
	}
	if n.Load() != 1 {
		t.Fatalf("%d requests", n.Load())
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	c := newTestClient(t, "http://x", Options{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	for attempt, hi := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		hi *= time.Millisecond
		for range 50 {
			d := c.delay(attempt, 0)
			if d < hi/2 || d > hi {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", attempt, d, hi/2, hi)
			}
		}
	}
	if d := c.delay(0, 7*time.Second); d != 7*time.Second {
		t.Fatalf("Retry-After ignored: %v", d)
	}
	if d := c.delay(0, time.Hour); d != maxRetryAfter {
		t.Fatalf("Retry-After not capped: %v", d)
	}
	def := newTestClient(t, "http://x", Options{})
	if d := def.delay(30, 0); d > 30*time.Second {
		t.Fatalf("default cap exceeded: %v", d)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); d != 90*time.Second {
		t.Fatalf("HTTP-date Retry-After: %v", d)
	}
	for _, bad := range []string{"", "-3", "soon"} {
		if d := parseRetryAfter(bad, now); d != 0 {
			t.Fatalf("Retry-After %q: %v", bad, d)
		}
	}
}

// --- secrets ----------------------------------------------------------------

// TestTokenNeverLeaks drives every error path with a distinctive token (and a
// secret in the base URL's query) while the server echoes them back, then
// greps every error string and every log line.
func TestTokenNeverLeaks(t *testing.T) {
	const urlSecret = "urlsecret-77AB-queryval"
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	var mode atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echo := r.Header.Get("Authorization") + " " + r.URL.String()
		if r.URL.Query().Get("api_key") != urlSecret {
			t.Errorf("base URL query not forwarded: %s", r.URL.RawQuery)
		}
		switch mode.Load().(string) {
		case "envelope":
			writeJSON(w, 400, ErrorBody{Code: "InvalidArgument", Message: "bad " + echo, RequestID: testToken,
				Details: []ErrorDetail{{FieldViolations: []FieldViolation{{Field: testToken, Description: echo}}}}})
		case "html":
			w.WriteHeader(502)
			io.WriteString(w, "<html>"+echo+"</html>")
		case "decode":
			io.WriteString(w, `{"values":[{"created_at":"`+testToken+`"}],"has_more":false}`)
		case "value":
			io.WriteString(w, `{"value":{"job_id":"`+testToken+`","started_at":"`+urlSecret+`"}}`)
		case "reset":
			resetConn(t, w)
		case "big":
			io.WriteString(w, `{"values":[],"x":"`+strings.Repeat(testToken, 100)+`"}`)
		case "loop":
			io.WriteString(w, `{"values":[],"has_more":true,"next_page_token":"`+testToken+`"}`)
		}
	}))
	defer srv.Close()

	opts := fastOpts()
	opts.Logger = logger
	opts.MaxRetries = 1
	opts.MaxResponseBytes = 1000
	base := srv.URL + "/?api_key=" + urlSecret
	c, err := New(base, testToken, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var errs []error
	for _, m := range []string{"envelope", "html", "decode", "value", "reset", "big"} {
		mode.Store(m)
		_, err := c.ListJobs(ctx, ListParams{Filter: "x", PageToken: "p"})
		_, err2 := c.GetJob(ctx, testToken)
		err3 := c.Unblock(ctx, []string{"a"}, "RUN")
		if err == nil && m != "value" {
			t.Errorf("mode %s: no error", m)
		}
		errs = append(errs, err, err2, err3)
	}
	mode.Store("loop")
	_, _, err = collectJobs(t, c, ListParams{PageToken: testToken})
	errs = append(errs, err)

	// Context cancelled mid-backoff.
	mode.Store("html")
	cctx, cancel := context.WithCancel(ctx)
	slow := *c
	slow.backoff, slow.maxBackoff = time.Minute, time.Minute
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = slow.ListJobs(cctx, ListParams{})
	errs = append(errs, err)

	// Transport failure: nothing listens on the port.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/?api_key=" + urlSecret
	dead.Close()
	dc, err := New(deadURL, testToken, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dc.ListJobs(ctx, ListParams{})
	errs = append(errs, err)

	// Construction errors.
	_, err = New("http://[::1"+testToken+"/?api_key="+urlSecret, testToken, opts)
	errs = append(errs, err)
	_, err = New("ftp://host/?api_key="+urlSecret, testToken, opts)
	errs = append(errs, err)
	_, err = New(srv.URL, testToken+"\n", opts)
	errs = append(errs, err)

	var all strings.Builder
	for i, err := range errs {
		if err == nil {
			continue
		}
		s := err.Error()
		all.WriteString(s + "\n")
		for _, sec := range []string{testToken, urlSecret} {
			if strings.Contains(s, sec) {
				t.Errorf("error %d leaks %q: %s", i, sec, s)
			}
		}
		var ae *APIError
		if errors.As(err, &ae) && strings.Contains(fmt.Sprintf("%+v", *ae), testToken) {
			t.Errorf("APIError fields leak the token: %+v", *ae)
		}
	}
	for _, sec := range []string{testToken, urlSecret} {
		if strings.Contains(logs.String(), sec) {
			t.Errorf("log leaks %q:\n%s", sec, logs.String())
		}
	}
	if logs.Len() == 0 || !strings.Contains(all.String(), "[REDACTED]") {
		t.Fatalf("test did not exercise redaction; logs:\n%s\nerrors:\n%s", logs.String(), all.String())
	}
	if u := c.BaseURL(); strings.Contains(u, urlSecret) || strings.Contains(u, "api_key") {
		t.Errorf("BaseURL leaks: %s", u)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	for _, tc := range []struct{ url, token string }{
		{"https://acme.vezacloud.com", ""},
		{"acme.vezacloud.com", "t"},
		{"https://", "t"},
		{"https://acme.vezacloud.com", "a b"},
	} {
		if _, err := New(tc.url, tc.token, Options{}); err == nil {
			t.Errorf("New(%q, %q) accepted", tc.url, tc.token)
		}
	}
	c, err := New("https://user:pw123456@acme.vezacloud.com/base/?k=vvvv", "t", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.BaseURL(); got != "https://acme.vezacloud.com/base" {
		t.Fatalf("BaseURL %q", got)
	}
}
