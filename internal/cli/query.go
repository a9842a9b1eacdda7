package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
)

// pageSize is how many rows one keyset page reads: large enough that the
// per-query cost vanishes, small enough to keep memory flat.
const pageSize = 1000

// queryOpts are the selection flags shared by query and export.
type queryOpts struct {
	filter  string
	search  string
	orderBy string
	limit   int
	fields  stringList
	details bool
}

func (o *queryOpts) register(fs *flag.FlagSet) {
	fs.StringVar(&o.filter, "filter", "", "SCIM `filter`, e.g. 'state eq \"ERRORED\" and action_type eq \"SYNC_IDENTITIES\"'")
	fs.StringVar(&o.search, "search", "", "free `text` to find (jobs, tasks, actions: identity, action, workflow, error message)")
	fs.StringVar(&o.orderBy, "order-by", "", "sort `order`: a field and asc|desc, e.g. \"completed_at desc\"")
	fs.IntVar(&o.limit, "limit", 0, "stop after `N` rows (0: all)")
	fs.Var(&o.fields, "fields", "comma-separated `fields` to output (default: all for json/jsonl/csv, a few for table)")
	fs.BoolVar(&o.details, "details", false, "json/jsonl: include payloads (job request/result, the task or action object)")
}

// selection is a validated query over one source.
type selection struct {
	src    *source
	q      store.Query
	limit  int
	fields []fieldSpec
}

// selectRows validates the flags against src. Every mistake is a usage
// error with one line of explanation.
func (o *queryOpts) selectRows(src *source, defaults []string) (*selection, error) {
	sel := &selection{src: src, limit: o.limit}
	if o.limit < 0 {
		return nil, usagef("--limit must be 0 or more, got %d", o.limit)
	}
	search := o.search
	if src.StoreText {
		search = ""
	}
	where, err := buildWhere(src, o.filter, search)
	if err != nil {
		return nil, err
	}
	sel.q = store.Query{Where: where, Sort: src.Sort, Desc: src.Desc}
	if src.StoreText {
		sel.q.Text = strings.TrimSpace(o.search)
	}
	if o.orderBy != "" {
		if sel.q.Sort, sel.q.Desc, err = parseOrderBy(src, o.orderBy); err != nil {
			return nil, err
		}
	}
	if sel.fields, err = src.pick(o.fields, defaults); err != nil {
		return nil, err
	}
	return sel, nil
}

// buildWhere is the source's base filter AND the user's filter AND the
// free-text search, validated against the source's schema exactly as the
// TUI's filter prompt validates it.
func buildWhere(src *source, filterText, search string) (filter.Node, error) {
	var parts []filter.Node
	if src.Base != "" {
		n, err := filter.ParseFor(src.Base, src.Schema)
		if err != nil {
			return nil, fmt.Errorf("source %s: base filter: %w", src.Name, err)
		}
		parts = append(parts, n)
	}
	if strings.TrimSpace(filterText) != "" {
		n, err := filter.ParseFor(filterText, src.Schema)
		if err != nil {
			return nil, usagef("bad filter: %v", err)
		}
		parts = append(parts, n)
	}
	if s := strings.TrimSpace(search); s != "" {
		n, err := searchNode(src, s)
		if err != nil {
			return nil, usagef("bad search: %v", err)
		}
		parts = append(parts, n)
	}
	var where filter.Node
	for _, p := range parts {
		if where == nil {
			where = p
		} else {
			where = &filter.Logical{Op: "and", Left: where, Right: p}
		}
	}
	return where, nil
}

// searchNode is "f1 co TEXT or f2 co TEXT ..." over the source's text
// fields, built as a tree so no quoting can go wrong.
func searchNode(src *source, text string) (filter.Node, error) {
	var n filter.Node
	for _, name := range src.Search {
		f, ok := src.Schema.Field(name)
		if !ok || !f.Allows(filter.OpCo) {
			continue
		}
		c := &filter.Compare{Attr: f.Name, Op: filter.OpCo, Value: filter.Value{Kind: filter.ValueString, Str: text}}
		if n == nil {
			n = c
		} else {
			n = &filter.Logical{Op: "or", Left: n, Right: c}
		}
	}
	if n == nil {
		return nil, fmt.Errorf("%s has no searchable text fields", src.Name)
	}
	return n, filter.Validate(n, src.Schema)
}

// parseOrderBy reads "field [asc|desc]".
func parseOrderBy(src *source, v string) (string, bool, error) {
	parts := strings.Fields(v)
	if len(parts) == 0 || len(parts) > 2 {
		return "", false, usagef("--order-by wants \"FIELD [asc|desc]\", got %q", v)
	}
	desc := false
	if len(parts) == 2 {
		switch strings.ToLower(parts[1]) {
		case "asc":
		case "desc":
			desc = true
		default:
			return "", false, usagef("--order-by direction must be asc or desc, got %q", parts[1])
		}
	}
	f, ok := src.Schema.Field(parts[0])
	if !ok {
		return "", false, usagef("cannot order %s by %q (fields: %s)", src.Name, parts[0], strings.Join(src.Schema.Names(), ", "))
	}
	return f.Name, desc, nil
}

// each streams the selected rows, page by page, to fn. Pages are read one
// ahead, on another goroutine (selection.pages).
func (sel *selection) each(ctx context.Context, st *store.Store, fn func(record) error) error {
	pages, stop := sel.pages(ctx, st)
	defer stop()
	for p := range pages {
		if p.err != nil {
			return p.err
		}
		for _, r := range p.rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		if p.last {
			return nil
		}
	}
	// The reader stopped before the last page: ctx is done.
	return ctx.Err()
}

// write streams the selection to w in format; it returns the row count.
func (sel *selection) write(ctx context.Context, r *runner, st *store.Store, w io.Writer, format string, details bool) (int, error) {
	if format == fmtJSON || format == fmtJSONL {
		return sel.writeJSON(ctx, st, w, format == fmtJSON, details)
	}
	return sel.writeValues(ctx, r, st, w, format, details)
}

// writeValues writes through a rowWriter, one []any of values per row: the
// table and CSV path, and the reference the json fast path is tested
// against.
func (sel *selection) writeValues(ctx context.Context, r *runner, st *store.Store, w io.Writer, format string, details bool) (int, error) {
	rw := newRowWriter(format, w, sel.fields, r, sel.src.Name)
	vals := make([]any, len(sel.fields))
	n, err := sel.eachDetailed(ctx, st, details, func(row record, det []rawMember) error {
		for i, f := range sel.fields {
			vals[i], _ = sel.src.get(row, f.name)
		}
		return rw.row(vals, det)
	})
	if err != nil {
		return n, err
	}
	return n, rw.end()
}

// eachDetailed is each with the row's details (when asked and the source
// has any), counting the rows.
func (sel *selection) eachDetailed(ctx context.Context, st *store.Store, details bool, fn func(record, []rawMember) error) (int, error) {
	n := 0
	err := sel.each(ctx, st, func(row record) error {
		var det []rawMember
		if details && sel.src.Details != nil {
			var err error
			if det, err = sel.src.Details(ctx, st, row); err != nil {
				return err
			}
		}
		n++
		return fn(row, det)
	})
	return n, err
}

// writeJSON writes json (array) or jsonl as jsonWriter does, encoding
// straight from the rows (jsonEncoder).
func (sel *selection) writeJSON(ctx context.Context, st *store.Store, w io.Writer, array, details bool) (int, error) {
	jw := &jsonWriter{w: w, fields: sel.fields, array: array, enc: newJSONEncoder(sel.src, sel.fields)}
	n, err := sel.eachDetailed(ctx, st, details, jw.record)
	if err != nil {
		return n, err
	}
	return n, jw.end()
}

func init() {
	register(&command{
		name:    "query",
		args:    "SOURCE [flags]",
		summary: "List cached records as a table, JSON, JSON lines or CSV (offline; reads the cache only).",
		long: `SOURCE is one of the sources below. --filter takes the same SCIM filter as the TUI's /
prompt, with the same fields and operators. Output streams: a million rows take
constant memory. Times are UTC RFC 3339 in json/jsonl/csv and local in a table.`,
		example: `opsdeck query jobs --filter 'state eq "ERRORED"' --order-by "created_at desc" --limit 20
opsdeck query errors --search "not found" -o jsonl --details | jq .result
opsdeck query tasks --filter 'state eq "BLOCKED"' --fields id,identity_name,reason -o csv
opsdeck query jobs --filter 'action_type eq "SYNC_IDENTITIES"' --count`,
		words: sourceNames(),
		more:  sourcesHelp,
		setup: func(fs *flag.FlagSet) func(context.Context, *runner, []string) error {
			var o queryOpts
			o.register(fs)
			var count bool
			format := fmtTable
			fs.BoolVar(&count, "count", false, "print only the number of matching rows")
			outFlag(fs, &format)
			return func(ctx context.Context, r *runner, args []string) error {
				return runQuery(ctx, r, args, &o, count, format)
			}
		},
	})
}

// sourcesHelp lists the sources and the fields --filter takes on each.
func sourcesHelp() string {
	var b strings.Builder
	b.WriteString("Sources:\n")
	for _, s := range sources {
		fmt.Fprintf(&b, "  %-18s %s\n", s.Name, s.Summary)
		fmt.Fprintf(&b, "  %-18s filter: %s\n", "", strings.Join(s.Schema.Names(), " "))
	}
	return b.String()
}

// outFlag registers -o and --output.
func outFlag(fs *flag.FlagSet, format *string) {
	usage := "output `format`: " + strings.Join(formats, ", ")
	fs.StringVar(format, "o", *format, usage)
	fs.StringVar(format, "output", *format, usage)
}

func runQuery(ctx context.Context, r *runner, args []string, o *queryOpts, count bool, format string) error {
	if len(args) != 1 {
		return usagef("want one SOURCE (%s), got %d arguments", strings.Join(sourceNames(), ", "), len(args))
	}
	src := sourceByName(args[0])
	if src == nil {
		return usagef("unknown source %q (one of %s)", args[0], strings.Join(sourceNames(), ", "))
	}
	if !slices.Contains(formats, format) {
		return usagef("unknown output format %q (one of %s)", format, strings.Join(formats, ", "))
	}
	defaults := src.defaultFields()
	if format == fmtTable {
		defaults = src.Table
	}
	sel, err := o.selectRows(src, defaults)
	if err != nil {
		return err
	}
	st, err := r.openCache(true)
	if err != nil {
		return err
	}
	defer st.Close()
	if count {
		n, err := st.CountQuery(ctx, src.Entity, sel.q)
		if err != nil {
			return err
		}
		if sel.limit > 0 {
			n = min(n, sel.limit)
		}
		_, err = r.out.WriteString(strconv.Itoa(n) + "\n")
		return err
	}
	details := o.details && (format == fmtJSON || format == fmtJSONL)
	_, err = sel.write(ctx, r, st, r.out, format, details)
	return err
}
