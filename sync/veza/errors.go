package veza

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIError is a non-2xx reply. Every string in it came from the server (or a
// proxy in front of it), so all of them are sanitised: control characters
// (terminal escapes included) stripped, length capped, and the API token
// redacted should the server echo it.
type APIError struct {
	Route      string // routing-table name, e.g. "list_jobs"
	Method     string
	Status     int
	Code       string // e.g. "InvalidArgument"; "" when the body was not the JSON envelope
	Message    string // the envelope's message, or an excerpt of a non-JSON body
	RequestID  string
	Violations []FieldViolation
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "veza %s: HTTP %d", e.Route, e.Status)
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Message != "" {
		if e.Code == "" {
			fmt.Fprintf(&b, ": body %q", e.Message)
		} else {
			b.WriteString(": " + e.Message)
		}
	}
	for i, v := range e.Violations {
		if i == 0 {
			b.WriteString(" [")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.Field + ": " + v.Description)
		if i == len(e.Violations)-1 {
			b.WriteString("]")
		}
	}
	if e.RequestID != "" {
		b.WriteString(" (request_id " + e.RequestID + ")")
	}
	return b.String()
}

// Temporary reports whether the status is one the client retries.
func (e *APIError) Temporary() bool { return retryableStatus(e.Status) }

// IsStatus reports whether err is (or wraps) an APIError with one of codes.
func IsStatus(err error, codes ...int) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.Status == c {
			return true
		}
	}
	return false
}

const (
	maxMessage    = 512
	maxShort      = 128
	maxExcerpt    = 200
	maxViolations = 20
)

func (c *Client) newAPIError(cl *call, resp *http.Response, body []byte) *APIError {
	e := &APIError{
		Route:      cl.name,
		Method:     cl.method,
		Status:     resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.now()),
	}
	var eb ErrorBody
	if looksLikeObject(body) && json.Unmarshal(body, &eb) == nil && (eb.Code != "" || eb.Message != "") {
		e.Code = c.clean(eb.Code, maxShort)
		e.Message = c.clean(eb.Message, maxMessage)
		e.RequestID = c.clean(eb.RequestID, maxShort)
		for _, d := range eb.Details {
			for _, v := range d.FieldViolations {
				if len(e.Violations) == maxViolations {
					break
				}
				e.Violations = append(e.Violations, FieldViolation{
					Field:       c.clean(v.Field, maxShort),
					Description: c.clean(v.Description, maxMessage),
				})
			}
		}
	} else {
		// An HTML page from a proxy, a plain-text 502, an empty body...
		e.Message = c.clean(string(body), maxExcerpt)
	}
	if e.RequestID == "" {
		e.RequestID = c.clean(resp.Header.Get("X-Request-Id"), maxShort)
	}
	return e
}

// clean makes an untrusted string safe for an error message, a log line or a
// terminal: valid UTF-8, no control characters (runs of whitespace become one
// space), secrets redacted, at most max runes.
func (c *Client) clean(s string, max int) string {
	return truncate(c.redactString(sanitize(s)), max)
}

func sanitize(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), 4096))
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || r == utf8.RuneError ||
			unicode.Is(unicode.Cf, r): // bidi overrides and friends
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// redacted carries an error whose text had to be scrubbed while keeping the
// original reachable for errors.Is/As.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// scrub is the choke point every error leaving the client passes through.
func (c *Client) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := c.redactString(msg)
	if clean == msg {
		return err
	}
	return &redacted{msg: clean, err: err}
}

func (c *Client) redactString(s string) string {
	for _, sec := range c.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	return s
}

func looksLikeObject(b []byte) bool {
	for _, ch := range b {
		switch ch {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

// notObject describes a 2xx body that is not a JSON object, with its
// beginning: an HTML page there is a proxy's or a login page in front of
// the API, which the user has to deal with, not a bug of the tenant. The
// excerpt is cleaned by decodeError like every server text.
func notObject(body []byte) error {
	ex := string(body[:min(len(body), 300)])
	t := strings.ToLower(strings.TrimSpace(ex))
	if strings.HasPrefix(t, "<!doctype html") || strings.HasPrefix(t, "<html") || strings.Contains(t, "<body") {
		return fmt.Errorf("response is an HTML page, not JSON (a proxy or login page in front of the API?): %q", truncate(sanitize(ex), maxExcerpt/2))
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("response is empty, not a JSON object")
	}
	return fmt.Errorf("response is not a JSON object: %q", truncate(sanitize(ex), maxExcerpt/2))
}
