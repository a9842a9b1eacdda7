package cli

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/opsdeck/opsdeck/ui/celltext"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// Output formats of -o.
const (
	fmtTable = "table"
	fmtJSON  = "json"
	fmtJSONL = "jsonl"
	fmtCSV   = "csv"
)

var formats = []string{fmtTable, fmtJSON, fmtJSONL, fmtCSV}

// rowWriter streams rows in one format. vals are in the order of the
// fields it was made with.
type rowWriter interface {
	row(vals []any, details []rawMember) error
	end() error
}

// jsonTime is how JSON and CSV carry times: UTC RFC 3339 with milliseconds.
const jsonTime = "2006-01-02T15:04:05.000Z07:00"

// tableTime is how a table shows times, in the display zone.
const tableTime = "2006-01-02 15:04:05"

func newRowWriter(format string, w io.Writer, fields []fieldSpec, r *runner, noun string) rowWriter {
	switch format {
	case fmtJSON:
		return &jsonWriter{w: w, fields: fields, array: true}
	case fmtJSONL:
		return &jsonWriter{w: w, fields: fields}
	case fmtCSV:
		return newCSVWriter(w, fields)
	}
	return &tableWriter{w: w, fields: fields, width: r.env.Width, loc: r.loc, note: r.env.Stderr, noun: noun}
}

// --- JSON ---

type jsonWriter struct {
	w      io.Writer
	fields []fieldSpec
	array  bool
	n      int
	buf    []byte
	enc    *jsonEncoder // for record; nil when only row is used
}

func (j *jsonWriter) row(vals []any, details []rawMember) error {
	return j.write(func(b []byte) []byte { return appendObject(b, j.fields, vals, details) })
}

// record writes r as row would write its values (selection.writeJSON).
func (j *jsonWriter) record(r record, details []rawMember) error {
	return j.write(func(b []byte) []byte { return j.enc.appendRecord(b, r, details) })
}

func (j *jsonWriter) write(object func([]byte) []byte) error {
	b := j.buf[:0]
	if j.array {
		if j.n == 0 {
			b = append(b, "[\n"...)
		} else {
			b = append(b, ",\n"...)
		}
	}
	b = object(b)
	if !j.array {
		b = append(b, '\n')
	}
	j.n++
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

func (j *jsonWriter) end() error {
	if !j.array {
		return nil
	}
	s := "\n]\n"
	if j.n == 0 {
		s = "[]\n"
	}
	_, err := io.WriteString(j.w, s)
	return err
}

// appendObject writes one record as a compact JSON object, fields in order.
func appendObject(b []byte, fields []fieldSpec, vals []any, details []rawMember) []byte {
	b = append(b, '{')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, f.name)
		b = append(b, ':')
		b = appendJSONValue(b, f.kind, vals[i])
	}
	for k, d := range details {
		if len(fields) > 0 || k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, d.name)
		b = append(b, ':')
		b = appendSafeRaw(b, d.raw)
	}
	return append(b, '}')
}

func appendJSONValue(b []byte, kind valueKind, v any) []byte {
	switch kind {
	case kTime:
		ms, _ := v.(int64)
		if ms == 0 {
			return append(b, "null"...)
		}
		b = append(b, '"')
		b = time.UnixMilli(ms).UTC().AppendFormat(b, jsonTime)
		return append(b, '"')
	case kInt:
		n, _ := v.(int64)
		return strconv.AppendInt(b, n, 10)
	case kBool:
		t, _ := v.(bool)
		return strconv.AppendBool(b, t)
	case kList:
		xs, _ := v.([]string)
		b = append(b, '[')
		for i, x := range xs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, x)
		}
		return append(b, ']')
	}
	s, _ := v.(string)
	return appendJSONString(b, s)
}

const hexDigits = "0123456789abcdef"

const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// plainRun returns how many leading bytes of s, in whole 8-byte words, are
// printable ASCII other than '"' and '\\' (0x20-0x7e): bytes
// appendJSONString copies as they are. It may stop early at a plain word
// (a carry past an 0xff byte) but never passes a byte that is not plain.
func plainRun(s string) int {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		below := (x - lsb8*0x20) &^ x // high bit where a byte < 0x20
		q := x ^ (lsb8 * '"')         // zero bytes where '"'
		bs := x ^ (lsb8 * '\\')       // zero bytes where '\\'
		high := (x + lsb8) | x        // high bit where a byte >= 0x7f
		if (below|(q-lsb8)&^q|(bs-lsb8)&^bs|high)&msb8 != 0 {
			break
		}
	}
	return i
}

// appendJSONString quotes s as a JSON string. Besides what JSON requires,
// every rune a terminal could act on (C1 controls, bidi overrides, DEL,
// invisible formatting: sanitize.Unsafe) is written as a \u escape, so the
// output is lossless and still safe to print; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte { return appendJSONStringSkip(b, s, true) }

// appendJSONStringSkip is appendJSONString; skip=false looks at every byte
// one by one (the tests' reference for the 8-byte skip).
func appendJSONStringSkip(b []byte, s string, skip bool) []byte {
	b = append(b, '"')
	start := 0
	for i, end := 0, 0; i < len(s); {
		if skip && i >= end {
			// Skip 8 plain bytes at a time (printable ASCII but '"' and
			// '\\': most values are plain), then look at the next 8 one by
			// one.
			i += plainRun(s[i:])
			end = i + 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = appendUEscape(b, rune(c))
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if sanitize.Unsafe(r) {
			b = append(b, s[start:i]...)
			b = appendUEscape(b, r)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendUEscape(b []byte, r rune) []byte {
	if r > 0xffff {
		r -= 0x10000
		b = appendUEscape(b, 0xd800+(r>>10))
		return appendUEscape(b, 0xdc00+(r&0x3ff))
	}
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// appendSafeRaw embeds a stored JSON payload: compacted, with unsafe runes
// escaped (valid JSON can hold them raw inside strings). Missing payloads
// are null; a payload that is not JSON is embedded as a string.
func appendSafeRaw(b []byte, raw []byte) []byte {
	if len(bytes.TrimSpace(raw)) == 0 {
		return append(b, "null"...)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return appendJSONString(b, string(raw))
	}
	cb := c.Bytes()
	// After Compact every byte outside a string is structural, and a
	// valid string holds no raw control below 0x20: only runes >= 0x7f
	// can be unsafe.
	start := 0
	for i := 0; i < len(cb); {
		if cb[i] < utf8.RuneSelf {
			if cb[i] == 0x7f {
				b = append(b, cb[start:i]...)
				b = appendUEscape(b, 0x7f)
				start = i + 1
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(cb[i:])
		if sanitize.Unsafe(r) || r == utf8.RuneError && size == 1 {
			b = append(b, cb[start:i]...)
			if size == 1 {
				r = utf8.RuneError
			}
			b = appendUEscape(b, r)
			start = i + size
		}
		i += size
	}
	return append(b, cb[start:]...)
}

// --- CSV ---

type csvWriter struct {
	cw     *csv.Writer
	fields []fieldSpec
	rec    []string
	n      int
	header bool
}

func newCSVWriter(w io.Writer, fields []fieldSpec) *csvWriter {
	return &csvWriter{cw: csv.NewWriter(w), fields: fields, rec: make([]string, len(fields))}
}

func (c *csvWriter) writeHeader() error {
	for i, f := range c.fields {
		c.rec[i] = f.name
	}
	c.header = true
	return c.cw.Write(c.rec)
}

func (c *csvWriter) row(vals []any, _ []rawMember) error {
	if !c.header {
		if err := c.writeHeader(); err != nil {
			return err
		}
	}
	for i, f := range c.fields {
		c.rec[i] = csvCell(f.kind, vals[i])
	}
	c.n++
	if err := c.cw.Write(c.rec); err != nil {
		return err
	}
	if c.n%1024 == 0 {
		c.cw.Flush()
		return c.cw.Error()
	}
	return nil
}

func (c *csvWriter) end() error {
	if !c.header {
		if err := c.writeHeader(); err != nil {
			return err
		}
	}
	c.cw.Flush()
	return c.cw.Error()
}

// csvCell is a value as CSV text. Server strings go through sanitize.Text:
// a CSV is read in terminals and spreadsheets, and escape sequences have no
// place in either (line breaks and tabs are kept).
func csvCell(kind valueKind, v any) string {
	switch kind {
	case kTime:
		ms, _ := v.(int64)
		if ms == 0 {
			return ""
		}
		return time.UnixMilli(ms).UTC().Format(jsonTime)
	case kInt:
		n, _ := v.(int64)
		return strconv.FormatInt(n, 10)
	case kBool:
		t, _ := v.(bool)
		return strconv.FormatBool(t)
	case kList:
		xs, _ := v.([]string)
		if len(xs) == 0 {
			return ""
		}
		return string(appendJSONValue(nil, kList, xs))
	}
	s, _ := v.(string)
	return defuseFormula(sanitize.Text(s))
}

// defuseFormula prefixes a quote to a cell a spreadsheet would run as a
// formula (=, +, -, @, tab, CR first): the text came from a server.
func defuseFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// --- table ---

// tableWriter sizes its columns from the first rows (sizeRows of them) and
// streams the rest with those widths, so memory stays constant however
// many rows follow. Columns that do not fit the terminal are dropped from
// the right, and a note on stderr says so.
type tableWriter struct {
	w      io.Writer
	note   io.Writer
	fields []fieldSpec
	width  int
	loc    *time.Location
	noun   string // "jobs", for "no jobs match"

	pending [][]string
	widths  []int
	keep    int // columns shown
	started bool
	line    strings.Builder
}

const (
	sizeRows    = 200
	colGap      = 2
	maxTextCell = 60
	minTextCell = 10
)

func (t *tableWriter) cell(f fieldSpec, v any) string {
	switch f.kind {
	case kTime:
		ms, _ := v.(int64)
		if ms == 0 {
			return "-"
		}
		return time.UnixMilli(ms).In(t.loc).Format(tableTime)
	case kInt:
		n, _ := v.(int64)
		return strconv.FormatInt(n, 10)
	case kBool:
		b, _ := v.(bool)
		if b {
			return "yes"
		}
		return "no"
	case kList:
		xs, _ := v.([]string)
		return sanitize.Line(strings.Join(xs, " | "))
	}
	s, _ := v.(string)
	return sanitize.Line(s)
}

func (t *tableWriter) row(vals []any, _ []rawMember) error {
	cells := make([]string, len(t.fields))
	for i, f := range t.fields {
		cells[i] = t.cell(f, vals[i])
	}
	if !t.started {
		t.pending = append(t.pending, cells)
		if len(t.pending) < sizeRows {
			return nil
		}
		return t.flushPending()
	}
	return t.writeLine(cells)
}

func (t *tableWriter) end() error {
	if !t.started {
		if len(t.pending) == 0 {
			// Nothing to show: a header alone reads like a bug. Say so
			// where a person will see it and a pipe will not.
			if t.note != nil {
				fmt.Fprintf(t.note, "no %s match\n", t.noun)
			}
			return nil
		}
		return t.flushPending()
	}
	return nil
}

func (t *tableWriter) flushPending() error {
	t.layout()
	t.started = true
	header := make([]string, len(t.fields))
	for i, f := range t.fields {
		header[i] = strings.ToUpper(f.name)
	}
	if err := t.writeLine(header); err != nil {
		return err
	}
	for _, cells := range t.pending {
		if err := t.writeLine(cells); err != nil {
			return err
		}
	}
	t.pending = nil
	return nil
}

// layout sets the column widths: each column's widest cell among the first
// rows (text capped at maxTextCell), then, on a terminal that is too
// narrow, text columns shrink towards minTextCell and columns are dropped
// from the right.
func (t *tableWriter) layout() {
	n := len(t.fields)
	t.widths = make([]int, n)
	for i, f := range t.fields {
		w := len(f.name)
		for _, cells := range t.pending {
			w = max(w, celltext.Width(cells[i]))
		}
		if f.kind == kString || f.kind == kList {
			w = min(w, max(maxTextCell, len(f.name)))
		}
		t.widths[i] = w
	}
	t.keep = n
	if t.width <= 0 {
		return
	}
	total := func(k int) int {
		s := 0
		for i := 0; i < k; i++ {
			s += t.widths[i]
		}
		return s + colGap*(k-1)
	}
	// Shrink the widest text column, one cell at a time, until it fits or
	// every text column is at its minimum.
	for total(n) > t.width {
		best := -1
		for i, f := range t.fields {
			if (f.kind == kString || f.kind == kList) && t.widths[i] > max(minTextCell, len(f.name)) &&
				(best < 0 || t.widths[i] > t.widths[best]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		t.widths[best]--
	}
	for t.keep > 1 && total(t.keep) > t.width {
		t.keep--
	}
	if t.keep < n && t.note != nil {
		var hidden []string
		for _, f := range t.fields[t.keep:] {
			hidden = append(hidden, f.name)
		}
		fmt.Fprintf(t.note, "(%d columns do not fit in %d cells: %s; pick them with --fields or use -o csv)\n",
			n-t.keep, t.width, strings.Join(hidden, ", "))
	}
	if w := total(t.keep); w > t.width && t.keep == 1 {
		t.widths[0] = t.width
	}
}

func (t *tableWriter) writeLine(cells []string) error {
	b := &t.line
	b.Reset()
	for i := 0; i < t.keep; i++ {
		w := t.widths[i]
		s := cells[i]
		ascii := celltext.IsASCII(s)
		sw := celltext.Width(s)
		if sw > w {
			s, sw = celltext.Cut(s, ascii, w-1)
			s += "…"
			sw++
		}
		last := i == t.keep-1
		if t.fields[i].kind == kInt {
			celltext.WriteSpaces(b, w-sw)
			b.WriteString(s)
		} else {
			b.WriteString(s)
			if !last {
				celltext.WriteSpaces(b, w-sw)
			}
		}
		if !last {
			celltext.WriteSpaces(b, colGap)
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(t.w, b.String())
	return err
}
