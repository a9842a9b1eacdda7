package veza

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Async exports (API-CONTRACT.md §1.5). Starting one is documented (seed
// 000/001: POST ...:export with {"body":{"filter","order_by"},"format"});
// the rest is [assumed]: the start answers {"value":{"export_id","status"}},
// GET Routes.GetExport reports the status, and a FINISHED export carries a
// download_url whose GET returns the file. Status names differ between
// services, so Phase maps the usual spellings onto four phases.

// Export formats.
const (
	ExportCSV  = "CSV"
	ExportJSON = "JSON"
)

// ExportRequest is what to export: the List endpoint's filter and order.
type ExportRequest struct {
	Filter  string
	OrderBy string
	Format  string // ExportCSV (the default) or ExportJSON
}

// Export is an export job as the server reports it. Every string came from
// the server: Message is sanitised by the client, the others are ids, enum
// names and a URL the caller should not print without sanitising.
type Export struct {
	ExportID    string `json:"export_id"`
	Status      string `json:"status"`
	DownloadURL string `json:"download_url,omitempty"`
	RowCount    int    `json:"row_count,omitempty"`
	// Message explains a FAILED export (some services call it error_message).
	Message      string `json:"message,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
}

// ExportPhase is where an export is in its lifecycle.
type ExportPhase int

const (
	ExportPending ExportPhase = iota // accepted, not started (CREATED, PENDING, QUEUED)
	ExportRunning                    // being produced (PROCESSING, RUNNING, IN_PROGRESS); also unknown names
	ExportDone                       // ready to download (FINISHED, COMPLETED, SUCCEEDED)
	ExportFailed                     // will never finish (FAILED, ERROR, CANCELLED, EXPIRED)
)

func (p ExportPhase) String() string {
	return [...]string{"pending", "running", "done", "failed"}[p]
}

// Phase maps Status onto the lifecycle.
func (e Export) Phase() ExportPhase {
	switch strings.ToUpper(strings.TrimSpace(e.Status)) {
	case "CREATED", "PENDING", "QUEUED", "SCHEDULED", "NEW":
		return ExportPending
	case "FINISHED", "COMPLETED", "COMPLETE", "SUCCEEDED", "SUCCESS", "DONE", "READY":
		return ExportDone
	case "FAILED", "FAILURE", "ERROR", "ERRORED", "CANCELLED", "CANCELED", "EXPIRED", "ABORTED":
		return ExportFailed
	}
	return ExportRunning
}

// ExportFailedError is an export the server gave up on.
type ExportFailedError struct {
	ExportID string
	Status   string
	Message  string // sanitised server text; may be empty
}

func (e *ExportFailedError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "the server gave no reason"
	}
	return fmt.Sprintf("export %s %s: %s", e.ExportID, e.Status, msg)
}

// exportRoute is the start route of an entity.
func (c *Client) exportRoute(entity string) (name, path string, err error) {
	switch entity {
	case "tasks":
		return "export_tasks", c.routes.ExportTasks, nil
	case "actions":
		return "export_actions", c.routes.ExportActions, nil
	case "jobs":
		return "export_jobs", c.routes.ExportJobs, nil
	}
	return "", "", fmt.Errorf("veza export: cannot export %q (tasks, actions or jobs)", entity)
}

// StartExport asks the server to export entity ("tasks", "actions" or
// "jobs") matching r. Like every write it is resent only when the server
// cannot have taken it (429, 503, a failed dial): two exports would be
// harmless but wasteful.
func (c *Client) StartExport(ctx context.Context, entity string, r ExportRequest) (Export, error) {
	name, path, err := c.exportRoute(entity)
	if err != nil {
		return Export{}, err
	}
	format := strings.ToUpper(r.Format)
	if format == "" {
		format = ExportCSV
	}
	if format != ExportCSV && format != ExportJSON {
		return Export{}, fmt.Errorf("veza %s: format %q is not CSV or JSON", name, r.Format)
	}
	type body struct {
		Filter  string `json:"filter,omitempty"`
		OrderBy string `json:"order_by,omitempty"`
	}
	in := struct {
		Body   body   `json:"body"`
		Format string `json:"format"`
	}{body{r.Filter, r.OrderBy}, format}
	out, err := c.post(ctx, name, path, in, false)
	if err != nil {
		return Export{}, err
	}
	e, err := decodeValue[Export](c, name, out)
	if err != nil {
		return Export{}, err
	}
	if e.ExportID == "" {
		return Export{}, c.decodeError(name, errors.New("reply has no export_id"))
	}
	return c.cleanExport(e), nil
}

// ExportStatus fetches the current state of an export.
func (c *Client) ExportStatus(ctx context.Context, id string) (Export, error) {
	path, err := expand("get_export", c.routes.GetExport, "export_id", id)
	if err != nil {
		return Export{}, err
	}
	e, err := get[Export](ctx, c, "get_export", path)
	if err != nil {
		return Export{}, err
	}
	if e.ExportID == "" {
		e.ExportID = id
	}
	return c.cleanExport(e), nil
}

func (c *Client) cleanExport(e Export) Export {
	if e.Message == "" {
		e.Message = e.ErrorMessage
	}
	e.ErrorMessage = ""
	e.Message = c.clean(e.Message, maxMessage)
	e.Status = c.clean(e.Status, maxShort)
	e.ExportID = c.clean(e.ExportID, maxShort)
	return e
}

// WaitOptions tune WaitExport.
type WaitOptions struct {
	// Interval is the pause between two status requests; it doubles up to
	// MaxInterval. Defaults 500 ms and 5 s. The first request is immediate.
	Interval, MaxInterval time.Duration
	// OnStatus, when set, sees every status reply (for a progress display).
	OnStatus func(Export)
	// Sleep replaces the pause (tests); nil sleeps for real, honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// WaitExport polls an export until it is done (and returns it) or has
// failed (and returns an *ExportFailedError carrying the server's message).
// It stops when ctx is done.
func (c *Client) WaitExport(ctx context.Context, id string, o WaitOptions) (Export, error) {
	d := orDefault(o.Interval, 500*time.Millisecond)
	maxD := orDefault(o.MaxInterval, 5*time.Second)
	sleep := o.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	for {
		e, err := c.ExportStatus(ctx, id)
		if err != nil {
			return e, err
		}
		if o.OnStatus != nil {
			o.OnStatus(e)
		}
		switch e.Phase() {
		case ExportDone:
			if e.DownloadURL == "" {
				return e, c.decodeError("get_export", fmt.Errorf("export %s is %s but has no download_url", e.ExportID, e.Status))
			}
			return e, nil
		case ExportFailed:
			return e, &ExportFailedError{ExportID: e.ExportID, Status: e.Status, Message: e.Message}
		}
		if err := sleep(ctx, d); err != nil {
			return e, c.scrub(fmt.Errorf("veza get_export: %w", err))
		}
		d = min(d*2, maxD)
	}
}

// DownloadExport streams a finished export's file into w and returns the
// number of bytes written. The API token is sent only when the download
// URL is on the tenant itself (a relative URL, or the same scheme and
// host): a pre-signed URL on a storage service gets no credentials.
// Failures before the first byte are retried like any GET; a failure
// mid-stream is returned, since w already holds part of the file.
func (c *Client) DownloadExport(ctx context.Context, e Export, w io.Writer) (int64, error) {
	const name = "download_export"
	if e.DownloadURL == "" {
		return 0, fmt.Errorf("veza %s: export %s has no download_url", name, e.ExportID)
	}
	ref, err := url.Parse(e.DownloadURL)
	if err != nil || (ref.Scheme != "" && ref.Scheme != "http" && ref.Scheme != "https") {
		return 0, c.scrub(fmt.Errorf("veza %s: unusable download_url", name))
	}
	target := ref
	auth := true
	if ref.IsAbs() {
		auth = ref.Scheme == c.base.Scheme && ref.Host == c.base.Host
	} else {
		// Relative to the tenant: keep any base path prefix.
		u := *c.base
		if strings.HasPrefix(ref.Path, "/") {
			u.Path, u.RawPath = c.base.Path+ref.Path, ""
		} else {
			u.Path, u.RawPath = c.base.Path+"/"+ref.Path, ""
		}
		u.RawQuery = ref.RawQuery
		target = &u
	}
	for attempt := 0; ; attempt++ {
		n, retry, wait, err := c.downloadOnce(ctx, target.String(), auth, w)
		if err == nil {
			return n, nil
		}
		err = c.scrub(err)
		if ctx.Err() != nil || !retry || attempt >= c.retries {
			return n, err
		}
		if err := c.sleep(ctx, c.delay(attempt, wait)); err != nil {
			return 0, c.scrub(fmt.Errorf("veza %s: %w", name, err))
		}
	}
}

func (c *Client) downloadOnce(ctx context.Context, target string, auth bool, w io.Writer) (n int64, retry bool, wait time.Duration, err error) {
	const name = "download_export"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, false, 0, fmt.Errorf("veza %s: building request failed", name)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a signature
		}
		cl := &call{name: name, method: http.MethodGet, idempotent: true}
		return 0, c.transportRetryable(cl, err), 0, &TransportError{Route: name, Method: http.MethodGet, Path: "(download_url)", Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		ae := c.newAPIError(&call{name: name, method: http.MethodGet}, resp, body)
		return 0, retryableStatus(ae.Status), ae.RetryAfter, ae
	}
	n, err = io.Copy(w, resp.Body)
	if err != nil {
		return n, false, 0, fmt.Errorf("veza %s: after %d bytes: %w", name, n, err)
	}
	return n, false, 0, nil
}
