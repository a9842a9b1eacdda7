package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
)

// Job list pages are read packed: SQLite joins a row's list columns into
// one NUL-separated text value, and Go splits it. The driver's cost is per
// column (a type call, a value call and a mutex round trip each, then a Go
// string per value). Measured on a 1M-job cache, `state eq "ERRORED"` (54k
// rows spread over the table, issue 8), CPU per row: the row read alone
// (index entry, random 8 KiB page, one column) ~4 µs; the 22 list columns
// ~14 µs; the packed value ~7 µs. The fields of a row are substrings of
// its one packed string (one allocation a row).
//
// A value holding a NUL would split into too many parts: such a page (and
// any other that does not unpack exactly) is read again column by column,
// so the rows are always exactly what the column scan returns
// (TestJobsPackedMatchColumns).

// jobListCols are the columns of a job list row: jobCols without payloads.
var jobListCols = jobCols[:len(jobCols)-jobPayloadCols]

// jobsPackedSelect is the SELECT list of a packed job page. concat_ws
// renders integers in decimal and skips NULLs (every list column is NOT
// NULL in a STRICT table, so none is skipped: a skipped one would show as
// a missing part).
var jobsPackedSelect = "concat_ws(char(0), " + strings.Join(jobListCols, ", ") + ")"

// errUnpacked says a packed row did not split into exactly its columns.
var errUnpacked = errors.New("store: packed job row does not unpack")

// jobsInto is Jobs appending the page to dst[:0] (nil: a new slice). The
// rows' strings do not share memory with dst: reusing dst never changes a
// row handed out before.
func (s *Store) jobsInto(ctx context.Context, dst []JobRow, q Query, after *Key, backward bool, limit int) ([]JobRow, error) {
	if limit <= 0 {
		return dst[:0], nil
	}
	if dst == nil {
		dst = make([]JobRow, 0, min(limit, 1024)) // a CLI page (1000) without growing
	}
	out, err := pageInto(ctx, s, jobsEntity, jobsPackedSelect, q, after, backward, limit, dst, scanJobPacked)
	if errors.Is(err, errUnpacked) {
		return s.jobsByColumns(ctx, dst, q, after, backward, limit)
	}
	return out, err
}

// jobsByColumns is a job page read column by column: the fallback of
// jobsInto and the reference its tests compare with.
func (s *Store) jobsByColumns(ctx context.Context, dst []JobRow, q Query, after *Key, backward bool, limit int) ([]JobRow, error) {
	if limit <= 0 {
		return dst[:0], nil
	}
	return pageInto(ctx, s, jobsEntity, jobsEntity.listSelect(), q, after, backward, limit, dst, scanJobColumns)
}

func scanJobColumns(rows *sql.Rows) (JobRow, error) {
	var r JobRow
	p := r.ptrs()
	return r, rows.Scan(p[:len(p)-jobPayloadCols]...)
}

func scanJobPacked(rows *sql.Rows) (JobRow, error) {
	var packed string // the driver's own string: no copy
	if err := rows.Scan(&packed); err != nil {
		return JobRow{}, err
	}
	var r JobRow
	if !unpackJob(packed, &r) {
		return JobRow{}, errUnpacked
	}
	return r, nil
}

// unpackJob splits a jobsPackedSelect value into r, in jobListCols order.
// It reports false unless the value has exactly one part per column and
// every integer (and boolean: 0 or 1, as database/sql demands) parses.
func unpackJob(s string, r *JobRow) bool {
	var f [22]string
	if len(f) != len(jobListCols) {
		return false
	}
	for i := 0; i < len(f)-1; i++ {
		j := strings.IndexByte(s, 0)
		if j < 0 {
			return false
		}
		f[i], s = s[:j], s[j+1:]
	}
	if strings.IndexByte(s, 0) >= 0 {
		return false
	}
	f[len(f)-1] = s
	ok := true
	num := func(v string) int64 {
		n, good := atoi(v)
		ok = ok && good
		return n
	}
	r.RowID = num(f[0])
	r.JobID, r.State, r.PolicyTask, r.ActionName, r.ActionType, r.PolicyID = f[1], f[2], f[3], f[4], f[5], f[6]
	r.WorkflowName, r.IdentityID, r.IdentityName, r.EventSource, r.EventSourceID = f[7], f[8], f[9], f[10], f[11]
	r.ExtractionEvent, r.ExtractionEventType = f[12], f[13]
	r.StartedAt, r.CompletedAt, r.CreatedAt = num(f[14]), num(f[15]), num(f[16])
	switch f[17] {
	case "0":
	case "1":
		r.AnyChanges = true
	default:
		ok = false
	}
	r.EventsCreated = num(f[18])
	r.ErrorMessage, r.ErrorSignature = f[19], f[20]
	r.SyncedAt = num(f[21])
	return ok
}

// atoi is strconv.ParseInt(s, 10, 64) without the error value, quick for
// what SQLite writes: an optional '-' and up to 18 digits (which cannot
// overflow) parse inline, anything else goes through strconv.
func atoi(s string) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	d := s
	if neg {
		d = s[1:]
	}
	if len(d) == 0 || len(d) > 18 || s[0] == '+' {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	var n int64
	for i := 0; i < len(d); i++ {
		c := d[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int64(c)
	}
	if neg {
		n = -n
	}
	return n, true
}
