// Package httpx is the room for what opsdeck's REST clients do alike on the
// wire: send a request again after a 429, a 5xx, a reset or a truncated
// body, with capped exponential backoff and jitter or the server's
// Retry-After; never resend a write that may have been applied; and keep
// every secret out of errors and log lines. It knows no API: what a route
// is called, what a body means and how an error envelope reads stay with
// each client.
package httpx

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Defaults of Caller's zero fields.
const (
	DefaultRetries       = 5
	DefaultBase          = 500 * time.Millisecond
	DefaultCap           = 30 * time.Second
	DefaultMaxRetryAfter = 5 * time.Minute
	DefaultMaxBody       = 64 << 20
)

// Caller sends requests with retries. Its zero value works; set Auth to the
// Authorization header value and register it with Secrets.
type Caller struct {
	HTTP *http.Client // nil: a client with a 2-minute timeout
	// Auth is sent as the Authorization header. It never appears in an
	// error or a log line as long as it is also in Secrets.
	Auth      string
	UserAgent string
	Secrets   *Redactor // nil: nothing is redacted
	Log       *slog.Logger
	// Retries after the first attempt: 0 means DefaultRetries, negative
	// none.
	Retries int
	// Base is the first backoff before jitter; each retry doubles it up to
	// Cap. Retry-After from the server wins, up to MaxRetryAfter.
	Base, Cap, MaxRetryAfter time.Duration
	MaxBody                  int64
	// Sleep waits between attempts (tests replace it); nil sleeps on a
	// timer and gives up when ctx is done.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Request is one logical call; Do may send it several times.
type Request struct {
	Route  string // a name for logs and errors, e.g. "list_events"
	Method string
	URL    *url.URL
	Body   []byte // JSON; nil for none
	// Idempotent calls are resent after any retryable failure. Others only
	// when the server said it did not act (429, 503) or the connection was
	// never made.
	Idempotent bool
}

// Response is the answer Do settled on.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Attempts int
}

// OK reports a 2xx status.
func (r *Response) OK() bool { return r.Status/100 == 2 }

// Do sends req until it has an answer worth returning: a 2xx that accept
// takes (accept nil takes any), or a status that retrying will not change,
// or the last answer when retries run out. A non-2xx answer is returned
// with a nil error: reading its envelope is the caller's business. accept
// rejecting a 2xx body (a truncated or garbled page) counts as retryable
// for idempotent requests. Errors are transport failures, accept's last
// error, or ctx's; each starts with the route's name and all are
// scrubbed of Secrets.
func (c *Caller) Do(ctx context.Context, req *Request, accept func(body []byte) error) (*Response, error) {
	logPath := c.Secrets.String(req.URL.EscapedPath())
	retries := c.Retries
	switch {
	case retries == 0:
		retries = DefaultRetries
	case retries < 0:
		retries = 0
	}
	for attempt := 1; ; attempt++ {
		began := time.Now()
		resp, retry, err := c.once(ctx, req, accept)
		if resp != nil {
			resp.Attempts = attempt
		}
		if ctx.Err() != nil {
			return nil, c.Secrets.Err(fmt.Errorf("%s: %w", req.Route, context.Cause(ctx)))
		}
		if !retry || attempt > retries {
			switch {
			case err != nil:
				err = c.Secrets.Err(err)
				if attempt > 1 {
					err = fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
				}
				c.log().Warn("request failed", "route", req.Route, "method", req.Method, "path", logPath, "attempt", attempt, "err", err.Error())
			case !resp.OK():
				c.log().Warn("request failed", "route", req.Route, "method", req.Method, "path", logPath, "attempt", attempt, "status", resp.Status)
			default:
				c.log().Debug("request", "route", req.Route, "method", req.Method, "path", logPath, "attempt", attempt,
					"bytes", len(resp.Body), "dur", time.Since(began))
			}
			return resp, err
		}
		var wait time.Duration
		why := ""
		if resp != nil {
			wait = c.retryAfter(resp.Header.Get("Retry-After"))
			why = "HTTP " + strconv.Itoa(resp.Status)
		}
		if err != nil {
			why = c.Secrets.String(err.Error())
		}
		d := c.delay(attempt-1, wait)
		c.log().Info("retry", "route", req.Route, "method", req.Method, "path", logPath, "attempt", attempt, "wait", d, "why", why)
		if err := c.sleep(ctx, d); err != nil {
			return nil, c.Secrets.Err(fmt.Errorf("%s: %w", req.Route, err))
		}
	}
}

// once sends req one time. A returned Response may come with retry set
// (a retryable status) and no error; an error comes without a Response.
func (c *Caller) once(ctx context.Context, req *Request, accept func([]byte) error) (*Response, bool, error) {
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL.String(), body)
	if err != nil {
		return nil, false, fmt.Errorf("%s: building the request failed", req.Route)
	}
	if c.Auth != "" {
		hr.Header.Set("Authorization", c.Auth)
	}
	hr.Header.Set("Accept", "application/json")
	ua := c.UserAgent
	if ua == "" {
		ua = "opsdeck"
	}
	hr.Header.Set("User-Agent", ua)
	if req.Body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	hresp, err := hc.Do(hr)
	if err != nil {
		// *url.Error repeats the URL, and with it any query secret: keep the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, resendable(req, err), &TransportError{Route: req.Route, Method: req.Method, Err: err}
	}
	defer hresp.Body.Close()
	max := c.MaxBody
	if max <= 0 {
		max = DefaultMaxBody
	}
	if hresp.ContentLength > max {
		return nil, false, fmt.Errorf("%s: answer of %d bytes exceeds the %d-byte cap", req.Route, hresp.ContentLength, max)
	}
	b, err := io.ReadAll(io.LimitReader(hresp.Body, max+1))
	if err != nil {
		// Cut off mid-body: the request was served, so only idempotent calls go again.
		return nil, req.Idempotent, &TransportError{Route: req.Route, Method: req.Method, Err: err}
	}
	if int64(len(b)) > max {
		return nil, false, fmt.Errorf("%s: answer exceeds the %d-byte cap", req.Route, max)
	}
	resp := &Response{Status: hresp.StatusCode, Header: hresp.Header, Body: b}
	if !resp.OK() {
		return resp, RetryableStatus(resp.Status, req.Idempotent), nil
	}
	if accept != nil {
		if err := accept(b); err != nil {
			return nil, req.Idempotent, fmt.Errorf("%s: %w", req.Route, err)
		}
	}
	return resp, false, nil
}

var defaultHTTP = &http.Client{Timeout: 2 * time.Minute}

// RetryableStatus reports whether an answer with status is worth sending
// again: 429 and 5xx gateway/availability errors for idempotent calls; for
// others only the statuses that say the request was not acted on.
func RetryableStatus(status int, idempotent bool) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return idempotent
	}
	return false
}

// resendable says whether a transport failure is worth another attempt.
func resendable(req *Request, err error) bool {
	var (
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		ci  x509.CertificateInvalidError
		rec tls.RecordHeaderError // TLS spoken to a plain-HTTP port
	)
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) || errors.As(err, &rec) {
		return false // a certificate does not change by asking again
	}
	if req.Idempotent {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" // never reached the server
}

// delay is the wait before retry number n (0 = the first retry): the
// server's Retry-After when given, else Base·2ⁿ capped at Cap, of which a
// random half is jitter so that clients that failed together spread out.
func (c *Caller) delay(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	base, ceiling := c.Base, c.Cap
	if base <= 0 {
		base = DefaultBase
	}
	if ceiling <= 0 {
		ceiling = DefaultCap
	}
	d := base << min(n, 32)
	if d <= 0 || d > ceiling {
		d = ceiling
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), capped.
func (c *Caller) retryAfter(v string) time.Duration {
	limit := c.MaxRetryAfter
	if limit <= 0 {
		limit = DefaultMaxRetryAfter
	}
	var d time.Duration
	v = strings.TrimSpace(v)
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return max(min(d, limit), 0)
}

func (c *Caller) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

func (c *Caller) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

// TransportError is a failure below HTTP: refused, reset, timed out, TLS,
// or a body cut off.
type TransportError struct {
	Route, Method string
	Err           error
}

func (e *TransportError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Route, e.Method, e.Err) }
func (e *TransportError) Unwrap() error { return e.Err }

// Redactor replaces secrets in strings and errors with [REDACTED]. A nil
// Redactor redacts nothing.
type Redactor struct{ secrets []string }

// NewRedactor returns a redactor for secrets; strings shorter than four
// bytes are ignored (redacting "a" would shred every message).
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		r.Add(s)
	}
	return r
}

// Add registers another secret, and its URL-escaped form.
func (r *Redactor) Add(s string) {
	if len(s) < 4 {
		return
	}
	r.secrets = append(r.secrets, s)
	if q := url.QueryEscape(s); q != s {
		r.secrets = append(r.secrets, q)
	}
}

// String returns s with every secret replaced.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "[REDACTED]")
	}
	return s
}

// Err returns err, or an error with the same chain whose text has every
// secret replaced.
func (r *Redactor) Err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := r.String(msg); clean != msg {
		return &redacted{msg: clean, err: err}
	}
	return err
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// Clean makes text from a server fit for an error message, a log line or
// a terminal: valid UTF-8, no control or format characters (terminal
// escapes, bidi overrides), each run of white space one space, secrets
// redacted, at most max runes.
func (r *Redactor) Clean(s string, max int) string {
	s = strings.Join(strings.Fields(strings.Map(func(c rune) rune {
		switch {
		case unicode.IsSpace(c):
			return ' '
		case c == utf8.RuneError, unicode.IsControl(c), unicode.Is(unicode.Cf, c):
			return -1
		}
		return c
	}, strings.ToValidUTF8(s, ""))), " ")
	s = r.String(s)
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return s
}
