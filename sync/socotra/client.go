// Package socotra is opsdeck's room for the Socotra events API (seed 004,
// API-CONTRACT.md §2): a REST client for one tenant (its routing table, the
// token-only paging rule, the error envelope) and the Syncer that moves the
// event stream and the failed scheduled jobs into the cache.
package socotra

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/httpx"
	"github.com/opsdeck/opsdeck/sync/socotra/wire"
)

// ClientOptions tunes a Client. The zero value is usable.
type ClientOptions struct {
	HTTPClient *http.Client // nil: a client with a 2-minute timeout
	UserAgent  string       // "" means "opsdeck"
	Logger     *slog.Logger // nil: discard; it never sees the token
	// MaxRetries is how many times a retryable failure is retried: 0 means
	// 5, negative none.
	MaxRetries int
	// BaseBackoff is the first retry delay before jitter (default 500 ms),
	// doubled each retry up to MaxBackoff (default 30 s).
	BaseBackoff, MaxBackoff time.Duration
	MaxResponseBytes        int64 // default 64 MiB
	// Sleep waits between retries; tests replace it so they never sleep.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client talks to one Socotra tenant. It is safe for concurrent use.
type Client struct {
	base    *url.URL // scheme, host and path prefix; no userinfo or query
	tenant  string
	secrets *httpx.Redactor
	call    httpx.Caller
}

// Routes are the paths of seed 004, relative to the base URL; {name} is
// replaced by a path-escaped value. Seed 004 publishes every one of them.
var Routes = map[string]string{
	"get_event":        "/event/{tenant}/events/{locator}",
	"request_events":   "/event/{tenant}/events/request/{locator}",
	"list_events":      "/event/{tenant}/events/list",
	"policy_schedules": "/event/{tenant}/events/schedules/policy/{policy}",
	"failed_all":       "/event/{tenant}/events/schedules/failed/list",
	"failed_by_state":  "/event/{tenant}/events/schedules/failed/{state}/list",
	"failed_tenant":    "/event/{tenant}/events/schedules/tenant/failed/list",
	"failed_policy":    "/event/{tenant}/events/schedules/policy/{policy}/failed/list",
	"resume_failed":    "/event/{tenant}/events/schedules/failed/resume",
	"delete_failed":    "/event/{tenant}/events/schedules/failed",
}

// permissions are seed 004's security-group permissions per route, named
// in 403 errors.
var permissions = map[string]string{
	"list_events":   "events: read, list",
	"resume_failed": "events: write",
	"delete_failed": "events: write",
}

// tenantRoutes address nothing but the tenant: their 404 means the
// tenant locator is wrong.
var tenantRoutes = map[string]bool{"list_events": true, "failed_all": true, "failed_by_state": true, "failed_tenant": true}

// New returns a client for the tenant tenantLocator at baseURL that sends
// token as a bearer credential.
func New(baseURL, tenantLocator, token string, opts ClientOptions) (*Client, error) {
	if token == "" {
		return nil, errors.New("socotra: empty API token")
	}
	if strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return nil, errors.New("socotra: API token contains white space or control characters")
	}
	c := &Client{secrets: httpx.NewRedactor(token)}
	tenantLocator = strings.TrimSpace(tenantLocator)
	if tenantLocator == "" {
		return nil, errors.New("socotra: empty tenant locator")
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Parse repeats the input, which may hold a secret
		}
		return nil, c.secrets.Err(fmt.Errorf("socotra: invalid base URL: %w", err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("socotra: base URL must be http(s)://host[/prefix]")
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			c.secrets.Add(p)
		}
		c.secrets.Add(u.User.Username())
	}
	c.base = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "/")}
	c.tenant = tenantLocator
	c.call = httpx.Caller{
		HTTP: opts.HTTPClient, Auth: "Bearer " + token, UserAgent: opts.UserAgent, Secrets: c.secrets,
		Log: opts.Logger, Retries: opts.MaxRetries, Base: opts.BaseBackoff, Cap: opts.MaxBackoff,
		MaxBody: opts.MaxResponseBytes, Sleep: opts.Sleep,
	}
	return c, nil
}

// BaseURL is the API's URL without credentials: safe to store and show.
func (c *Client) BaseURL() string { return c.base.String() }

// Tenant is the tenant locator.
func (c *Client) Tenant() string { return c.tenant }

// url expands route with vars (name, value pairs) and the query.
func (c *Client) url(route string, q url.Values, vars ...string) *url.URL {
	raw := strings.ReplaceAll(Routes[route], "{tenant}", url.PathEscape(c.tenant))
	for i := 0; i+1 < len(vars); i += 2 {
		raw = strings.ReplaceAll(raw, "{"+vars[i]+"}", url.PathEscape(vars[i+1]))
	}
	u := *c.base
	u.RawPath = c.base.EscapedPath() + raw
	u.Path, _ = url.PathUnescape(u.RawPath) // escapes we made ourselves
	u.RawQuery = q.Encode()
	return &u
}

// get fetches route and decodes its 2xx body with decode; a body decode
// rejects is fetched again (truncated or garbled pages).
func (c *Client) get(ctx context.Context, route string, u *url.URL, decode func([]byte) error) error {
	req := &httpx.Request{Route: route, Method: http.MethodGet, URL: u, Idempotent: true}
	resp, err := c.call.Do(ctx, req, func(b []byte) error {
		if err := decode(b); err != nil {
			if isHTML(b) {
				return errors.New("undecodable answer: an HTML page, not JSON (a proxy or login page in front of the API?): " +
					c.secrets.Clean(string(b[:min(len(b), 300)]), 120))
			}
			// The JSON error may quote the body: clean it like any server text.
			return errors.New("undecodable answer: " + c.secrets.Clean(err.Error(), 300))
		}
		return nil
	})
	return c.result(req, resp, err)
}

// send issues a write with a JSON body; it is not resent once it may
// have been acted on.
func (c *Client) send(ctx context.Context, route, method string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("socotra %s: encode body: %w", route, err)
	}
	req := &httpx.Request{Route: route, Method: method, URL: c.url(route, nil), Body: b}
	resp, err := c.call.Do(ctx, req, nil)
	return c.result(req, resp, err)
}

func (c *Client) result(req *httpx.Request, resp *httpx.Response, err error) error {
	if err != nil {
		return fmt.Errorf("socotra %w%s", err, bodyHint(err)) // httpx errors start with the route
	}
	if resp.OK() {
		return nil
	}
	return c.newAPIError(req, resp)
}

// EventsQuery selects events of /events/list. A PagingToken stands alone:
// the API refuses it combined with any other parameter, and so does the
// client (ErrTokenWithParams), before sending anything.
type EventsQuery struct {
	PagingToken string
	Start, End  time.Time // zero: unbounded
	Type        string    // one exact event type
	PageSize    int       // 0: the server's default
}

// EventPage is one page of the stream. PagingToken is always set: it
// continues after the last event, and once the stream is exhausted it can
// be stored and polled later for newer events.
type EventPage struct {
	PagingToken string
	Events      []EventRecord
}

// ErrTokenWithParams: an EventsQuery with a PagingToken and another field.
var ErrTokenWithParams = errors.New("socotra: a pagingToken may not be combined with other parameters")

// ListEvents fetches one page of the event stream.
func (c *Client) ListEvents(ctx context.Context, q EventsQuery) (EventPage, error) {
	v := url.Values{}
	if q.PagingToken != "" {
		if !q.Start.IsZero() || !q.End.IsZero() || q.Type != "" || q.PageSize != 0 {
			return EventPage{}, ErrTokenWithParams
		}
		v.Set("pagingToken", q.PagingToken)
	} else {
		if !q.Start.IsZero() {
			v.Set("startTimestamp", q.Start.UTC().Format(time.RFC3339Nano))
		}
		if !q.End.IsZero() {
			v.Set("endTimestamp", q.End.UTC().Format(time.RFC3339Nano))
		}
		if q.Type != "" {
			v.Set("type", q.Type)
		}
		if q.PageSize > 0 {
			v.Set("pageSize", strconv.Itoa(q.PageSize))
		}
	}
	var page EventPage
	err := c.get(ctx, "list_events", c.url("list_events", v), func(b []byte) error {
		var env struct {
			PagingToken *string           `json:"pagingToken"`
			Events      []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(b, &env); err != nil {
			return err
		}
		if env.PagingToken == nil || *env.PagingToken == "" {
			return errors.New("no pagingToken")
		}
		evs, err := decodeEvents(env.Events)
		page = EventPage{PagingToken: *env.PagingToken, Events: evs}
		return err
	})
	return page, err
}

func decodeEvents(raws []json.RawMessage) ([]EventRecord, error) {
	out := make([]EventRecord, len(raws))
	for i, raw := range raws {
		if err := decodeEvent(raw, &out[i]); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
	}
	return out, nil
}

func decodeEvent(raw []byte, e *EventRecord) error {
	if err := json.Unmarshal(raw, e); err != nil {
		return err
	}
	if e.Locator == "" {
		return errors.New("event without a locator")
	}
	e.Raw = append(json.RawMessage(nil), raw...)
	return nil
}

// GetEvent fetches one event.
func (c *Client) GetEvent(ctx context.Context, locator string) (EventRecord, error) {
	var e EventRecord
	err := c.get(ctx, "get_event", c.url("get_event", nil, "locator", locator), func(b []byte) error {
		return decodeEvent(b, &e)
	})
	return e, err
}

// RequestEvents fetches every event of one API request (the requestId of
// an event), in stream order.
func (c *Client) RequestEvents(ctx context.Context, requestID string) ([]EventRecord, error) {
	var out []EventRecord
	err := c.get(ctx, "request_events", c.url("request_events", nil, "locator", requestID), func(b []byte) error {
		var raws []json.RawMessage
		if err := json.Unmarshal(b, &raws); err != nil {
			return err
		}
		var err error
		out, err = decodeEvents(raws)
		return err
	})
	return out, err
}

// decodeList decodes a JSON array, keeping each element's bytes.
func decodeList[T any](b []byte, out *[]Record[T]) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return err
	}
	recs := make([]Record[T], len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &recs[i].Value); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
		recs[i].Raw = raw
	}
	*out = recs
	return nil
}

// PolicySchedules fetches the scheduled events of a policy.
func (c *Client) PolicySchedules(ctx context.Context, policyLocator string) ([]Record[wire.ScheduledPolicyEvent], error) {
	var out []Record[wire.ScheduledPolicyEvent]
	err := c.get(ctx, "policy_schedules", c.url("policy_schedules", nil, "policy", policyLocator), func(b []byte) error {
		return decodeList(b, &out)
	})
	return out, err
}

// FailedList names one of the four failed-job lists; the zero value is
// every failed job of the tenant.
type FailedList struct {
	State  string // FailedQueued or FailedQuit: the jobs in that state
	Policy string // the jobs of one policy
	Tenant bool   // the tenant's own (not policy) jobs
}

func (l FailedList) route() (string, []string, error) {
	switch {
	case l.State != "":
		if l.State != wire.FailedQueued && l.State != wire.FailedQuit {
			return "", nil, fmt.Errorf("socotra: failed job state %q is neither %s nor %s", l.State, wire.FailedQueued, wire.FailedQuit)
		}
		return "failed_by_state", []string{"state", l.State}, nil
	case l.Policy != "":
		return "failed_policy", []string{"policy", l.Policy}, nil
	case l.Tenant:
		return "failed_tenant", nil, nil
	}
	return "failed_all", nil, nil
}

// FailedJobs fetches count failed jobs of a list from offset (count 0: the
// server's default).
func (c *Client) FailedJobs(ctx context.Context, l FailedList, offset, count int) ([]Record[wire.FailedJobDetails], error) {
	route, vars, err := l.route()
	if err != nil {
		return nil, err
	}
	v := url.Values{}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if count > 0 {
		v.Set("count", strconv.Itoa(count))
	}
	var out []Record[wire.FailedJobDetails]
	err = c.get(ctx, route, c.url(route, v, vars...), func(b []byte) error { return decodeList(b, &out) })
	return out, err
}

// FailedPageSize is the count AllFailedJobs asks for per request.
const FailedPageSize = 100

// maxFailedPages bounds AllFailedJobs against a server that never returns
// a short page.
const maxFailedPages = 10_000

// AllFailedJobs pages through a failed-job list by offset until a short
// page. The list may change meanwhile (offset paging cannot prevent that),
// so a job seen twice is kept once.
func (c *Client) AllFailedJobs(ctx context.Context, l FailedList) ([]Record[wire.FailedJobDetails], error) {
	var out []Record[wire.FailedJobDetails]
	seen := map[[2]string]bool{}
	for off, pages := 0, 0; ; off, pages = off+FailedPageSize, pages+1 {
		if pages == maxFailedPages {
			return nil, fmt.Errorf("socotra: failed job list did not end after %d pages", pages)
		}
		page, err := c.FailedJobs(ctx, l, off, FailedPageSize)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			k := [2]string{r.Value.TriggerGroup, r.Value.TriggerName}
			if !seen[k] {
				seen[k] = true
				out = append(out, r)
			}
		}
		if len(page) < FailedPageSize {
			return out, nil
		}
	}
}

// ResumeFailed re-queues a failed job's trigger; it leaves the failed
// list. An unknown trigger is a 404 (IsNotFound).
func (c *Client) ResumeFailed(ctx context.Context, j wire.FailedJobRequest) error {
	return c.send(ctx, "resume_failed", http.MethodPost, j)
}

// DeleteFailed discards a failed job. An unknown trigger is a 404.
func (c *Client) DeleteFailed(ctx context.Context, j wire.FailedJobRequest) error {
	return c.send(ctx, "delete_failed", http.MethodDelete, j)
}

// isHTML reports a body that is a web page: a proxy's or a login page in
// front of the API, which the user has to deal with.
func isHTML(b []byte) bool {
	t := strings.ToLower(strings.TrimSpace(string(b[:min(len(b), 300)])))
	return strings.HasPrefix(t, "<!doctype html") || strings.HasPrefix(t, "<html") || strings.Contains(t, "<body")
}

// bodyHint says in words what a failure to read a body means.
func bodyHint(err error) string {
	switch {
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum):
		return " (the body is not the gzip data its Content-Encoding announces)"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return " (the body was cut short)"
	}
	return ""
}
