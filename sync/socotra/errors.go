package socotra

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/opsdeck/opsdeck/internal/httpx"
	"github.com/opsdeck/opsdeck/sync/socotra/wire"
)

// Kinds of failure a caller acts on; an APIError wraps the one that fits.
var (
	// ErrAuth: 401 or 403. Retrying cannot help: the token or its
	// permissions must change.
	ErrAuth = errors.New("socotra: not authorised")
	// ErrTenantNotFound: a 404 on a route that names nothing but the
	// tenant: the profile's tenant locator is wrong.
	ErrTenantNotFound = errors.New("socotra: tenant not found")
	// ErrNotFound: any other 404 (event, request, policy, failed job).
	ErrNotFound = errors.New("socotra: not found")
)

// APIError is a non-2xx answer. Its strings came from the server and are
// cleaned: no control characters, bounded length, the token redacted.
type APIError struct {
	Route, Method string
	Status        int
	Message       string // the envelope's message, or an excerpt of a non-JSON body
	RequestID     string
	Tenant        string
	kind          error
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "socotra %s: HTTP %d %s", e.Route, e.Status, http.StatusText(e.Status))
	switch {
	case e.Status == http.StatusUnauthorized:
		b.WriteString(": the API token was refused; check the profile's token")
	case e.Status == http.StatusForbidden:
		b.WriteString(": the API token lacks a permission")
		if p := permissions[e.Route]; p != "" {
			b.WriteString(" (needs " + p + ")")
		} else {
			b.WriteString(" (needs events: read)")
		}
	case errors.Is(e.kind, ErrTenantNotFound):
		fmt.Fprintf(&b, ": tenant %q not found; check the profile's tenant locator", e.Tenant)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (requestId " + e.RequestID + ")")
	}
	return b.String()
}

// Unwrap returns ErrAuth, ErrTenantNotFound, ErrNotFound or nil.
func (e *APIError) Unwrap() error { return e.kind }

// IsNotFound reports a 404 of any kind (a wrong tenant included).
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrTenantNotFound)
}

const (
	maxMessage = 400
	maxShort   = 100
)

func (c *Client) newAPIError(req *httpx.Request, resp *httpx.Response) *APIError {
	e := &APIError{Route: req.Route, Method: req.Method, Status: resp.Status, Tenant: c.secrets.Clean(c.tenant, maxShort)}
	var body wire.ErrorBody
	if json.Unmarshal(resp.Body, &body) == nil && (body.Message != "" || body.Error != "") {
		e.Message = c.secrets.Clean(body.Message, maxMessage)
		if e.Message == "" {
			e.Message = c.secrets.Clean(body.Error, maxShort)
		}
		e.RequestID = c.secrets.Clean(body.RequestID, maxShort)
	} else {
		e.Message = c.secrets.Clean(string(resp.Body), 200) // an HTML page from a proxy…
	}
	if e.RequestID == "" {
		e.RequestID = c.secrets.Clean(resp.Header.Get("X-Request-Id"), maxShort)
	}
	switch {
	case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
		e.kind = ErrAuth
	case resp.Status == http.StatusNotFound && tenantRoutes[req.Route]:
		e.kind = ErrTenantNotFound
	case resp.Status == http.StatusNotFound:
		e.kind = ErrNotFound
	}
	return e
}
