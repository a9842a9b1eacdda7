package veza

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/jsonscan"
)

// Veza system events (seed 002, API-CONTRACT.md §1.6): a filtered list and a
// continuous export whose next_page_token is a tail cursor.

// Event enums of seed 002.
var (
	EventSeverities = []string{"INFO", "WARNING", "ERROR"}
	EventCategories = []string{"SYSTEM", "INTEGRATIONS", "RULE", "TAG", "NOTIFICATION"}
)

// Page sizes of the events API (seed 002).
const (
	DefaultEventPageSize = 1000
	MaxEventPageSize     = 10000
)

// SystemEvent is one Veza platform event. The field order follows the
// example objects of seed 002 (the emulator marshals this type). Error is
// null when the event is no failure.
type SystemEvent struct {
	ID         string      `json:"id"`
	Timestamp  time.Time   `json:"timestamp"`
	Category   string      `json:"category"`    // SYSTEM INTEGRATIONS RULE TAG NOTIFICATION
	Severity   string      `json:"severity"`    // INFO WARNING ERROR
	Name       string      `json:"name"`        // title, e.g. "Data Source extracted"
	Message    string      `json:"message"`     // may hold anything a remote system said
	Entity     string      `json:"entity"`      // DATASOURCE PROVIDER RULE TAG NOTIFICATION USER ...
	EntityID   string      `json:"entity_id"`   // "" when none
	Error      *EventError `json:"error"`       // null unless the event reports a failure or warnings
	EntityName string      `json:"entity_name"` // may hold anything a remote system said
	EventType  string      `json:"event_type"`  // e.g. DATASOURCE_EXTRACTED (seed 002's examples say "OAA push")
	ProviderID string      `json:"provider_id"` // "" when none
	// PersistedAt is not in seed 002's objects (the export filters on it);
	// kept when a tenant sends it.
	PersistedAt *time.Time `json:"persisted_at,omitempty"`
}

// EventError is the error object of a system event.
type EventError struct {
	Reason     string        `json:"reason"`
	Metadata   EventMetadata `json:"metadata,omitempty"`
	Message    string        `json:"message"`
	Resolution string        `json:"resolution"`
	RequestID  string        `json:"request_id"`
}

// EventMetadata is an error's "additional metadata for the failed request":
// strings in seed 002's example. A value of another JSON type is kept as
// its JSON text and an array becomes "0", "1", ... keys, so one odd event
// cannot fail a whole page.
type EventMetadata map[string]string

func (m *EventMetadata) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*m = nil
		return nil
	case len(b) > 0 && b[0] == '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil {
			return err
		}
		out := make(EventMetadata, len(arr))
		for i, v := range arr {
			out[strconv.Itoa(i)] = metaValue(v)
		}
		*m = out
		return nil
	case len(b) > 0 && b[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		out := make(EventMetadata, len(obj))
		for k, v := range obj {
			out[k] = metaValue(v)
		}
		*m = out
		return nil
	}
	*m = EventMetadata{"": metaValue(b)}
	return nil
}

func metaValue(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// EventExportPage is a page of the export: seed 002's "events" and
// "next_page_token" (always set: it can be followed later for newer events),
// plus has_more, which the emulator sends and seed 002 does not show.
type EventExportPage struct {
	Events        []SystemEvent `json:"events"`
	HasMore       bool          `json:"has_more"`
	NextPageToken string        `json:"next_page_token"`
}

// EventParams are the query parameters of the events list and export.
type EventParams struct {
	Filter    string // SCIM, e.g. `persisted_at ge "2023-09-14T23:59:59.999999999Z"`
	OrderBy   string // list only, e.g. "timestamp desc"
	PageSize  int    // 0: the server's default (1,000); capped at 10,000
	PageToken string // next_page_token of the previous page
}

func (p EventParams) pageSize() int {
	switch {
	case p.PageSize <= 0:
		return DefaultEventPageSize
	case p.PageSize > MaxEventPageSize:
		return MaxEventPageSize
	}
	return p.PageSize
}

// ListEvents lists events matching p.Filter (§1.6), in the list envelope
// of §1.1, keeping each event's raw bytes.
func (c *Client) ListEvents(ctx context.Context, p EventParams) (ListPage[Record[SystemEvent]], error) {
	lp := ListParams{Filter: p.Filter, OrderBy: p.OrderBy, PageToken: p.PageToken}
	if p.PageSize > 0 {
		lp.PageSize = p.pageSize()
	}
	page, err := listRecords[SystemEvent](ctx, c, "list_events", c.routes.ListEvents, lp)
	return page, eventError(err)
}

// ExportEvents fetches one page of the continuous export (§1.6). The first
// call carries a filter (seed 002: `persisted_at ge "<ts>"`); later calls
// only the page token, as seed 002 shows. HasMore is the server's has_more
// when it sends one, else whether the page came back full: a short page
// means the export has caught up. NextPageToken is the tail cursor: follow
// it now for the rest, or later for what was persisted meanwhile.
//
// Errors: a ResourceExhaused [sic] or ResourceExhausted answer without
// Retry-After is returned at once (IsResourceExhausted): seed 002 asks for a
// one-minute wait, which is the caller's to schedule. A start time older
// than the retention is a *RetentionError naming the oldest valid time.
func (c *Client) ExportEvents(ctx context.Context, p EventParams) (ListPage[Record[SystemEvent]], error) {
	if p.OrderBy != "" {
		return ListPage[Record[SystemEvent]]{}, errors.New("veza export_events: the export has no order_by (it is in persisted order)")
	}
	q := url.Values{}
	if p.PageToken != "" {
		q.Set("page_token", p.PageToken)
	} else {
		if p.Filter != "" {
			q.Set("filter", p.Filter)
		}
		if p.PageSize > 0 {
			q.Set("page_size", strconv.Itoa(p.pageSize()))
		}
	}
	body, err := c.do(ctx, &call{name: "export_events", method: http.MethodGet, path: c.routes.ExportEvents,
		query: q, idempotent: true, final: exhaustedNoRetryAfter})
	if err != nil {
		return ListPage[Record[SystemEvent]]{}, eventError(err)
	}
	return decodeExport(c, body, p.pageSize())
}

// exhaustedNoRetryAfter: the export's ResourceExhaused comes without a
// Retry-After and wants a minute's pause, far beyond the backoff; a 429
// that says when to come back is retried as usual.
func exhaustedNoRetryAfter(err error, retryAfter time.Duration) bool {
	return retryAfter == 0 && isExhaustedAPIError(err)
}

type exportWire struct {
	Events        *[]SystemEvent `json:"events"`
	HasMore       *bool          `json:"has_more"`
	NextPageToken *string        `json:"next_page_token"`
}

func decodeExport(c *Client, body []byte, asked int) (ListPage[Record[SystemEvent]], error) {
	const name = "export_events"
	var w exportWire
	if !looksLikeObject(body) {
		return ListPage[Record[SystemEvent]]{}, c.decodeError(name, notObject(body))
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return ListPage[Record[SystemEvent]]{}, c.decodeError(name, err)
	}
	if w.Events == nil && w.HasMore == nil && w.NextPageToken == nil {
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil || len(m) > 0 {
			return ListPage[Record[SystemEvent]]{}, c.decodeError(name, errors.New("response has none of events, has_more, next_page_token"))
		}
	}
	var out ListPage[Record[SystemEvent]]
	var evs []SystemEvent
	if w.Events != nil {
		evs = *w.Events
	}
	if w.NextPageToken != nil {
		out.NextPageToken = *w.NextPageToken
	}
	if w.HasMore != nil {
		out.HasMore = *w.HasMore
	} else {
		out.HasMore = len(evs) >= asked && out.NextPageToken != ""
	}
	if len(evs) == 0 {
		return out, nil
	}
	raws, ok := splitMember(body, "events")
	if !ok || len(raws) != len(evs) {
		// An unusual but valid shape: let encoding/json find the bytes.
		var slow struct {
			Events []Record[SystemEvent] `json:"events"`
		}
		if err := json.Unmarshal(body, &slow); err != nil {
			return ListPage[Record[SystemEvent]]{}, c.decodeError(name, err)
		}
		out.Values = slow.Events
		return out, nil
	}
	out.Values = make([]Record[SystemEvent], len(evs))
	for i := range evs {
		out.Values[i] = Record[SystemEvent]{Value: evs[i], Raw: json.RawMessage(raws[i])}
	}
	return out, nil
}

// splitMember returns the bytes of each element of the top-level array
// member key of body (valid JSON, already decoded once): splitValues for
// an envelope whose array is not called "values".
func splitMember(body []byte, key string) ([][]byte, bool) {
	i := jsonscan.SkipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i++
	var vals [][]byte
	found := 0
	for {
		i = jsonscan.SkipSpace(body, i)
		if i >= len(body) {
			return nil, false
		}
		if body[i] == '}' {
			break
		}
		if body[i] == ',' {
			i = jsonscan.SkipSpace(body, i+1)
		}
		kEnd, ok := jsonscan.SkipValue(body, i)
		if !ok || body[i] != '"' {
			return nil, false
		}
		k := body[i+1 : kEnd-1]
		i = jsonscan.SkipSpace(body, kEnd)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		i = jsonscan.SkipSpace(body, i+1)
		vEnd, ok := jsonscan.SkipValue(body, i)
		if !ok || bytes.IndexByte(k, '\\') >= 0 {
			return nil, false
		}
		if bytes.EqualFold(k, []byte(key)) {
			found++
			if vals, ok = splitArray(body[i:vEnd]); !ok {
				return nil, false
			}
		}
		i = vEnd
	}
	return vals, found == 1
}

// ErrResourceExhausted matches (errors.Is) the export's "wait one minute"
// answer, in seed 002's spelling (ResourceExhaused) or the correct one.
var ErrResourceExhausted = errors.New("veza: resource exhausted")

// IsResourceExhausted reports whether err is the events export (or any
// route) saying ResourceExhaused / ResourceExhausted: wait, then retry.
func IsResourceExhausted(err error) bool {
	return errors.Is(err, ErrResourceExhausted) || isExhaustedAPIError(err)
}

func isExhaustedAPIError(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch strings.ToLower(ae.Code) {
	case "resourceexhaused", "resourceexhausted", "resource_exhausted":
		return true
	}
	return false
}

type exhaustedError struct{ err error }

func (e *exhaustedError) Error() string   { return e.err.Error() }
func (e *exhaustedError) Unwrap() []error { return []error{e.err, ErrResourceExhausted} }

// RetentionError is the events API refusing a start time older than its
// retention (one month, seed 002): a 400 whose field violation reads
// `filter.start_time: Must be after or equal to 2023-05-13T21:39:21Z`.
type RetentionError struct {
	Oldest time.Time // the oldest start time the server accepts
	Err    error     // the *APIError it came as
}

func (e *RetentionError) Error() string { return e.Err.Error() }
func (e *RetentionError) Unwrap() error { return e.Err }

// AsRetention returns the RetentionError in err's chain.
func AsRetention(err error) (*RetentionError, bool) {
	var re *RetentionError
	ok := errors.As(err, &re)
	return re, ok
}

var rfc3339Re = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})`)

// retention recognises the retention 400 and parses the oldest valid time.
func retention(ae *APIError) (time.Time, bool) {
	if ae.Status != http.StatusBadRequest {
		return time.Time{}, false
	}
	texts := make([]string, 0, len(ae.Violations)+1)
	for _, v := range ae.Violations {
		if strings.Contains(strings.ToLower(v.Field), "start_time") {
			texts = append(texts, v.Description)
		}
	}
	if strings.Contains(strings.ToLower(ae.Message), "start_time") {
		texts = append(texts, ae.Message)
	}
	for _, s := range texts {
		if !strings.Contains(strings.ToLower(s), "after") {
			continue
		}
		m := rfc3339Re.FindString(s)
		if m == "" {
			continue
		}
		m = strings.Replace(strings.ToUpper(m), " ", "T", 1)
		if t, err := time.Parse(time.RFC3339Nano, m); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// eventError types the events API's two special answers.
func eventError(err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	if t, ok := retention(ae); ok {
		return &RetentionError{Oldest: t, Err: err}
	}
	if isExhaustedAPIError(err) {
		return &exhaustedError{err: err}
	}
	return err
}
