package emulator

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/store/filter"
)

// Veza system events (seed 002, API-CONTRACT.md §1.6): about Scale/10
// events over the 30 days before Now, and in live mode one more every
// 10/LiveRate seconds. Event i is rebuilt from (Seed, i) like every other
// record. Events are persisted in index order; an event's timestamp is a
// little before its persisted_at, and both increase with the index.

const (
	eventsPageSize    = 1000
	eventsPageSizeMax = 10000
	minEvents         = 100
)

type eventLog struct {
	g        *gen
	n, h     int // base events; events laid out (base + live)
	startMs  int64
	spanMs   int64
	stepMs   int64   // spacing of the base events
	liveStep float64 // ms between live events
	key      uint64
	examples [2]int // indexes of seed 002's two example events, -1 if none
	outage   int    // index of the event announcing the outage (outage.go), -1 if none
}

func newEventLog(g *gen, lc *liveConfig) *eventLog {
	l := &eventLog{g: g, n: max(g.nJobs/10, minEvents)}
	l.h = l.n
	l.spanMs = (window - 2*time.Minute).Milliseconds()
	l.startMs = g.nowMs - window.Milliseconds()
	l.stepMs = max(l.spanMs/int64(l.n), 1)
	r := newRNG(g.seed, streamEventTime, 0)
	l.key = r.next()
	if lc != nil {
		rate := lc.rate / 10
		l.liveStep = 1000 / rate
		l.h += int(min(math.Ceil(rate*lc.horizon.Seconds()), maxLiveJobs))
	}
	l.examples = [2]int{l.n - 7, l.n - 6}
	l.outage = l.outageEventIndex()
	return l
}

// lineMs is where event i sits on the time line, and stepNs how far apart
// its neighbours are.
func (l *eventLog) lineMs(i int) (ms int64, stepNs int64) {
	if i < l.n {
		return l.startMs + int64(i)*l.spanMs/int64(l.n), l.stepMs * 1e6
	}
	return l.g.nowMs + int64(math.Ceil(float64(i-l.n+1)*l.liveStep)), int64(l.liveStep * 1e6)
}

// times returns the timestamp and persisted_at of event i in unix ns. Both
// lie within half a step of the line, so both increase with i.
func (l *eventLog) times(i int) (ts, persisted int64) {
	ms, step := l.lineMs(i)
	q := max(step/4, 1)
	h := mix64(uint64(i) ^ l.key)
	ts = ms*1e6 + int64(h%uint64(q))
	if i == l.examples[0] || i == l.examples[1] {
		ts = ts - ts%1e9 + exampleEvents[i-l.examples[0]].Timestamp.UnixNano()%1e9
		ts = max(ts, ms*1e6) // keep it monotone
	}
	persisted = ts + int64(mix64(h)%uint64(q))
	return ts, persisted
}

func (l *eventLog) persistedMs(i int) int64 {
	_, p := l.times(i)
	return p / 1e6
}

// visible is the number of events persisted by unix ms at.
func (l *eventLog) visible(at int64) int {
	return sort.Search(l.h, func(i int) bool { return l.persistedMs(i) > at })
}

// firstAtOrAfter returns the first index whose time (timestamp or
// persisted_at) is at or after ns.
func (l *eventLog) firstAtOrAfter(ns int64, persisted bool) int {
	return sort.Search(l.h, func(i int) bool {
		ts, p := l.times(i)
		if persisted {
			return p >= ns
		}
		return ts >= ns
	})
}

// oldest is the oldest timestamp the API still serves at time now
// (retention: one month), to the second.
func oldest(now time.Time) time.Time { return now.AddDate(0, -1, 0).Truncate(time.Second) }

// event builds event i.
func (l *eventLog) event(i int) (SystemEvent, int) {
	ts, _ := l.times(i)
	if i == l.examples[0] || i == l.examples[1] {
		e := exampleEvents[i-l.examples[0]]
		e.Timestamp = time.Unix(0, ts).UTC()
		return e, eventTypeIndex(exampleTypes[i-l.examples[0]])
	}
	if i == l.outage {
		return l.outageEvent(i, ts)
	}
	r := newRNG(l.g.seed, streamEvent, uint64(i))
	t := r.weighted(eventTypeWeights)
	et := &eventTypes[t]
	e := SystemEvent{
		ID:        l.g.ids.uuid(kindEvent, i),
		Timestamp: time.Unix(0, ts).UTC(),
		Category:  et.category,
		Severity:  "INFO",
		Name:      et.title,
		Entity:    et.entity,
		EventType: et.name,
	}
	l.fill(&r, et, &e)
	if r.chance(0.005) {
		h := pick(&r, hostileStrings)
		if r.chance(0.5) {
			e.Message += " " + h
		} else {
			e.EntityName += h
		}
	}
	return e, t
}

// The event list and export.

// eventSchema is what the events API can filter on [assumed beyond
// seed 002's category, severity and timestamp; the export token of seed 002
// also names entity, provider and event type].
var eventSchema = &filter.Schema{Entity: "events", Fields: []filter.Field{
	{Name: "category", Column: "category", Kind: filter.KindEnum, Ops: []filter.Op{filter.OpEq, filter.OpNe}, Fold: true, Values: eventCategories},
	{Name: "severity", Column: "severity", Kind: filter.KindEnum, Ops: []filter.Op{filter.OpEq, filter.OpNe}, Fold: true, Values: []string{"INFO", "WARNING", "ERROR"}},
	{Name: "event_type", Column: "event_type", Kind: filter.KindEnum, Ops: []filter.Op{filter.OpEq, filter.OpNe}, Fold: true, Values: eventTypeNames},
	{Name: "timestamp", Column: "timestamp", Kind: filter.KindTime, Ops: []filter.Op{filter.OpGt, filter.OpGe, filter.OpLt, filter.OpLe}},
	{Name: "persisted_at", Column: "persisted_at", Kind: filter.KindTime, Ops: []filter.Op{filter.OpGe, filter.OpGt}},
	{Name: "entity_id", Column: "entity_id", Kind: filter.KindString, Ops: []filter.Op{filter.OpEq}},
	{Name: "provider_id", Column: "provider_id", Kind: filter.KindString, Ops: []filter.Op{filter.OpEq}},
	{Name: "id", Column: "id", Kind: filter.KindString, Ops: []filter.Op{filter.OpEq}},
}}

// evQuery is a validated events request.
type evQuery struct {
	node   filter.Node
	canon  string
	pred   func(get func(string) (any, bool)) bool
	size   int
	desc   bool
	lastID string // resume after this event ("" = from the start)
	export bool
	lo, hi int64 // bounds on timestamp/persisted_at from the filter, unix ns (0 = none)
	loPers bool  // lo is a persisted_at bound
}

// evToken is the page token: the shape of seed 002's (base64 JSON of a
// ListInput), plus the canonical filter and a MAC. Standard base64 with
// '+', '/' and '=' on purpose: a client must URL-encode it.
type evToken struct {
	ListInput evListInput `json:"ListInput"`
	Filter    string      `json:"Filter,omitempty"`
	Export    bool        `json:"Export,omitempty"`
	Sig       string      `json:"Sig"`
}

type evListInput struct {
	Category         int    `json:"Category"`
	Severity         int    `json:"Severity"`
	StartTime        string `json:"StartTime"`
	EndTime          string `json:"EndTime"`
	EntityID         string `json:"EntityID"`
	ProviderID       string `json:"ProviderID"`
	EventType        int    `json:"EventType"`
	PersistedAtGe    string `json:"PersistedAtGe"`
	PaginationLastID string `json:"PaginationLastID"`
	PageSize         int    `json:"PageSize"`
	Order            int    `json:"Order"`
}

const zeroTime = "0001-01-01T00:00:00Z"

func (s *Server) encodeEvToken(q *evQuery, lastID string) string {
	in := evListInput{StartTime: zeroTime, EndTime: zeroTime, PersistedAtGe: zeroTime, PaginationLastID: lastID, PageSize: q.size}
	if q.desc {
		in.Order = 1
	}
	if q.lo != 0 {
		t := time.Unix(0, q.lo).UTC().Format(time.RFC3339Nano)
		if q.loPers {
			in.PersistedAtGe = t
		} else {
			in.StartTime = t
		}
	}
	if q.hi != 0 {
		in.EndTime = time.Unix(0, q.hi).UTC().Format(time.RFC3339Nano)
	}
	tok := evToken{ListInput: in, Filter: q.canon, Export: q.export}
	b, _ := json.Marshal(tok)
	tok.Sig = strconv.FormatUint(s.mac(b), 16)
	b, _ = json.Marshal(tok)
	return base64.StdEncoding.EncodeToString(b)
}

func (s *Server) decodeEvToken(raw string) (evToken, error) {
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return evToken{}, errors.New("malformed")
	}
	var tok evToken
	if err := json.Unmarshal(b, &tok); err != nil {
		return evToken{}, errors.New("malformed")
	}
	sig := tok.Sig
	tok.Sig = ""
	b, _ = json.Marshal(tok)
	if sig != strconv.FormatUint(s.mac(b), 16) {
		return evToken{}, errors.New("bad checksum")
	}
	return tok, nil
}

// parseEvQuery validates an events request; on error it returns the
// parameter to blame.
func (s *Server) parseEvQuery(r *http.Request, export bool) (q evQuery, field string, err error) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return q, "query", fmt.Errorf("malformed query string: %v", err)
	}
	q.export = export
	q.size = eventsPageSize
	sizeSet := false
	if v := vals.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return q, "page_size", fmt.Errorf("page_size must be a non-negative integer, got %q", v)
		}
		if n > 0 {
			q.size, sizeSet = min(n, eventsPageSizeMax), true
		}
	}
	hasFilter := vals.Has("filter")
	if hasFilter {
		if q.node, err = filter.ParseFor(vals.Get("filter"), eventSchema); err != nil {
			return q, "filter", err
		}
		if q.node != nil {
			q.canon = q.node.String()
		}
	}
	if v := vals.Get("order_by"); v != "" {
		if export {
			return q, "order_by", errors.New("the export is always in persisted order")
		}
		order, desc, err := parseOrderBy(v, []string{"timestamp"})
		if err != nil || order != 0 {
			return q, "order_by", err
		}
		q.desc = desc
	}
	if raw := vals.Get("page_token"); raw != "" {
		tok, err := s.decodeEvToken(raw)
		if err != nil || tok.Export != export {
			return q, "page_token", errors.New("invalid page token")
		}
		if hasFilter && tok.Filter != q.canon {
			return q, "page_token", errors.New("page token was issued for a different filter")
		}
		if !hasFilter && tok.Filter != "" {
			if q.node, err = filter.ParseFor(tok.Filter, eventSchema); err != nil {
				return q, "page_token", errors.New("invalid page token")
			}
			q.canon = tok.Filter
		}
		q.desc = tok.ListInput.Order == 1
		q.lastID = tok.ListInput.PaginationLastID
		if !sizeSet && tok.ListInput.PageSize > 0 {
			q.size = min(tok.ListInput.PageSize, eventsPageSizeMax)
		}
	}
	if q.pred, err = filter.Predicate(q.node, eventSchema); err != nil {
		return q, "filter", err
	}
	q.lo, q.hi, q.loPers = timeBounds(q.node)
	return q, "", nil
}

// timeBounds returns the tightest lower bound on timestamp or persisted_at
// and upper bound on timestamp among the terms and-ed at the top of n.
func timeBounds(n filter.Node) (lo, hi int64, loPers bool) {
	var walk func(n filter.Node)
	walk = func(n filter.Node) {
		switch n := n.(type) {
		case *filter.Logical:
			if n != nil && strings.EqualFold(n.Op, "and") {
				walk(n.Left)
				walk(n.Right)
			}
		case *filter.Compare:
			if n == nil || n.Value.Kind != filter.ValueString {
				return
			}
			f, ok := eventSchema.Field(n.Attr)
			if !ok || f.Kind != filter.KindTime {
				return
			}
			t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(n.Value.Str))
			if err != nil {
				return
			}
			// Filters compare milliseconds; the bounds only narrow the
			// scan, so they round outwards.
			ms := t.UnixMilli()
			switch n.Op {
			case filter.OpGe, filter.OpGt:
				if ns := ms * 1e6; ns > lo {
					lo, loPers = ns, f.Name == "persisted_at"
				}
			case filter.OpLe, filter.OpLt:
				if ns := ms*1e6 + 999_999; f.Name == "timestamp" && (hi == 0 || ns < hi) {
					hi = ns
				}
			}
		}
	}
	walk(n)
	return lo, hi, loPers
}

// retentionViolation is seed 002's answer to a start time older than the
// retention: the field violation names the oldest valid timestamp.
func (s *Server) retentionViolation(w http.ResponseWriter, r *http.Request, q *evQuery, now time.Time) bool {
	old := oldest(now)
	if q.lo == 0 || q.lo >= old.UnixNano() {
		return false
	}
	s.badRequest(w, r, "filter.start_time", "Must be after or equal to "+old.Format(time.RFC3339))
	return true
}

func listEvents(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	serveEvents(s, w, r, false)
}

func exportEvents(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	serveEvents(s, w, r, true)
}

func serveEvents(s *Server, w http.ResponseWriter, r *http.Request, export bool) {
	q, field, err := s.parseEvQuery(r, export)
	if err != nil {
		s.badRequest(w, r, field, err.Error())
		return
	}
	v := s.view()
	now := time.UnixMilli(v.at).UTC()
	if q.lastID == "" && s.retentionViolation(w, r, &q, now) {
		return
	}
	l := s.ev
	n := v.nEvents
	// The records this query can reach, in index order: within retention,
	// and within the filter's time bounds.
	first := l.firstAtOrAfter(oldest(now).UnixNano(), false)
	if q.lo != 0 {
		first = max(first, l.firstAtOrAfter(q.lo, q.loPers))
	}
	last := n // exclusive
	if q.hi != 0 {
		last = min(last, l.firstAtOrAfter(q.hi+1, false))
	}
	// Where this page starts.
	pos, step := first, 1
	if q.desc {
		pos, step = last-1, -1
	}
	if q.lastID != "" {
		k, ok := s.g.ids.parse(kindEvent, q.lastID)
		if !ok || k >= l.h {
			s.badRequest(w, r, "page_token", "invalid page token")
			return
		}
		if q.desc {
			pos = min(k-1, last-1)
		} else {
			pos = max(k+1, first)
		}
	}
	// (A first page of newest-first has no last id: its follow-up starts at
	// whatever is newest then.)
	setHere(r, func() string { return s.encodeEvToken(&q, q.lastID) })

	vals := make([]SystemEvent, 0, min(q.size, 1024))
	var cur SystemEvent
	var curType, curIdx int
	get := func(name string) (any, bool) { return eventField(l, &cur, curType, curIdx, name) }
	budget := s.scanBudget
	lastSeen := -1
	more := false
	for ; pos >= first && pos < last; pos += step {
		if budget == 0 {
			more = true
			break
		}
		budget--
		cur, curType = l.event(pos)
		curIdx = pos
		if !q.pred(get) {
			lastSeen = pos
			continue
		}
		if len(vals) == q.size {
			more = true
			break
		}
		vals = append(vals, cur)
		lastSeen = pos
	}
	s.examined.Add(int64(s.scanBudget - budget))
	next := q.lastID
	if lastSeen >= 0 {
		next = s.g.ids.uuid(kindEvent, lastSeen)
	}
	if export {
		// The token is a tail cursor: always there, and following it later
		// yields what was persisted since.
		writeJSON(w, http.StatusOK, EventExportPage{Events: vals, HasMore: more, NextPageToken: s.encodeEvToken(&q, next)})
		return
	}
	page := EventPage{Values: vals, HasMore: more}
	if more {
		page.NextPageToken = s.encodeEvToken(&q, next)
	}
	writeJSON(w, http.StatusOK, page)
}

// eventField is the getter of the event filter.
func eventField(l *eventLog, e *SystemEvent, typ, idx int, name string) (any, bool) {
	switch name {
	case "category":
		return e.Category, true
	case "severity":
		return e.Severity, true
	case "event_type":
		return eventTypes[typ].name, true
	case "timestamp":
		return e.Timestamp, true
	case "persisted_at":
		return l.persistedMs(idx), true
	case "entity_id":
		return e.EntityID, true
	case "provider_id":
		return e.ProviderID, true
	case "id":
		return e.ID, true
	}
	return nil, false
}

// requestHex is a 32-hex-digit request id.
func requestHex(r *rng) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.next())
	}
	return hex.EncodeToString(b[:])
}
