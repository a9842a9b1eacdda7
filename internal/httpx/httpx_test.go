package httpx

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// script answers the n-th request (1-based) with step(n).
func script(t *testing.T, step func(n int, w http.ResponseWriter, r *http.Request)) (*url.URL, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		step(int(n.Add(1)), w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL + "/x")
	return u, &n
}

const secret = "s3cr3t-token-value"

func caller(waits *[]time.Duration, logs *bytes.Buffer) *Caller {
	return &Caller{
		Auth: "Bearer " + secret, Secrets: NewRedactor(secret),
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sleep: func(_ context.Context, d time.Duration) error {
			*waits = append(*waits, d)
			return nil
		},
	}
}

func TestRetriesHonourRetryAfterAndBackoff(t *testing.T) {
	u, n := script(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+secret {
			t.Errorf("auth header %q", r.Header.Get("Authorization"))
		}
		switch n {
		case 1:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		case 2, 3:
			w.WriteHeader(503)
		default:
			w.Write([]byte(`{"ok":true}`))
		}
	})
	var waits []time.Duration
	var logs bytes.Buffer
	c := caller(&waits, &logs)
	resp, err := c.Do(context.Background(), &Request{Route: "r", Method: "GET", URL: u, Idempotent: true}, nil)
	if err != nil || !resp.OK() || resp.Attempts != 4 || n.Load() != 4 {
		t.Fatalf("resp %+v err %v after %d requests", resp, err, n.Load())
	}
	if len(waits) != 3 || waits[0] != 7*time.Second {
		t.Fatalf("waits %v: Retry-After must set the first", waits)
	}
	// Backoff doubles from Base per retry, half of it jitter: retry 2 waits
	// 0.5-1 s, retry 3 1-2 s.
	if waits[1] < 500*time.Millisecond || waits[1] > time.Second || waits[2] < time.Second || waits[2] > 2*time.Second {
		t.Fatalf("backoff waits %v", waits)
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatal("the token reached the log")
	}
}

func TestDelayIsCapped(t *testing.T) {
	c := &Caller{Base: time.Second, Cap: 30 * time.Second}
	for n := range 80 {
		if d := c.delay(n, 0); d > 30*time.Second || d < 0 {
			t.Fatalf("retry %d waits %v", n, d)
		}
	}
	if d := c.delay(60, 0); d < 15*time.Second {
		t.Fatalf("late retry waits only %v", d)
	}
	if d := c.retryAfter("100000"); d != DefaultMaxRetryAfter {
		t.Fatalf("Retry-After uncapped: %v", d)
	}
	if d := c.retryAfter(time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)); d != 0 {
		t.Fatalf("past date: %v", d)
	}
}

func TestNoRetryWhereItCannotHelp(t *testing.T) {
	for _, c := range []struct {
		name       string
		status     int
		idempotent bool
		want       int32
	}{
		{"401", 401, true, 1},
		{"403", 403, true, 1},
		{"404", 404, true, 1},
		{"500 on a write", 500, false, 1},
		{"503 on a write", 503, false, 3},
		{"502 on a read", 502, true, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, n := script(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(c.status) })
			var waits []time.Duration
			var logs bytes.Buffer
			cl := caller(&waits, &logs)
			cl.Retries = 2
			resp, err := cl.Do(context.Background(), &Request{Route: "r", Method: "POST", URL: u, Body: []byte(`{}`), Idempotent: c.idempotent}, nil)
			if err != nil || resp.Status != c.status || n.Load() != c.want {
				t.Fatalf("status %v err %v, %d requests, want %d", resp, err, n.Load(), c.want)
			}
		})
	}
}

func TestAcceptRejectionAndResetsAreRetried(t *testing.T) {
	u, n := script(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 1: // reset
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case 2: // truncated: fewer bytes than Content-Length
			w.Header().Set("Content-Length", "100")
			w.Write([]byte(`{"a":`))
		case 3: // whole but garbled
			w.Write([]byte(`{"a":"x"}`))
		default:
			w.Write([]byte(`{"a":1}`))
		}
	})
	var waits []time.Duration
	var logs bytes.Buffer
	c := caller(&waits, &logs)
	accept := func(b []byte) error {
		if !bytes.Equal(b, []byte(`{"a":1}`)) {
			return errors.New("bad body")
		}
		return nil
	}
	resp, err := c.Do(context.Background(), &Request{Route: "r", Method: "GET", URL: u, Idempotent: true}, accept)
	if err != nil || string(resp.Body) != `{"a":1}` || n.Load() != 4 {
		t.Fatalf("%v %v after %d", resp, err, n.Load())
	}
	// A write is not resent after a reset: it may have been applied.
	u2, n2 := script(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	})
	_, err = c.Do(context.Background(), &Request{Route: "w", Method: "POST", URL: u2, Body: []byte(`{}`)}, nil)
	var te *TransportError
	if !errors.As(err, &te) || n2.Load() != 1 {
		t.Fatalf("write after reset: %v, %d requests", err, n2.Load())
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	r := NewRedactor(secret, "ab")
	err := r.Err(errors.New("bad token " + secret + " and " + url.QueryEscape(secret+"/x")))
	if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "[REDACTED]") || !strings.HasPrefix(err.Error(), "bad token ") {
		t.Fatalf("%v", err)
	}
	var nilR *Redactor
	if nilR.String("x") != "x" {
		t.Fatal("nil redactor")
	}
	// Retries exhausted on a transport error: the message names no secret.
	u, _ := url.Parse("http://127.0.0.1:1/" + secret)
	var waits []time.Duration
	var logs bytes.Buffer
	c := caller(&waits, &logs)
	c.Retries = 1
	_, err = c.Do(context.Background(), &Request{Route: "r", Method: "GET", URL: u, Idempotent: true}, nil)
	if err == nil || strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) || !strings.Contains(err.Error(), "(gave up after 2 attempts)") {
		t.Fatalf("%v\n%s", err, logs.String())
	}
}

func TestCancelStopsRetrying(t *testing.T) {
	u, n := script(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) })
	ctx, cancel := context.WithCancel(context.Background())
	c := &Caller{Sleep: func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }}
	_, err := c.Do(ctx, &Request{Route: "r", Method: "GET", URL: u, Idempotent: true}, nil)
	if !errors.Is(err, context.Canceled) || n.Load() != 1 {
		t.Fatalf("%v after %d", err, n.Load())
	}
}
