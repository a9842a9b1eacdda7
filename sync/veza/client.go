package veza

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
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
)

// Options tunes a Client. The zero value is usable.
type Options struct {
	HTTPClient *http.Client // default: a client with a 2-minute timeout
	UserAgent  string       // default "opsdeck"
	Logger     *slog.Logger // default: discard; never sees the token
	// MaxRetries is how many times a retryable failure is retried: 0 means
	// the default (5), a negative value disables retries.
	MaxRetries int
	// Routes overrides entries of DefaultRoutes; empty fields keep the default.
	Routes Routes
	// BaseBackoff is the first retry delay before jitter (default 500 ms);
	// each retry doubles it up to MaxBackoff (default 30 s). Tests shrink it.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// MaxResponseBytes caps a response body (default 64 MiB).
	MaxResponseBytes int64
}

const (
	defaultMaxRetries = 5
	defaultBase       = 500 * time.Millisecond
	defaultMaxBackoff = 30 * time.Second
	defaultMaxBody    = 64 << 20
	// maxRetryAfter bounds how long a server's Retry-After may park us; the
	// system-events export asks for one minute.
	maxRetryAfter = 5 * time.Minute
)

// Client talks to one Veza tenant. It is safe for concurrent use.
type Client struct {
	base       *url.URL // scheme+host+path of the tenant, no userinfo
	baseQuery  url.Values
	token      string
	hc         *http.Client
	ua         string
	log        *slog.Logger
	retries    int
	backoff    time.Duration
	maxBackoff time.Duration
	maxBody    int64
	routes     Routes
	secrets    []string // strings that must never leave the client
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error
}

// New returns a client for baseURL (e.g. https://acme.vezacloud.com) that
// sends token as a bearer credential on every request.
func New(baseURL, token string, opts Options) (*Client, error) {
	if token == "" {
		return nil, errors.New("veza: empty API token")
	}
	if strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return nil, errors.New("veza: API token contains whitespace or control characters")
	}
	c := &Client{token: token, secrets: []string{token}}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		// url.Parse's error repeats the input, which may carry a secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, c.scrub(fmt.Errorf("veza: invalid base URL: %w", err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("veza: base URL must be http(s)://host[/prefix]")
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			c.secrets = append(c.secrets, p)
		}
		if n := u.User.Username(); len(n) >= 4 {
			c.secrets = append(c.secrets, n)
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 4 {
				c.secrets = append(c.secrets, v, url.QueryEscape(v))
			}
		}
	}
	c.baseQuery = u.Query()
	c.base = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "/")}
	if c.base.Path != "" {
		c.base.RawPath = strings.TrimSuffix(u.EscapedPath(), "/")
	}
	if c.routes, err = opts.Routes.merge(); err != nil {
		return nil, err
	}
	c.hc = opts.HTTPClient
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 2 * time.Minute}
	}
	c.ua = opts.UserAgent
	if c.ua == "" {
		c.ua = "opsdeck"
	}
	c.log = opts.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case opts.MaxRetries < 0:
		c.retries = 0
	case opts.MaxRetries == 0:
		c.retries = defaultMaxRetries
	default:
		c.retries = opts.MaxRetries
	}
	c.backoff = orDefault(opts.BaseBackoff, defaultBase)
	c.maxBackoff = orDefault(opts.MaxBackoff, defaultMaxBackoff)
	c.maxBody = opts.MaxResponseBytes
	if c.maxBody <= 0 {
		c.maxBody = defaultMaxBody
	}
	c.now = time.Now
	c.sleep = sleepCtx
	return c, nil
}

func orDefault(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// BaseURL is the tenant URL without credentials or query: safe to store and show.
// (Userinfo in the configured URL is dropped: the bearer token is the only
// credential sent.)
func (c *Client) BaseURL() string { return c.base.String() }

// Routes returns the routing table in effect.
func (c *Client) Routes() Routes { return c.routes }

// call is one logical request; do may send it several times.
type call struct {
	name       string // routing-table name, for errors and logs
	method     string
	path       string // expanded and escaped
	query      url.Values
	body       []byte
	idempotent bool
	// final, when set, may veto a retry of a failed attempt: the route's
	// own policy (the events export's ResourceExhaused asks for a
	// one-minute wait, which the caller does, not the backoff).
	final func(err error, retryAfter time.Duration) bool
}

// do runs cl with retries and returns the 2xx body. Every error it returns
// has been scrubbed of secrets.
func (c *Client) do(ctx context.Context, cl *call) ([]byte, error) {
	logPath := c.redactString(cl.path) // ids are caller data; keep logs clean regardless
	for attempt := 0; ; attempt++ {
		start := c.now()
		body, retry, wait, err := c.once(ctx, cl)
		if retry && cl.final != nil && cl.final(err, wait) {
			retry = false
		}
		if err == nil {
			c.log.Debug("veza request", "route", cl.name, "method", cl.method, "path", logPath,
				"attempt", attempt+1, "bytes", len(body), "dur", time.Since(start))
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, c.scrub(fmt.Errorf("veza %s: %w", cl.name, context.Cause(ctx)))
		}
		if !retry || attempt >= c.retries {
			if attempt > 0 {
				err = fmt.Errorf("veza %s: giving up after %d attempts: %w", cl.name, attempt+1, err)
			}
			err = c.scrub(err)
			c.log.Warn("veza request failed", "route", cl.name, "method", cl.method, "path", logPath,
				"attempt", attempt+1, "err", err.Error())
			return nil, err
		}
		d := c.delay(attempt, wait)
		c.log.Info("veza retry", "route", cl.name, "method", cl.method, "path", logPath,
			"attempt", attempt+1, "wait", d, "err", c.scrub(err).Error())
		if err := c.sleep(ctx, d); err != nil {
			return nil, c.scrub(fmt.Errorf("veza %s: %w", cl.name, err))
		}
	}
}

// once sends cl a single time. retry says whether the failure is worth
// another attempt; wait is the server's Retry-After, if any.
func (c *Client) once(ctx context.Context, cl *call) (body []byte, retry bool, wait time.Duration, err error) {
	req, err := c.newRequest(ctx, cl)
	if err != nil {
		return nil, false, 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error repeats the full URL (and any query secret): keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, c.transportRetryable(cl, err), 0,
			&TransportError{Route: cl.name, Method: cl.method, Path: cl.path, Err: err}
	}
	defer resp.Body.Close()
	if resp.ContentLength > c.maxBody {
		return nil, false, 0, fmt.Errorf("veza %s: response of %d bytes exceeds the %d-byte cap", cl.name, resp.ContentLength, c.maxBody)
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		// Reset mid-body: the request was served, so only idempotent calls retry.
		return nil, cl.idempotent, 0, &TransportError{Route: cl.name, Method: cl.method, Path: cl.path, Err: bodyError(resp, err)}
	}
	if int64(len(body)) > c.maxBody {
		return nil, false, 0, fmt.Errorf("veza %s: response exceeds the %d-byte cap", cl.name, c.maxBody)
	}
	if resp.StatusCode/100 == 2 {
		return body, false, 0, nil
	}
	ae := c.newAPIError(cl, resp, body)
	retry = retryableStatus(ae.Status)
	if !cl.idempotent {
		// A write may have been applied before a 500/502/504; only statuses
		// that say "not taken" are safe to resend.
		retry = ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusServiceUnavailable
	}
	return nil, retry, ae.RetryAfter, ae
}

func (c *Client) newRequest(ctx context.Context, cl *call) (*http.Request, error) {
	u := *c.base
	u.Path = c.base.Path + cl.path
	if c.base.RawPath != "" || strings.Contains(cl.path, "%") {
		raw := c.base.EscapedPath() + cl.path
		p, err := url.PathUnescape(raw)
		if err != nil {
			return nil, fmt.Errorf("veza %s: bad path escape", cl.name)
		}
		u.Path, u.RawPath = p, raw
	}
	q := url.Values{}
	for k, vs := range c.baseQuery {
		q[k] = append([]string(nil), vs...)
	}
	for k, vs := range cl.query {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	var rd io.Reader
	if cl.body != nil {
		rd = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("veza %s: building request failed", cl.name)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// TransportError is a failure below HTTP: refused, reset, timed out, TLS.
type TransportError struct {
	Route, Method, Path string
	Err                 error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("veza %s: %s %s: %v", e.Route, e.Method, e.Path, e.Err)
}
func (e *TransportError) Unwrap() error { return e.Err }

// bodyError says what went wrong reading a body in words: a gzip error
// means the body is not what its Content-Encoding claims (a proxy's lie or
// a cut), an unexpected EOF a connection cut mid-body.
func bodyError(resp *http.Response, err error) error {
	switch {
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum):
		return fmt.Errorf("the body is not the gzip data its Content-Encoding announces: %w", err)
	case errors.Is(err, io.ErrUnexpectedEOF) && resp.Uncompressed:
		return fmt.Errorf("the gzip-encoded body was cut short: %w", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("the body was cut short: %w", err)
	}
	return err
}

func retryableStatus(s int) bool {
	switch s {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (c *Client) transportRetryable(cl *call, err error) bool {
	var (
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		ci  x509.CertificateInvalidError
		rec tls.RecordHeaderError // e.g. speaking TLS to a plain-HTTP port
	)
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) || errors.As(err, &rec) {
		return false // retrying will not change a certificate
	}
	if cl.idempotent {
		return true
	}
	// Writes are resent only when the connection never came up.
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// delay is exponential backoff with equal jitter, capped, or the server's
// Retry-After when it sent one.
func (c *Client) delay(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, maxRetryAfter)
	}
	d := c.backoff
	for i := 0; i < attempt && d < c.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.maxBackoff)
	half := d / 2
	return half + rand.N(half+1)
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return 0
		}
		return min(time.Duration(n)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// decodeError reports a 2xx body that is not what the route promises. The
// JSON error text can quote the body, so it is cleaned like any server text.
func (c *Client) decodeError(name string, err error) error {
	return c.scrub(fmt.Errorf("decode %s: %s", name, c.clean(err.Error(), maxMessage)))
}

func (c *Client) get(ctx context.Context, name, path string, q url.Values) ([]byte, error) {
	return c.do(ctx, &call{name: name, method: http.MethodGet, path: path, query: q, idempotent: true})
}

func (c *Client) post(ctx context.Context, name, path string, in any, idempotent bool) ([]byte, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("veza %s: encode body: %w", name, err)
	}
	return c.do(ctx, &call{name: name, method: http.MethodPost, path: path, body: body, idempotent: idempotent})
}
