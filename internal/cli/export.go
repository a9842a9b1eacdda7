package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// exportable are the sources the API can export (§1.5).
var exportable = []string{"jobs", "actions", "tasks"}

func init() {
	register(&command{
		name:    "export",
		args:    "jobs|actions|tasks [--filter F] [--remote] -o FILE",
		summary: "Write every matching record to a file: from the cache, or with --remote through the API's async export.",
		long: `The format follows the file name: .csv, .jsonl (or .ndjson), .json; "-" writes CSV to
stdout. With --remote the server builds the file (CSV, or JSON for a .json name)
while opsdeck polls its status, then downloads it; a FAILED export exits 1 with
the server's reason. --search, --fields and --limit apply to local exports only.`,
		example: `opsdeck export jobs --filter 'state eq "ERRORED"' -o errored-jobs.csv
opsdeck export actions --filter 'action_type eq "MANAGE_RELATIONSHIPS"' --remote -o actions.csv`,
		words: exportable,
		setup: func(fs *flag.FlagSet) func(context.Context, *runner, []string) error {
			var o queryOpts
			o.register(fs)
			var remote bool
			var out string
			fs.BoolVar(&remote, "remote", false, "have the API build the export (async: start, poll, download)")
			fs.StringVar(&out, "o", "", "output `file` (.csv, .jsonl, .json; - for stdout)")
			fs.StringVar(&out, "output", "", "output `file` (.csv, .jsonl, .json; - for stdout)")
			return func(ctx context.Context, r *runner, args []string) error {
				return runExport(ctx, r, args, &o, remote, out)
			}
		},
	})
}

// fileFormat is the format a file name asks for.
func fileFormat(path string) (string, error) {
	if path == "-" {
		return fmtCSV, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return fmtCSV, nil
	case ".jsonl", ".ndjson":
		return fmtJSONL, nil
	case ".json":
		return fmtJSON, nil
	}
	return "", usagef("-o %q: the file name must end in .csv, .jsonl or .json (or be - for stdout)", path)
}

func runExport(ctx context.Context, r *runner, args []string, o *queryOpts, remote bool, out string) error {
	if len(args) != 1 || !slices.Contains(exportable, args[0]) {
		return usagef("want one of %s", strings.Join(exportable, ", "))
	}
	if out == "" {
		return usagef("-o FILE is required (- for stdout)")
	}
	format, err := fileFormat(out)
	if err != nil {
		return err
	}
	src := sourceByName(args[0])
	if remote {
		return r.exportRemote(ctx, src, o, format, out)
	}
	sel, err := o.selectRows(src, src.defaultFields())
	if err != nil {
		return err
	}
	st, err := r.openCache(true)
	if err != nil {
		return err
	}
	defer st.Close()
	n := 0
	err = writeFile(out, r.out, func(w io.Writer) error {
		var err error
		n, err = sel.write(ctx, r, st, w, format, o.details && format != fmtCSV)
		return err
	})
	if err != nil {
		return err
	}
	if out != "-" {
		fmt.Fprintf(r.env.Stderr, "exported %s to %s\n", plural(n, strings.TrimSuffix(src.Name, "s"), src.Name), out)
	}
	return nil
}

// writeFile writes through a temporary file renamed into place, so a
// failed export never leaves half a file under the requested name. "-"
// writes to stdout.
func writeFile(path string, stdout io.Writer, fn func(w io.Writer) error) error {
	if path == "-" {
		return fn(stdout)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.part")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 256<<10)
	if err := fn(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	ok = true
	return nil
}

func (r *runner) exportRemote(ctx context.Context, src *source, o *queryOpts, format, out string) error {
	if o.search != "" || len(o.fields) > 0 || o.limit != 0 || o.details {
		return usagef("--search, --fields, --limit and --details apply to local exports only (drop --remote)")
	}
	apiFormat := veza.ExportCSV
	switch format {
	case fmtJSON:
		apiFormat = veza.ExportJSON
	case fmtJSONL:
		return usagef("the API exports CSV or JSON: name the file .csv or .json")
	}
	// The same filter rules as everywhere else; the server then refuses
	// the local-only fields (error_message) itself.
	if _, err := filter.ParseFor(o.filter, src.Schema); err != nil {
		return usagef("bad filter: %v", err)
	}
	orderBy := ""
	if o.orderBy != "" {
		f, desc, err := parseOrderBy(src, o.orderBy)
		if err != nil {
			return err
		}
		orderBy = f + " asc"
		if desc {
			orderBy = f + " desc"
		}
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	e, err := c.StartExport(ctx, src.Name, veza.ExportRequest{Filter: o.filter, OrderBy: orderBy, Format: apiFormat})
	if err != nil {
		return err
	}
	prog := r.newProgress("export " + sanitize.Line(e.ExportID))
	prog.set(e.Status)
	done, err := c.WaitExport(ctx, e.ExportID, veza.WaitOptions{
		OnStatus: func(x veza.Export) { prog.set(x.Status) },
		Sleep:    r.env.Sleep,
	})
	prog.stop()
	if err != nil {
		return err
	}
	var n int64
	err = writeFile(out, r.out, func(w io.Writer) error {
		var err error
		n, err = c.DownloadExport(ctx, done, w)
		return err
	})
	if err != nil {
		return err
	}
	if out != "-" {
		rows := ""
		if done.RowCount > 0 {
			rows = plural(done.RowCount, strings.TrimSuffix(src.Name, "s"), src.Name) + ", "
		}
		fmt.Fprintf(r.env.Stderr, "exported %s%d bytes to %s (server export %s)\n", rows, n, out, sanitize.Line(done.ExportID))
	}
	return nil
}

// progress shows an export's status on stderr: a spinner on a terminal,
// otherwise one plain line per status change (logs and CI read those).
type progress struct {
	w        io.Writer
	label    string
	spinning bool
	mu       sync.Mutex
	status   string
	start    time.Time
	quit     chan struct{}
	done     chan struct{}
}

func (r *runner) newProgress(label string) *progress {
	p := &progress{w: r.env.Stderr, label: label, spinning: r.env.Interactive && r.env.Width > 0, start: time.Now()}
	if p.spinning {
		p.quit, p.done = make(chan struct{}), make(chan struct{})
		go p.spin()
	}
	return p
}

func (p *progress) set(status string) {
	status = sanitize.Line(status)
	p.mu.Lock()
	defer p.mu.Unlock()
	if status == p.status {
		return
	}
	p.status = status
	if !p.spinning {
		fmt.Fprintf(p.w, "%s: %s\n", p.label, status)
	}
}

var spinFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (p *progress) spin() {
	defer close(p.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		p.mu.Lock()
		fmt.Fprintf(p.w, "\r\x1b[K%s %s: %s (%s)", spinFrames[i%len(spinFrames)], p.label, p.status, time.Since(p.start).Round(time.Second))
		p.mu.Unlock()
		select {
		case <-p.quit:
			fmt.Fprint(p.w, "\r\x1b[K")
			return
		case <-t.C:
		}
	}
}

func (p *progress) stop() {
	if p.spinning {
		close(p.quit)
		<-p.done
		p.mu.Lock()
		fmt.Fprintf(p.w, "%s: %s\n", p.label, p.status)
		p.mu.Unlock()
	}
}
