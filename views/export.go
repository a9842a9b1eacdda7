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
	return tea.Sequence(ui.Flash(ui.FlashInfo, "exporting to %s…", path), func() tea.Msg {
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
	fields := spec.schema.Names()
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(w)
		if err := cw.Write(fields); err != nil {
			tmp.Close()
			return 0, err
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := 0
	var after *store.Key
	for {
		rows, last, err := spec.records(ctx, c, q, after, 1000)
		if err != nil {
			tmp.Close()
			return n, err
		}
		for _, r := range rows {
			if cw != nil {
				rec := make([]string, len(fields))
				for i, f := range fields {
					val, _ := r.Field(f)
					rec[i] = csvValue(val)
				}
				err = cw.Write(rec)
			} else {
				m := make(map[string]any, len(fields))
				for _, f := range fields {
					m[f], _ = r.Field(f)
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
