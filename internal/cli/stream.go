package cli

import (
	"context"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/store"
)

// The json and jsonl outputs are the hot path of `opsdeck query` (issue 8:
// 100k rows/s on a 1M-job cache). They are encoded straight from the rows:
// no value is boxed into an any, times are formatted from a per-field
// cache of the day, and the next page is read while this one is written.
// The bytes are those of appendObject over source.get (TestStreamMatchesGeneric).

// accessor reads one field of a record without boxing it. The func that
// matches the field's kind is set: str for kString, num for kInt and
// kTime, flag for kBool.
type accessor struct {
	str  func(record) string
	num  func(record) int64
	flag func(record) bool
}

func jobRow(r record) *store.JobRow { return r.(*store.JobRow) }

// jobAccessors mirror store.JobRow.Field (TestJobAccessorsMatchField).
var jobAccessors = map[string]accessor{
	"job_id":                {str: func(r record) string { return jobRow(r).JobID }},
	"state":                 {str: func(r record) string { return jobRow(r).State }},
	"policy_task":           {str: func(r record) string { return jobRow(r).PolicyTask }},
	"action_name":           {str: func(r record) string { return jobRow(r).ActionName }},
	"action_type":           {str: func(r record) string { return jobRow(r).ActionType }},
	"policy_id":             {str: func(r record) string { return jobRow(r).PolicyID }},
	"workflow_name":         {str: func(r record) string { return jobRow(r).WorkflowName }},
	"identity_id":           {str: func(r record) string { return jobRow(r).IdentityID }},
	"identity_name":         {str: func(r record) string { return jobRow(r).IdentityName }},
	"event_source":          {str: func(r record) string { return jobRow(r).EventSource }},
	"event_source_id":       {str: func(r record) string { return jobRow(r).EventSourceID }},
	"extraction_event":      {str: func(r record) string { return jobRow(r).ExtractionEvent }},
	"extraction_event_type": {str: func(r record) string { return jobRow(r).ExtractionEventType }},
	"started_at":            {num: func(r record) int64 { return jobRow(r).StartedAt }},
	"completed_at":          {num: func(r record) int64 { return jobRow(r).CompletedAt }},
	"created_at":            {num: func(r record) int64 { return jobRow(r).CreatedAt }},
	"any_changes":           {flag: func(r record) bool { return jobRow(r).AnyChanges }},
	"events_created":        {num: func(r record) int64 { return jobRow(r).EventsCreated }},
	"error_message":         {str: func(r record) string { return jobRow(r).ErrorMessage }},
	"error_signature":       {str: func(r record) string { return jobRow(r).ErrorSignature }},
	"synced_at":             {num: func(r record) int64 { return jobRow(r).SyncedAt }},
}

func jobAccess(name string) (accessor, bool) {
	a, ok := jobAccessors[name]
	return a, ok
}

// jsonField is one output field of a jsonEncoder.
type jsonField struct {
	name string
	kind valueKind
	key  []byte // `"name":`, with the comma before every field but the first
	acc  accessor
	day  dayCache // kTime
}

// jsonEncoder writes records as appendObject does.
type jsonEncoder struct {
	src    *source
	fields []jsonField
}

func newJSONEncoder(src *source, fields []fieldSpec) *jsonEncoder {
	e := &jsonEncoder{src: src, fields: make([]jsonField, len(fields))}
	for i, f := range fields {
		jf := jsonField{name: f.name, kind: f.kind}
		if i > 0 {
			jf.key = append(jf.key, ',')
		}
		jf.key = appendJSONString(jf.key, f.name)
		jf.key = append(jf.key, ':')
		if src.Access != nil {
			if a, ok := src.Access(f.name); ok && a.fits(f.kind) {
				jf.acc = a
			}
		}
		e.fields[i] = jf
	}
	return e
}

// fits reports whether a has the func f's kind is read with.
func (a accessor) fits(k valueKind) bool {
	switch k {
	case kString:
		return a.str != nil
	case kInt, kTime:
		return a.num != nil
	case kBool:
		return a.flag != nil
	}
	return false
}

// appendRecord is appendObject(b, fields, values of r, details).
func (e *jsonEncoder) appendRecord(b []byte, r record, details []rawMember) []byte {
	b = append(b, '{')
	for i := range e.fields {
		f := &e.fields[i]
		b = append(b, f.key...)
		switch {
		case f.kind == kString && f.acc.str != nil:
			b = appendJSONString(b, f.acc.str(r))
		case f.kind == kTime && f.acc.num != nil:
			b = f.day.appendTime(b, f.acc.num(r))
		case f.kind == kInt && f.acc.num != nil:
			b = strconv.AppendInt(b, f.acc.num(r), 10)
		case f.kind == kBool && f.acc.flag != nil:
			b = strconv.AppendBool(b, f.acc.flag(r))
		case f.kind == kTime:
			v, _ := e.src.get(r, f.name)
			ms, _ := v.(int64)
			b = f.day.appendTime(b, ms)
		default:
			v, _ := e.src.get(r, f.name)
			b = appendJSONValue(b, f.kind, v)
		}
	}
	for k, d := range details {
		if len(e.fields) > 0 || k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, d.name)
		b = append(b, ':')
		b = appendSafeRaw(b, d.raw)
	}
	return append(b, '}')
}

const (
	msPerDay = 24 * 60 * 60 * 1000
	// maxFastMS is the last millisecond of year 9999: the fast path stays
	// within four-digit years; anything else takes time.Format.
	maxFastMS = 253_402_300_799_999
)

// dayCache formats times as appendJSONValue(kTime) does, taking the date
// from the last day formatted when it is the same day (rows in time order
// mostly are).
type dayCache struct {
	day  int64
	date []byte // "2006-01-02T" of day; empty until the first use
}

func (c *dayCache) appendTime(b []byte, ms int64) []byte {
	if ms == 0 {
		return append(b, "null"...)
	}
	if ms < 0 || ms > maxFastMS {
		b = append(b, '"')
		b = time.UnixMilli(ms).UTC().AppendFormat(b, jsonTime)
		return append(b, '"')
	}
	day, rem := ms/msPerDay, ms%msPerDay
	if len(c.date) == 0 || day != c.day {
		c.date = time.UnixMilli(day*msPerDay).UTC().AppendFormat(c.date[:0], "2006-01-02T")
		c.day = day
	}
	b = append(b, '"')
	b = append(b, c.date...)
	b = append2(b, rem/3_600_000)
	b = append(b, ':')
	b = append2(b, rem/60_000%60)
	b = append(b, ':')
	b = append2(b, rem/1000%60)
	ms3 := rem % 1000
	return append(b, '.', byte('0'+ms3/100), byte('0'+ms3/10%10), byte('0'+ms3%10), 'Z', '"')
}

func append2(b []byte, n int64) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

// pageOf is one page read ahead by each; last marks the final one.
type pageOf struct {
	rows []record
	err  error
	last bool
}

// pages reads sel's pages on a goroutine of its own, one page ahead of the
// caller: the next page's SQLite reads overlap this page's encoding, and
// at most three pages are in memory (the caller's, the one waiting in the
// channel, the one being read). stop ends the reading and waits for it,
// so the store can be closed after it.
func (sel *selection) pages(ctx context.Context, st *store.Store) (next <-chan pageOf, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan pageOf, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		var after *store.Key
		n := 0
		for {
			size := pageSize
			if sel.limit > 0 {
				size = min(size, sel.limit-n)
			}
			rows, err := sel.src.Page(ctx, st, sel.q, after, size)
			n += len(rows)
			last := err != nil || len(rows) < size || sel.limit > 0 && n >= sel.limit
			select {
			case ch <- pageOf{rows, err, last}:
			case <-ctx.Done():
				return
			}
			if last {
				return
			}
			k := sel.src.Key(sel.q, rows[len(rows)-1])
			after = &k
			if ctx.Err() != nil {
				return
			}
		}
	}()
	return ch, func() {
		cancel()
		<-done
	}
}
