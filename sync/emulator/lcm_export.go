package emulator

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// Async exports (API-CONTRACT.md §1.5, shape [assumed]): POST ...:export
// with {"body":{"filter","order_by"},"format":"CSV"|"JSON"} answers
// {"value":{"export_id","status":"CREATED"}}; GET .../exports/{id} reports
// CREATED, PROCESSING, then FINISHED with a download_url, or FAILED with a
// message; GET on the download_url streams the file.
//
// The lifecycle moves one step per status request instead of with the
// clock, so a client's polling loop is exercised deterministically and no
// test waits for time to pass. An export whose filter matches more than the
// row limit (SetExportLimit, default 50,000) FAILS, as a real tenant refuses
// oversized exports: that is how to provoke the FAILED path.

const (
	exportCreated    = "CREATED"
	exportProcessing = "PROCESSING"
	exportFinished   = "FINISHED"
	exportFailed     = "FAILED"

	defaultExportLimit = 50_000
	maxExports         = 1000 // kept per server; the oldest go first
)

// ExportStatus is the object of GET .../exports/{id}.
type ExportStatus struct {
	ExportID    string `json:"export_id"`
	Status      string `json:"status"`
	Format      string `json:"format,omitempty"`
	RowCount    int    `json:"row_count,omitempty"`
	DownloadURL string `json:"download_url,omitempty"`
	Message     string `json:"message,omitempty"`
	CreatedAt   string `json:"created_at,omitempty"`
}

type export struct {
	id        string
	entity    string
	format    string
	status    string
	rows      int
	message   string
	createdAt time.Time
	// count returns the matching rows, stopping once past limit (>= 0).
	count func(limit int) int
	// write streams the file.
	write func(w io.Writer) error
}

// SetExportLimit sets the largest number of rows an export may hold; an
// export matching more FAILS. rows < 0 removes the limit, 0 restores the
// default.
func (s *Server) SetExportLimit(rows int) {
	wr := &s.g.writes
	wr.mu.Lock()
	defer wr.mu.Unlock()
	wr.exportLimit = rows
}

func (w *lcmWrites) limit() int {
	if w.exportLimit == 0 {
		return defaultExportLimit
	}
	return w.exportLimit
}

type exportRequest struct {
	Body *struct {
		Filter  string `json:"filter"`
		OrderBy string `json:"order_by"`
	} `json:"body"`
	Format string `json:"format"`
}

func exportTasks(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	startExport(s, w, r, taskKind, "tasks")
}

func exportActions(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	startExport(s, w, r, actionKind, "actions")
}

func exportJobs(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	startExport(s, w, r, jobKind, "jobs")
}

func startExport[T any](s *Server, w http.ResponseWriter, r *http.Request, k *listKind[T], entity string) {
	var req exportRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	format := strings.ToUpper(req.Format)
	switch format {
	case "":
		format = "CSV"
	case "CSV", "JSON":
	default:
		s.badRequest(w, r, "format", fmt.Sprintf("must be CSV or JSON, got %q", req.Format))
		return
	}
	var node filter.Node
	order, desc := 0, false
	if req.Body != nil {
		var err error
		if node, err = filter.ParseFor(req.Body.Filter, k.schema); err != nil {
			s.badRequest(w, r, "body.filter", err.Error())
			return
		}
		if req.Body.OrderBy != "" {
			if order, desc, err = parseOrderBy(req.Body.OrderBy, k.orderBy); err != nil {
				s.badRequest(w, r, "body.order_by", err.Error())
				return
			}
		}
	}
	pred, err := filter.Predicate(node, k.schema)
	if err != nil {
		s.badRequest(w, r, "body.filter", err.Error())
		return
	}
	walk := func(fn func(v *T) bool) {
		walkKind(s, k, pred, order, desc, fn)
	}
	e := &export{entity: entity, format: format, status: exportCreated, createdAt: s.Now()}
	e.count = func(limit int) int {
		n := 0
		walk(func(*T) bool { n++; return limit < 0 || n <= limit })
		return n
	}
	e.write = func(out io.Writer) error {
		if format == "JSON" {
			return writeJSONExport(out, walk)
		}
		return writeCSVExport(out, walk)
	}

	wr := &s.g.writes
	wr.mu.Lock()
	if wr.exports == nil {
		wr.exports = map[string]*export{}
	}
	wr.nExports++
	e.id = fmt.Sprintf("exp-%016x", mix64(s.reqIDKey^uint64(wr.nExports)))
	wr.exports[e.id] = e
	if len(wr.exports) > maxExports {
		var oldest *export
		for _, x := range wr.exports {
			if oldest == nil || x.createdAt.Before(oldest.createdAt) || x.createdAt.Equal(oldest.createdAt) && x.id < oldest.id {
				oldest = x
			}
		}
		delete(wr.exports, oldest.id)
	}
	st := e.statusLocked(r)
	wr.mu.Unlock()
	writeJSON(w, http.StatusOK, veza.ValueEnvelope[ExportStatus]{Value: st})
}

// walkKind visits every visible record of k that pred accepts, in the
// order given, until fn returns false.
func walkKind[T any](s *Server, k *listKind[T], pred func(get func(string) (any, bool)) bool, order int, desc bool, fn func(v *T) bool) {
	g := s.g
	v := s.view()
	n := k.count(&v)
	var ord *ordering
	if order > 0 {
		ord = s.order(k.ent, k.orderBy[order], &v)
	}
	cache := matCache{g: g, at: v.at}
	var cur T
	get := func(name string) (any, bool) { return k.field(&cur, name) }
	for p := 0; p < n; p++ {
		idx := p
		if desc {
			idx = n - 1 - p
		}
		if ord != nil {
			idx = ord.at(idx)
		}
		cur = k.item(cache.task(k.taskOf(g, idx)), idx)
		if pred(get) && !fn(&cur) {
			return
		}
	}
}

func (e *export) statusLocked(r *http.Request) ExportStatus {
	st := ExportStatus{ExportID: e.id, Status: e.status, Format: e.format, Message: e.message,
		CreatedAt: e.createdAt.Format(time.RFC3339)}
	if e.status == exportFinished {
		st.RowCount = e.rows
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		st.DownloadURL = scheme + "://" + r.Host + lcm + "/exports/" + e.id + "/download"
	}
	return st
}

// exportStatus: GET .../exports/{id}. Each request moves a pending export
// one step on (CREATED -> PROCESSING -> FINISHED or FAILED).
func exportStatus(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	wr := &s.g.writes
	wr.mu.Lock()
	e, ok := wr.exports[args[0]]
	if !ok {
		wr.mu.Unlock()
		s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("export %q not found", args[0]))
		return
	}
	switch e.status {
	case exportCreated:
		e.status = exportProcessing
	case exportProcessing:
		// Count without the lock: a big export takes a while to walk, and
		// writes and other polls must not wait for it. A concurrent poll may
		// count too; both reach the same verdict.
		limit := wr.limit()
		wr.mu.Unlock()
		n := e.count(limit)
		wr.mu.Lock()
		if e.status == exportProcessing {
			if limit >= 0 && n > limit {
				e.status = exportFailed
				e.message = fmt.Sprintf("the export matches more than %d %s, the most one export may hold; narrow the filter", limit, e.entity)
			} else {
				e.status, e.rows = exportFinished, n
			}
		}
	}
	st := e.statusLocked(r)
	wr.mu.Unlock()
	writeJSON(w, http.StatusOK, veza.ValueEnvelope[ExportStatus]{Value: st})
}

// downloadExport: GET .../exports/{id}/download streams a FINISHED export.
func downloadExport(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	wr := &s.g.writes
	wr.mu.Lock()
	e, ok := wr.exports[args[0]]
	var status string
	if ok {
		status = e.status
	}
	wr.mu.Unlock()
	switch {
	case !ok:
		s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("export %q not found", args[0]))
		return
	case status != exportFinished:
		s.conflict(w, r, fmt.Sprintf("export %s is %s; only a FINISHED export can be downloaded", args[0], status))
		return
	}
	ct := "text/csv; charset=utf-8"
	ext := "csv"
	if e.format == "JSON" {
		ct, ext = "application/json", "json"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", e.entity+"-"+e.id+"."+ext))
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := e.write(bw); err == nil {
		_ = bw.Flush()
	}
}

// exportColumn is one field of a wire record as a CSV column.
type exportColumn struct {
	name  string
	index int
}

// exportColumns are the JSON fields of T in declaration order, without the
// request/result payloads (a CSV holds the list columns).
func exportColumns(t reflect.Type) []exportColumn {
	var cols []exportColumn
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || f.Type == reflect.TypeFor[json.RawMessage]() {
			continue
		}
		cols = append(cols, exportColumn{name, i})
	}
	return cols
}

func cellText(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case *time.Time:
		if x == nil {
			return ""
		}
		return x.UTC().Format(time.RFC3339Nano)
	case []string:
		if len(x) == 0 {
			return ""
		}
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v.Interface())
}

func writeCSVExport[T any](out io.Writer, walk func(func(*T) bool)) error {
	cols := exportColumns(reflect.TypeFor[T]())
	cw := csv.NewWriter(out)
	rec := make([]string, len(cols))
	for i, c := range cols {
		rec[i] = c.name
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	var err error
	walk(func(v *T) bool {
		rv := reflect.ValueOf(v).Elem()
		for i, c := range cols {
			rec[i] = cellText(rv.Field(c.index))
		}
		err = cw.Write(rec)
		return err == nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func writeJSONExport[T any](out io.Writer, walk func(func(*T) bool)) error {
	if _, err := io.WriteString(out, "["); err != nil {
		return err
	}
	first := true
	var err error
	walk(func(v *T) bool {
		var b []byte
		if b, err = json.Marshal(v); err != nil {
			return false
		}
		sep := ",\n"
		if first {
			sep, first = "\n", false
		}
		if _, err = io.WriteString(out, sep); err == nil {
			_, err = out.Write(b)
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(out, "\n]\n")
	return err
}
