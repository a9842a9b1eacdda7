package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/opsdeck/opsdeck/sync/veza"
)

const (
	tasksPath   = lcm + "/policy_tasks"
	actionsPath = lcm + "/action_events"
	jobsPath    = lcm + "/action_job_events"
)

// do sends a GET with the server's token straight to ServeHTTP.
func do(t testing.TB, s *Server, path string, params url.Values) *httptest.ResponseRecorder {
	t.Helper()
	return doAuth(t, s, path, params, "Bearer "+s.token)
}

func doAuth(t testing.TB, s *Server, path string, params url.Values, auth string) *httptest.ResponseRecorder {
	t.Helper()
	target := path
	if len(params) > 0 {
		target += "?" + params.Encode()
	}
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// page fetches one list page and fails the test on anything but 200.
func page[T any](t testing.TB, s *Server, path string, params url.Values) veza.ListPage[T] {
	t.Helper()
	rec := do(t, s, path, params)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s?%s: %d %s", path, params.Encode(), rec.Code, rec.Body.String())
	}
	var p veza.ListPage[T]
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode page: %v", err)
	}
	if p.HasMore == (p.NextPageToken == "") {
		t.Fatalf("has_more=%v with token %q", p.HasMore, p.NextPageToken)
	}
	return p
}

// all follows next_page_token until has_more is false and returns every
// value and the number of pages.
func all[T any](t testing.TB, s *Server, path string, params url.Values) ([]T, int) {
	t.Helper()
	var out []T
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	for pages := 1; ; pages++ {
		p := page[T](t, s, path, q)
		out = append(out, p.Values...)
		if !p.HasMore {
			return out, pages
		}
		if p.NextPageToken == q.Get("page_token") || pages > 100_000 {
			t.Fatalf("paging does not advance (page %d)", pages)
		}
		q.Set("page_token", p.NextPageToken)
	}
}

// decodeError decodes an error envelope and checks the parts every error has.
func decodeError(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) veza.ErrorBody {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var e veza.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("decode error envelope: %v: %s", err, rec.Body.String())
	}
	if e.Code != code {
		t.Errorf("code %q, want %q", e.Code, code)
	}
	if e.Message == "" {
		t.Error("empty message")
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(e.RequestID) {
		t.Errorf("request_id %q is not 32 hex digits", e.RequestID)
	}
	return e
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func httptestRecorder(s *Server, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}
