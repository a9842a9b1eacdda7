package views

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/ui"
)

// exportFormat is chosen by the file's extension.
func exportFormat(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv", nil
	case ".jsonl", ".ndjson", ".json":
		return "jsonl", nil
	}
	return "", fmt.Errorf("export: %q: the file name must end in .csv or .jsonl", path)
}

// openExport asks for a path and writes every row of the current view (its
// scope, filter and order) there.
func (v *List) openExport() tea.Cmd {
	if v.spec.records == nil {
		return ui.Flash(ui.FlashWarn, "this view cannot be exported")
	}
	def := fmt.Sprintf("opsdeck-%s-%s.csv", v.spec.entity, v.c.Now().Format("20060102-150405"))
	validate := func(s string) error {
		s = strings.TrimSpace(s)
		if s == "" {
			return errors.New("a file name is needed")
		}
		_, err := exportFormat(s)
		return err
	}
	return v.ask("export to: ", def, validate, func(path string) tea.Cmd {
		return v.exportCmd(strings.TrimSpace(path))
	})
}

func (v *List) exportCmd(path string) tea.Cmd {
	c, spec, q := v.c, v.spec, v.Query()
	return tea.Batch(ui.Flash(ui.FlashInfo, "exporting to %s…", path), func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		n, err := exportTo(ctx, c, spec, q, path)
		if err != nil {
			return ui.FlashMsg{Level: ui.FlashError, Text: "export failed: " + err.Error()}
		}
		return ui.FlashMsg{Level: ui.FlashInfo, Text: fmt.Sprintf("exported %s rows to %s", thousands(n), path)}
	})
}

// exportTo streams the rows of q to path (written to a temporary file
// first, so a failed export never leaves half a file under the name).
func exportTo(ctx context.Context, c *Common, spec *listSpec, q store.Query, path string) (int, error) {
	format, err := exportFormat(path)
	if err != nil {
		return 0, err
	}
	if strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[2:])
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".opsdeck-export-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<16)
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(w)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var fields []filter.Field // schema order, those the rows carry
	n := 0
	var after *store.Key
	for {
		rows, last, err := spec.records(ctx, c, q, after, 1000)
		if err != nil {
			tmp.Close()
			return n, err
		}
		if fields == nil {
			fields = exportFields(spec.schema, rows)
			if cw != nil {
				head := make([]string, len(fields))
				for i, f := range fields {
					head[i] = f.Name
				}
				if err := cw.Write(head); err != nil {
					tmp.Close()
					return 0, err
				}
			}
		}
		for _, r := range rows {
			if cw != nil {
				rec := make([]string, len(fields))
				for i, f := range fields {
					val, _ := r.Field(f.Name)
					rec[i] = csvValue(exportValue(f, val))
				}
				err = cw.Write(rec)
			} else {
				m := make(map[string]any, len(fields))
				for _, f := range fields {
					val, _ := r.Field(f.Name)
					m[f.Name] = exportValue(f, val)
				}
				err = enc.Encode(m)
			}
			if err != nil {
				tmp.Close()
				return n, err
			}
			n++
		}
		if len(rows) < 1000 || last == nil {
			break
		}
		after = last
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			tmp.Close()
			return n, err
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return n, err
	}
	if err := tmp.Close(); err != nil {
		return n, err
	}
	return n, os.Rename(tmp.Name(), path)
}

// exportFields are the schema's fields, in schema order, that the rows
// carry (computed fields such as marks are not part of a row).
func exportFields(schema *filter.Schema, rows []record) []filter.Field {
	out := []filter.Field{}
	for _, f := range schema.Fields {
		if len(rows) > 0 {
			if _, ok := rows[0].Field(f.Name); !ok {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// exportValue turns times (unix ms) into RFC 3339 UTC, "" when unset.
func exportValue(f filter.Field, v any) any {
	if ms, ok := v.(int64); ok && f.Kind == filter.KindTime {
		if ms == 0 {
			return ""
		}
		return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
	}
	return v
}

// csvValue renders a field for CSV. Cells that a spreadsheet would run as
// a formula are prefixed with a quote (CSV injection): the data comes from
// a server.
func csvValue(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	default:
		s = fmt.Sprint(x)
	}
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	return s
}

// recordsOf is a listSpec.records reading pages with list (a store keyset
// list such as (*store.Store).Jobs) and positioning with key (store.JobKey…).
func recordsOf[R any, P interface {
	*R
	record
}](list func(*store.Store, context.Context, store.Query, *store.Key, bool, int) ([]R, error), key func(store.Query, R) store.Key) func(context.Context, *Common, store.Query, *store.Key, int) ([]record, *store.Key, error) {
	return func(ctx context.Context, c *Common, q store.Query, after *store.Key, n int) ([]record, *store.Key, error) {
		rows, err := list(c.Store, ctx, q, after, false, n)
		if err != nil || len(rows) == 0 {
			return nil, nil, err
		}
		out := make([]record, len(rows))
		for i := range rows {
			out[i] = P(&rows[i])
		}
		k := key(q, rows[len(rows)-1])
		return out, &k, nil
	}
}
