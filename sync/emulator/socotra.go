package emulator

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Socotra events API (seed 004, API-CONTRACT.md §2) of one tenant,
// under /event/{tenant}/events. About Scale/4 events over the 30 days
// before Now (in live mode one more every 2/LiveRate seconds) are in
// stream order: the order their API calls completed. An event's timestamp
// is when its call started, so a slow call's events carry a timestamp
// earlier than events before them in the stream. Consecutive events share
// an API request (requestId) and a policy. Failed scheduled jobs are a
// small mutable list; resuming or deleting one removes it.

const (
	socPageSize    = 100  // [assumed]
	socPageSizeMax = 1000 // [assumed]
	socCountMax    = 1000 // [assumed] failed-job lists
	minSocEvents   = 200
	socMaxLateMs   = 90_500 // the latest a timestamp can be behind its stream position
)

type socotra struct {
	g        *gen
	tenant   string
	n, h     int // base events; laid out
	startMs  int64
	spanMs   int64
	stepMs   int64
	liveStep float64
	key      uint64
	nPol     int
	nAcc     int

	mu     sync.Mutex
	failed []FailedJobDetails // oldest first
}

func newSocotra(g *gen, tenant string, lc *liveConfig) *socotra {
	if tenant == "" {
		tenant = g.ids.uuid(kindTenant, 0)
	}
	so := &socotra{g: g, tenant: tenant, n: max(g.nJobs/4, minSocEvents)}
	so.h = so.n
	so.spanMs = (window - 2*time.Minute).Milliseconds()
	so.startMs = g.nowMs - window.Milliseconds()
	so.stepMs = max(so.spanMs/int64(so.n), 1)
	r := newRNG(g.seed, streamSocotraTime, 0)
	so.key = r.next()
	if lc != nil {
		rate := lc.rate / 2
		so.liveStep = 1000 / rate
		so.h += int(min(math.Ceil(rate*lc.horizon.Seconds()), maxLiveJobs))
	}
	so.nPol = max(so.n/10, 30)
	so.nAcc = max(so.nPol*2/3, 20)
	so.initFailed()
	return so
}

// SocotraTenant returns the tenant locator of the Socotra API.
func (s *Server) SocotraTenant() string { return s.soc.tenant }

// streamMs is the stream position of event i as a time: when its API call
// completed. It increases with i. Activity is bursty: the base events come
// in blocks of 8 (see request) a fraction of a second apart, the blocks
// spread over the 30 days; live events arrive evenly.
func (so *socotra) streamMs(i int) int64 {
	h := mix64(uint64(i) ^ so.key)
	if i >= so.n {
		step := int64(so.liveStep)
		return so.g.nowMs + int64(math.Ceil(float64(i-so.n+1)*so.liveStep)) + int64(h%uint64(max(step/4, 1)))
	}
	blocks := int64(so.n+7) / 8
	b, off := int64(i/8), int64(i%8)
	bstep := max(so.spanMs/blocks, 16)
	start := so.startMs + b*so.spanMs/blocks + int64(mix64(uint64(b)^so.key^0xb10c)%uint64(bstep/4))
	gap := min(600, bstep/16)
	return start + off*gap + int64(h%uint64(max(gap/2, 1)))
}

// timestampMs is when event i's call started: a little before its stream
// position, and for the events of 3% of requests (slow calls) up to 90 s
// before, so they come after events that carry a later timestamp.
func (so *socotra) timestampMs(i int) int64 {
	first, _ := so.request(i)
	hr := mix64(uint64(first) ^ so.key ^ 0x51071)
	late := int64(5 + mix64(uint64(i)^so.key^0x1a7e)%400)
	if hr%100 < 3 {
		late += int64(1000 + (hr>>8)%89_000)
	}
	return so.streamMs(i) - late
}

func (so *socotra) visible(at int64) int {
	return sort.Search(so.h, func(i int) bool { return so.streamMs(i) > at })
}

// Requests: events come in blocks of 8, cut into requests at the bits of a
// per-block mask, so each request is 1-8 consecutive events.
func (so *socotra) cuts(block int) uint64 {
	r := newRNG(so.g.seed, streamSocotra, uint64(block)|1<<40)
	var m uint64
	for b := 0; b < 7; b++ {
		if r.chance(0.45) {
			m |= 1 << b // a request ends after position b
		}
	}
	return m | 1<<7
}

// request returns the first event and the end of the request event i
// belongs to.
func (so *socotra) request(i int) (first, end int) {
	block, off := i/8, i%8
	m := so.cuts(block)
	first = block * 8
	for b := off - 1; b >= 0; b-- {
		if m&(1<<b) != 0 {
			first = block*8 + b + 1
			break
		}
	}
	end = block*8 + 8
	for b := off; b < 8; b++ {
		if m&(1<<b) != 0 {
			end = block*8 + b + 1
			break
		}
	}
	return first, end
}

// Locators are 26-character Crockford base32 strings (ULID-like) that
// encrypt (kind, index) like the UUIDs of the Veza side.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func (so *socotra) locator(kind uint64, i int) string {
	u := strings.ReplaceAll(so.g.ids.uuid(kind, i), "-", "")
	var b [16]byte
	for k := range b {
		v, _ := strconv.ParseUint(u[2*k:2*k+2], 16, 8)
		b[k] = byte(v)
	}
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for k := 25; k >= 0; k-- {
		out[k] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

func (so *socotra) parseLocator(kind uint64, s string) (int, bool) {
	if len(s) != 26 {
		return 0, false
	}
	var hi, lo uint64
	for k := 0; k < 26; k++ {
		d := strings.IndexByte(crockford, s[k])
		if d < 0 || (k == 0 && d > 7) {
			return 0, false
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(d)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	u := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	return so.g.ids.parse(kind, u)
}

// Event content.

type socOperation struct {
	weight int
	types  []string
}

var socOperations = []socOperation{
	{10, []string{"policy.quote.create", "policy.quote.price"}},
	{6, []string{"policy.quote.underwrite", "policy.quote.accept"}},
	{8, []string{"policy.quote.issue", "policy.issue", "policy.status.update", "invoice.create", "document.render"}},
	{6, []string{"policy.transaction.create", "policy.transaction.price", "policy.transaction.issue", "policy.status.update"}},
	{3, []string{"policy.cancellation.create", "policy.cancellation.issue", "policy.status.update", "document.render"}},
	{1, []string{"policy.reinstatement.create", "policy.reinstatement.issue", "policy.status.update"}},
	{3, []string{"policy.renewal.create", "policy.renewal.price", "policy.renewal.issue"}},
	{8, []string{"invoice.create", "invoice.status.update"}},
	{8, []string{"payment.create", "payment.post", "invoice.status.update"}},
	{1, []string{"payment.reverse", "invoice.status.update"}},
	{4, []string{"account.create", "account.update"}},
	{2, []string{"fnol.create", "document.render"}},
	{2, []string{"custom.policy.riskScoreUpdated"}},
}

var socOperationWeights = func() []int {
	w := make([]int, len(socOperations))
	for i, o := range socOperations {
		w[i] = o.weight
	}
	return w
}()

// SocotraEventTypes lists the event types the emulator produces.
func SocotraEventTypes() []string {
	var out []string
	for _, o := range socOperations {
		for _, t := range o.types {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	slices.Sort(out)
	return out
}

var (
	socProducts      = []string{"PersonalAuto", "Homeowners", "Renters", "CommercialProperty", "SmallBusinessBOP"}
	socAccountNames  = []string{"Rivera Household", "Okafor & Sons Plumbing LLC", "Müller Bäckerei GmbH", "Nguyễn Family Trust", "山田 太郎", "Greenleaf Dental Group", "O'Brien Logistics", "Ávila Construções Ltda"}
	socPolicyStatus  = []string{"draft", "issued", "cancelled", "expired", "lapsed"}
	socCancelReasons = []string{"nonPayment", "insuredRequest", "underwritingReasons", "fraud", "replacedCoverage"}
	socLossTypes     = []string{"collision", "theft", "waterDamage", "fire", "windHail", "liability"}
	socDocTypes      = []string{"policy-declarations", "invoice", "cancellation-notice", "renewal-offer", "id-cards"}
)

func money(r *rng, lo, hi int) float64 { return float64(r.between(lo*100, hi*100)) / 100 }

// event builds event i.
func (so *socotra) event(i int) SocotraEvent {
	first, _ := so.request(i)
	gr := newRNG(so.g.seed, streamSocotra, uint64(first)|1<<41)
	op := socOperations[gr.weighted(socOperationWeights)]
	pol := gr.intn(so.nPol)
	user := gr.intn(25)
	r := newRNG(so.g.seed, streamSocotra, uint64(i))
	typ := op.types[(i-first)%len(op.types)]
	polLoc := so.locator(kindSocPolicy, pol)
	pr := newRNG(so.g.seed, streamSocotra, uint64(pol)|1<<42)
	acc := pr.intn(so.nAcc)
	data := map[string]any{
		"policyLocator":  polLoc,
		"accountLocator": so.locator(kindSocAccount, acc),
		"productName":    pick(&pr, socProducts),
	}
	txn := so.locator(kindSocTxn, first)
	switch {
	case strings.HasPrefix(typ, "policy.quote."):
		data["quoteLocator"] = so.locator(kindSocTxn, 1<<30+first)
		if typ != "policy.quote.create" {
			data["premium"], data["currency"] = money(&r, 180, 9000), "USD"
		}
	case typ == "policy.status.update":
		from := pick(&r, socPolicyStatus[:3])
		to := map[string]string{"draft": "issued", "issued": "cancelled", "cancelled": "issued"}[from]
		data["previousStatus"], data["status"] = from, to
	case strings.HasPrefix(typ, "policy.transaction.") || strings.HasPrefix(typ, "policy.renewal.") || strings.HasPrefix(typ, "policy.reinstatement."):
		data["transactionLocator"] = txn
		data["transactionType"] = strings.Split(typ, ".")[1]
		if strings.HasSuffix(typ, ".price") {
			data["premiumChange"], data["currency"] = money(&r, -400, 1200), "USD"
		}
	case strings.HasPrefix(typ, "policy.cancellation."):
		data["transactionLocator"] = txn
		data["cancellationReason"] = pick(&r, socCancelReasons)
		data["effectiveTime"] = time.UnixMilli(so.timestampMs(i) + int64(r.between(0, 30))*86400000).UTC().Format(time.RFC3339)
	case typ == "policy.issue":
		data["transactionLocator"] = txn
		data["policyNumber"] = fmt.Sprintf("%s-%07d", strings.ToUpper(data["productName"].(string)[:2]), 1000000+pol)
	case strings.HasPrefix(typ, "invoice."):
		data["invoiceLocator"] = so.locator(kindSocTxn, 1<<31+first)
		data["totalAmount"], data["currency"] = money(&r, 15, 4000), "USD"
		if typ == "invoice.status.update" {
			data["status"] = pick(&r, []string{"paid", "paid", "paid", "overdue", "writtenOff"})
		} else {
			data["dueTime"] = time.UnixMilli(so.timestampMs(i) + int64(r.between(10, 30))*86400000).UTC().Format(time.RFC3339)
		}
	case strings.HasPrefix(typ, "payment."):
		data["paymentLocator"] = so.locator(kindSocTxn, 1<<32+first)
		data["amount"], data["currency"] = money(&r, 15, 4000), "USD"
		data["paymentMethod"] = pick(&r, []string{"card", "ach", "check"})
		if typ == "payment.reverse" {
			data["reason"] = pick(&r, []string{"NSF: insufficient funds", "chargeback", "duplicate payment"})
		}
	case strings.HasPrefix(typ, "account."):
		data["accountType"] = []string{"personal", "commercial"}[acc%2]
		data["name"] = socAccountNames[acc%len(socAccountNames)]
	case typ == "fnol.create":
		data["fnolLocator"] = so.locator(kindSocTxn, 1<<33+first)
		data["lossType"] = pick(&r, socLossTypes)
		data["lossDate"] = time.UnixMilli(so.timestampMs(i) - int64(r.between(0, 20))*86400000).UTC().Format("2006-01-02")
	case typ == "document.render":
		data["documentLocator"] = so.locator(kindSocTxn, 1<<34+i)
		dt := pick(&r, socDocTypes)
		data["documentType"], data["fileName"] = dt, dt+"-"+polLoc[:8]+".pdf"
	case strings.HasPrefix(typ, "custom."):
		data["riskScore"] = r.between(1, 999)
		data["pluginVersion"] = fmt.Sprintf("2.%d.%d", r.between(0, 9), r.between(0, 30))
		note := pick(&r, []string{"score from telematics provider", "manual override", "ランク更新", "↑ risk after claim"})
		if r.chance(0.02) {
			note += " " + pick(&r, hostileStrings)
		}
		data["note"] = note
	}
	return SocotraEvent{
		Locator:     so.locator(kindSocEvent, i),
		UserLocator: so.g.ids.uuid(kindSocUser, user),
		RequestID:   so.g.ids.uuid(kindSocRequest, first),
		Timestamp:   time.UnixMilli(so.timestampMs(i)).UTC(),
		Type:        typ,
		Data:        data,
	}
}

// Scheduled events and failed jobs.

var (
	socCustomEvents   = []string{"renewal", "invoiceGeneration", "autopay", "lapseNotice", "cancellationForNonPayment", "policyAnniversary", "telematicsSync"}
	socTriggerStates  = []string{"NORMAL", "COMPLETE", "PAUSED", "BLOCKED", "ERROR", "NONE"}
	socTriggerWeights = []int{55, 20, 6, 5, 8, 6}
	socTenantJobs     = []string{"nightly-invoice-run", "data-lake-export", "auto-renewal-batch", "delinquency-sweep", "commission-statement"}
)

func (so *socotra) schedules(pol int) []ScheduledPolicyEvent {
	r := newRNG(so.g.seed, streamSocotraSchedule, uint64(pol))
	polLoc := so.locator(kindSocPolicy, pol)
	out := []ScheduledPolicyEvent{}
	for k, n := 0, r.between(0, 5); k < n; k++ {
		ev := ScheduledPolicyEvent{
			PolicyLocator:      polLoc,
			TransactionLocator: so.locator(kindSocTxn, 1<<35+pol*8+k),
			TriggerState:       socTriggerStates[r.weighted(socTriggerWeights)],
			CustomEventID:      pick(&r, socCustomEvents),
		}
		switch ev.TriggerState {
		case "NORMAL", "PAUSED", "BLOCKED":
			t := time.UnixMilli(so.g.nowMs + int64(r.between(3600, 60*86400))*1000).UTC()
			ev.NextEventTime = &t
		}
		out = append(out, ev)
	}
	return out
}

func (so *socotra) initFailed() {
	n := max(so.nPol/15, 25)
	for f := 0; f < n; f++ {
		r := newRNG(so.g.seed, streamSocotraFailed, uint64(f))
		var d FailedJobDetails
		if r.chance(0.8) {
			pol := r.intn(so.nPol)
			loc := so.locator(kindSocPolicy, pol)
			d.TriggerName = fmt.Sprintf("%s-%s-%d", pick(&r, socCustomEvents), loc, r.between(1, 9))
			d.TriggerGroup = "policy:" + loc
		} else {
			d.TriggerName = fmt.Sprintf("%s-%d", pick(&r, socTenantJobs), f)
			d.TriggerGroup = "tenant:" + so.tenant
		}
		d.FailedJobState, d.FailureCount = "queued", r.between(1, 4)
		if r.chance(0.3) {
			d.FailedJobState, d.FailureCount = "quit", r.between(5, 12)
		}
		created := so.g.nowMs - int64(r.between(3600, 20*86400))*1000
		d.CreatedAt = time.UnixMilli(created).UTC()
		d.UpdatedAt = time.UnixMilli(min(created+int64(r.between(0, 86400))*1000, so.g.nowMs-60000)).UTC()
		so.failed = append(so.failed, d)
	}
	slices.SortStableFunc(so.failed, func(a, b FailedJobDetails) int { return a.CreatedAt.Compare(b.CreatedAt) })
}

// Handlers.

func (s *Server) socError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	writeJSON(w, status, SocotraError{HTTPStatus: status, Error: http.StatusText(status), Message: msg, Path: r.URL.Path, RequestID: s.requestID(r)})
}

// socTenant checks the tenant of the path; a foreign tenant is a 404.
func (s *Server) socTenant(w http.ResponseWriter, r *http.Request, tenant string) bool {
	if tenant != s.soc.tenant {
		s.socError(w, r, http.StatusNotFound, fmt.Sprintf("tenant %q not found", tenant))
		return false
	}
	return true
}

// socQuery is a validated events/list request.
type socQuery struct {
	pos        int // next stream position to examine; -1 = from startTimestamp
	start, end int64
	typ        string
	size       int
}

const socTokenVersion = 1

func (s *Server) encodeSocToken(q *socQuery, pos int) string {
	b := []byte{socTokenVersion}
	b = binary.AppendUvarint(b, uint64(pos))
	b = binary.AppendVarint(b, q.start)
	b = binary.AppendVarint(b, q.end)
	b = binary.AppendUvarint(b, uint64(q.size))
	b = append(b, q.typ...)
	b = binary.BigEndian.AppendUint64(b, s.mac(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) decodeSocToken(tok string) (socQuery, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 1+8 || b[0] != socTokenVersion {
		return socQuery{}, errors.New("malformed")
	}
	body, sum := b[:len(b)-8], binary.BigEndian.Uint64(b[len(b)-8:])
	if s.mac(body) != sum {
		return socQuery{}, errors.New("bad checksum")
	}
	var q socQuery
	rest := body[1:]
	pos, n := binary.Uvarint(rest)
	if n <= 0 || pos > 1<<40 {
		return socQuery{}, errors.New("malformed")
	}
	rest = rest[n:]
	if q.start, n = binary.Varint(rest); n <= 0 {
		return socQuery{}, errors.New("malformed")
	}
	rest = rest[n:]
	if q.end, n = binary.Varint(rest); n <= 0 {
		return socQuery{}, errors.New("malformed")
	}
	rest = rest[n:]
	size, n := binary.Uvarint(rest)
	if n <= 0 || size == 0 || size > socPageSizeMax {
		return socQuery{}, errors.New("malformed")
	}
	q.pos, q.size, q.typ = int(pos), int(size), string(rest[n:])
	return q, nil
}

// parseSocTime reads a datetime: RFC 3339, or unix milliseconds.
func parseSocTime(v string) (int64, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, fmt.Errorf("%q is not an ISO-8601 date-time", v)
	}
	return t.UnixMilli(), nil
}

func (s *Server) parseSocQuery(r *http.Request) (socQuery, error) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return socQuery{}, fmt.Errorf("malformed query string: %v", err)
	}
	if tok := vals.Get("pagingToken"); tok != "" {
		for _, p := range []string{"startTimestamp", "endTimestamp", "type", "pageSize"} {
			if vals.Has(p) {
				return socQuery{}, fmt.Errorf("pagingToken cannot be combined with %s", p)
			}
		}
		q, err := s.decodeSocToken(tok)
		if err != nil {
			return socQuery{}, errors.New("invalid pagingToken")
		}
		return q, nil
	}
	q := socQuery{pos: -1, size: socPageSize, typ: vals.Get("type")}
	if v := vals.Get("startTimestamp"); v != "" {
		if q.start, err = parseSocTime(v); err != nil {
			return q, fmt.Errorf("startTimestamp: %v", err)
		}
	}
	if v := vals.Get("endTimestamp"); v != "" {
		if q.end, err = parseSocTime(v); err != nil {
			return q, fmt.Errorf("endTimestamp: %v", err)
		}
		if q.start != 0 && q.end < q.start {
			return q, errors.New("endTimestamp is before startTimestamp")
		}
	}
	if v := vals.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return q, fmt.Errorf("pageSize must be a positive integer, got %q", v)
		}
		q.size = min(n, socPageSizeMax)
	}
	return q, nil
}

func socListEvents(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	if !s.socTenant(w, r, args[0]) {
		return
	}
	q, err := s.parseSocQuery(r)
	if err != nil {
		s.socError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	so := s.soc
	v := s.view()
	pos := q.pos
	if pos < 0 {
		pos = 0
		if q.start != 0 {
			pos = sort.Search(so.h, func(i int) bool { return so.streamMs(i) >= q.start })
		}
	}
	start := pos
	setHere(r, func() string { return s.encodeSocToken(&q, start) })
	events := make([]SocotraEvent, 0, min(q.size, 256))
	budget := s.scanBudget
	for ; pos < v.nSoc && budget > 0 && len(events) < q.size; pos++ {
		budget--
		if q.end != 0 && so.streamMs(pos)-socMaxLateMs > q.end {
			break // nothing later can be in the window
		}
		ts := so.timestampMs(pos)
		if (q.start != 0 && ts < q.start) || (q.end != 0 && ts > q.end) {
			continue
		}
		e := so.event(pos)
		if q.typ != "" && e.Type != q.typ {
			continue
		}
		events = append(events, e)
	}
	s.examined.Add(int64(s.scanBudget - budget))
	writeJSON(w, http.StatusOK, SocotraEventStream{PagingToken: s.encodeSocToken(&q, pos), Events: events})
}

func socGetEvent(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	if !s.socTenant(w, r, args[0]) {
		return
	}
	i, ok := s.soc.parseLocator(kindSocEvent, args[1])
	if !ok || i >= s.view().nSoc {
		s.socError(w, r, http.StatusNotFound, fmt.Sprintf("event %q not found", args[1]))
		return
	}
	writeJSON(w, http.StatusOK, s.soc.event(i))
}

func socRequestEvents(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	if !s.socTenant(w, r, args[0]) {
		return
	}
	so := s.soc
	n := s.view().nSoc
	first, ok := s.g.ids.parse(kindSocRequest, args[1])
	if ok {
		f, _ := so.request(first)
		ok = f == first && first < n
	}
	if !ok {
		s.socError(w, r, http.StatusNotFound, fmt.Sprintf("request %q not found", args[1]))
		return
	}
	_, end := so.request(first)
	out := []SocotraEvent{}
	for i := first; i < min(end, n); i++ {
		out = append(out, so.event(i))
	}
	writeJSON(w, http.StatusOK, out)
}

func socPolicySchedules(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	if !s.socTenant(w, r, args[0]) {
		return
	}
	pol, ok := s.soc.parseLocator(kindSocPolicy, args[1])
	if !ok || pol >= s.soc.nPol {
		s.socError(w, r, http.StatusNotFound, fmt.Sprintf("policy %q not found", args[1]))
		return
	}
	writeJSON(w, http.StatusOK, s.soc.schedules(pol))
}

// serveFailed answers the failed-job lists: the jobs keep() selects, by
// offset and count.
func (s *Server) serveFailed(w http.ResponseWriter, r *http.Request, keep func(d *FailedJobDetails) bool) {
	vals := r.URL.Query()
	offset, count := 0, socPageSize
	for _, p := range []struct {
		name string
		dst  *int
	}{{"offset", &offset}, {"count", &count}} {
		if v := vals.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				s.socError(w, r, http.StatusBadRequest, fmt.Sprintf("%s must be a non-negative integer, got %q", p.name, v))
				return
			}
			*p.dst = n
		}
	}
	if count == 0 {
		count = socPageSize
	}
	count = min(count, socCountMax)
	so := s.soc
	out := []FailedJobDetails{}
	so.mu.Lock()
	seen := 0
	for k := range so.failed {
		d := &so.failed[k]
		if !keep(d) {
			continue
		}
		if seen >= offset && len(out) < count {
			out = append(out, *d)
		}
		seen++
	}
	so.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func socFailedAll(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	if s.socTenant(w, r, args[0]) {
		s.serveFailed(w, r, func(*FailedJobDetails) bool { return true })
	}
}

func socFailedTenant(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	if s.socTenant(w, r, args[0]) {
		s.serveFailed(w, r, func(d *FailedJobDetails) bool { return strings.HasPrefix(d.TriggerGroup, "tenant:") })
	}
}

func socFailedPolicy(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	if !s.socTenant(w, r, args[0]) {
		return
	}
	pol, ok := s.soc.parseLocator(kindSocPolicy, args[1])
	if !ok || pol >= s.soc.nPol {
		s.socError(w, r, http.StatusNotFound, fmt.Sprintf("policy %q not found", args[1]))
		return
	}
	group := "policy:" + args[1]
	s.serveFailed(w, r, func(d *FailedJobDetails) bool { return d.TriggerGroup == group })
}

func socFailedByState(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	if !s.socTenant(w, r, args[0]) {
		return
	}
	state := args[1]
	if state != "queued" && state != "quit" {
		s.socError(w, r, http.StatusBadRequest, fmt.Sprintf("failedJobState must be queued or quit, got %q", state))
		return
	}
	s.serveFailed(w, r, func(d *FailedJobDetails) bool { return d.FailedJobState == state })
}

// socRemoveFailed removes a failed job named by the request body: resume
// re-queues its trigger, delete discards it; either way it leaves the list.
func (s *Server) socRemoveFailed(w http.ResponseWriter, r *http.Request, tenant string) {
	if !s.socTenant(w, r, tenant) {
		return
	}
	var req FailedJobRequest
	if err := decodeBody(r, &req); err != nil {
		s.socError(w, r, http.StatusBadRequest, "invalid FailedJobRequest: "+err.Error())
		return
	}
	if req.TriggerName == "" || req.TriggerGroup == "" {
		s.socError(w, r, http.StatusBadRequest, "triggerName and triggerGroup are required")
		return
	}
	so := s.soc
	so.mu.Lock()
	k := slices.IndexFunc(so.failed, func(d FailedJobDetails) bool {
		return d.TriggerName == req.TriggerName && d.TriggerGroup == req.TriggerGroup
	})
	if k >= 0 {
		so.failed = slices.Delete(so.failed, k, k+1)
	}
	so.mu.Unlock()
	if k < 0 {
		s.socError(w, r, http.StatusNotFound, fmt.Sprintf("no failed job %q in group %q", req.TriggerName, req.TriggerGroup))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func socResumeFailed(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	s.socRemoveFailed(w, r, args[0])
}

func socDeleteFailed(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	s.socRemoveFailed(w, r, args[0])
}
