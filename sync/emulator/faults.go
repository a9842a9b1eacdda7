package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault kinds, in the order ParseFaults draws them.
const (
	fault429       = iota // 429 ResourceExhausted with Retry-After: 1
	fault500              // 500 Internal
	fault503              // 503 Unavailable
	faultReset            // the connection is closed without an answer
	faultSlow             // the answer comes after Options.SlowDelay
	faultTruncated        // a 200 whose body stops halfway
	faultEmptyPage        // an empty page with has_more and a token for the same position
	faultDup              // the page starts with the last 1-3 records of the previous page
	faultHTML             // 502 with an HTML body, as a proxy in front of the API sends
	faultBadJSON          // a 200 whose envelope has the wrong types ("has_more":"yes")
	faultExhausted        // system-events export only: 429 "ResourceExhaused" [sic]
	numFaults
)

var faultNames = [numFaults]string{"429", "500", "503", "reset", "slow", "truncated", "emptypage", "dup", "html", "badjson", "exhausted"}

// FaultKinds returns the fault names ParseFaults accepts.
func FaultKinds() []string { return slices.Clone(faultNames[:]) }

// Faults is the probability of each kind of fault per GET request. The zero
// value injects nothing.
type Faults struct {
	p [numFaults]float64
}

// ParseFaults parses a comma-separated list of kind=probability, e.g.
// "429=0.05,500=0.02,503=0.02,reset=0.01,slow=0.01,truncated=0.01,emptypage=0.02,dup=0.01".
// Kinds are those of FaultKinds; the probabilities must be in [0, 1] and
// sum to at most 1. An empty spec means no faults.
//
// Faults apply to GET requests only. Every such request draws at most one
// fault from a PRNG seeded with (Options.Seed, the number of GET requests
// drawn so far), so the same requests in the same order meet the same
// faults. emptypage, dup and badjson only apply to paged lists; exhausted
// only to the system-events export; a fault that does not apply to a
// request is not injected. "reset" needs a real connection (Start): a
// ResponseWriter that cannot be hijacked gets panic(http.ErrAbortHandler),
// which net/http turns into a dropped connection.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	seen := map[string]bool{}
	total := 0.0
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok {
			return Faults{}, fmt.Errorf("fault %q: want kind=probability", part)
		}
		k := slices.Index(faultNames[:], name)
		if k < 0 {
			return Faults{}, fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(faultNames[:], ", "))
		}
		if seen[name] {
			return Faults{}, fmt.Errorf("fault %q given twice", name)
		}
		seen[name] = true
		p, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
			return Faults{}, fmt.Errorf("fault %s: probability %q is not a number between 0 and 1", name, strings.TrimSpace(val))
		}
		f.p[k] = p
		total += p
	}
	if total > 1+1e-9 {
		return Faults{}, fmt.Errorf("fault probabilities sum to %g, more than 1", total)
	}
	return f, nil
}

// String renders f in the syntax of ParseFaults ("" for no faults).
func (f Faults) String() string {
	var parts []string
	for k, p := range f.p {
		if p > 0 {
			parts = append(parts, faultNames[k]+"="+strconv.FormatFloat(p, 'g', -1, 64))
		}
	}
	return strings.Join(parts, ",")
}

// Prob returns the probability of the named fault (0 for unknown names).
func (f Faults) Prob(kind string) float64 {
	if k := slices.Index(faultNames[:], kind); k >= 0 {
		return f.p[k]
	}
	return 0
}

func (f *Faults) enabled() bool {
	return f != nil && slices.ContainsFunc(f.p[:], func(p float64) bool { return p > 0 })
}

// faultState is the Server's fault injection: the current probabilities,
// the draw counter, what was injected, and the last records of recent pages
// for "dup".
type faultState struct {
	faults    atomic.Pointer[Faults]
	faultSeq  atomic.Uint64
	injected  [numFaults]atomic.Int64
	slowDelay time.Duration
	faultSeed int64
	hostile   bool
	tails     tailCache
}

const defaultSlowDelay = 2 * time.Second

func (s *Server) initFaults(opts Options) {
	f := opts.Faults
	s.faults.Store(&f)
	s.slowDelay = opts.SlowDelay
	if s.slowDelay <= 0 {
		s.slowDelay = defaultSlowDelay
	}
	s.faultSeed = opts.Seed
	s.hostile = opts.Hostile
}

// SetFaults replaces the fault probabilities (spec as for ParseFaults) while
// the server runs; "" turns faults off. The draw counter carries on.
func (s *Server) SetFaults(spec string) error {
	f, err := ParseFaults(spec)
	if err != nil {
		return err
	}
	s.faults.Store(&f)
	return nil
}

// Faults returns the fault probabilities in force.
func (s *Server) Faults() Faults { return *s.faults.Load() }

// FaultCounts returns how many faults of each kind were injected so far
// (kinds never injected are left out).
func (s *Server) FaultCounts() map[string]int {
	out := map[string]int{}
	for k := range s.injected {
		if n := s.injected[k].Load(); n > 0 {
			out[faultNames[k]] = int(n)
		}
	}
	return out
}

// drawFault picks the fault for one GET request, or -1, and the PRNG the
// fault may draw its details from.
func (s *Server) drawFault(rt *route) (int, rng) {
	f := s.faults.Load()
	if !f.enabled() {
		return -1, rng{}
	}
	r := newRNG(s.faultSeed, streamFault, s.faultSeq.Add(1))
	u := r.float()
	for k, p := range f.p {
		if u < p {
			if applies(k, rt) {
				return k, r
			}
			return -1, r
		}
		u -= p
	}
	return -1, r
}

func applies(k int, rt *route) bool {
	switch k {
	case faultEmptyPage, faultDup, faultBadJSON:
		return rt.list != nil
	case faultExhausted:
		return rt.export
	}
	return true
}

// reqInfo is how a list handler tells the fault layer where its page
// started (a token that resumes at the same position, for "emptypage").
type reqInfo struct{ here string }

type reqInfoKey struct{}

// setHere records the token for the position a page starts at, when the
// fault layer asks for it.
func setHere(r *http.Request, tok func() string) {
	if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		ri.here = tok()
	}
}

// serveWithFaults answers a GET request, injecting a fault if one is drawn.
func (s *Server) serveWithFaults(rt *route, w http.ResponseWriter, r *http.Request, args []string) {
	kind, fr := s.drawFault(rt)
	f := s.faults.Load()
	// Hostile mode rewrites every answer: take the buffered path.
	record := rt.list != nil && f.p[faultDup] > 0 || s.hostile
	count := func() { s.injected[kind].Add(1) }
	switch kind {
	case -1:
		if !record {
			rt.handle(s, w, r, args)
			return
		}
	case fault429:
		count()
		w.Header().Set("Retry-After", "1")
		s.apiError(rt, w, r, http.StatusTooManyRequests, "ResourceExhausted", "rate limit exceeded; retry after 1 second")
		return
	case fault500:
		count()
		s.apiError(rt, w, r, http.StatusInternalServerError, "Internal", "internal error")
		return
	case fault503:
		count()
		s.apiError(rt, w, r, http.StatusServiceUnavailable, "Unavailable", "the service is temporarily unavailable")
		return
	case faultExhausted:
		count()
		s.writeError(w, r, http.StatusTooManyRequests, "ResourceExhaused", "export rate limit exceeded; wait one minute before retrying")
		return
	case faultHTML:
		count()
		body := "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(body))
		return
	case faultReset:
		count()
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // a RST, not a polite FIN
				}
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // net/http drops the connection
	case faultSlow:
		count()
		t := time.NewTimer(s.slowDelay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		if !record {
			rt.handle(s, w, r, args)
			return
		}
		kind = -1
	}

	// The remaining faults rewrite a successful answer: run the handler
	// into a buffer first.
	ri := &reqInfo{}
	bw := &bufWriter{h: http.Header{}}
	rt.handle(s, bw, r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri)), args)
	body := bw.buf.Bytes()
	ok := bw.status == http.StatusOK
	if ok && record && rt.list != nil {
		s.tails.record(rt.list, body)
	}
	if ok && s.hostile {
		body = hostileJSON(body)
	}
	if ok {
		switch kind {
		case faultEmptyPage:
			if ri.here != "" {
				count()
				body = emptyPage(rt.list, ri.here)
			}
		case faultDup:
			if tok := r.URL.Query().Get(rt.list.tokenParam); tok != "" {
				if out, done := s.tails.prepend(rt.list, tok, body, 1+fr.intn(3)); done {
					count()
					body = out
				}
			}
		case faultBadJSON:
			if out, done := badJSON(rt.list, body); done {
				count()
				body = out
			}
		}
	}
	for k, v := range bw.h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(bw.status)
	if kind == faultTruncated && ok && len(body) > 1 {
		count()
		_, _ = w.Write(body[:len(body)/2])
		return // net/http closes the connection: fewer bytes than Content-Length
	}
	_, _ = w.Write(body)
}

// apiError writes an error in the envelope of the route's API.
func (s *Server) apiError(rt *route, w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if rt.api == apiSocotra {
		s.socError(w, r, status, msg)
		return
	}
	s.writeError(w, r, status, code, msg)
}

// bufWriter is a ResponseWriter that keeps the answer for rewriting.
type bufWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufWriter) Header() http.Header { return b.h }

func (b *bufWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.buf.Write(p)
}

func emptyPage(sh *listShape, here string) []byte {
	tok, _ := json.Marshal(here)
	if sh.hasMore {
		return []byte(`{"` + sh.items + `":[],"has_more":true,"` + sh.tokenField + `":` + string(tok) + `}`)
	}
	return []byte(`{"` + sh.tokenField + `":` + string(tok) + `,"` + sh.items + `":[]}`)
}

// badJSON gives the envelope a field of the wrong type: "has_more":"yes",
// or a number for the token where there is no has_more.
func badJSON(sh *listShape, body []byte) ([]byte, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil, false
	}
	if sh.hasMore {
		m["has_more"] = json.RawMessage(`"yes"`)
	} else {
		m[sh.tokenField] = json.RawMessage(`12345`)
	}
	out, err := json.Marshal(m)
	return out, err == nil
}

// tailCache remembers the last records of recent pages by the token that
// follows them, so "dup" can repeat them at the start of the next page.
type tailCache struct {
	mu   sync.Mutex
	m    map[string][]json.RawMessage
	ring []string
	next int
}

const tailCacheSize = 512

func splitPage(sh *listShape, body []byte) (items []json.RawMessage, token string, ok bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || json.Unmarshal(m[sh.items], &items) != nil {
		return nil, "", false
	}
	if json.Unmarshal(m[sh.tokenField], &token) != nil {
		return nil, "", false
	}
	return items, token, true
}

func (c *tailCache) record(sh *listShape, body []byte) {
	items, tok, ok := splitPage(sh, body)
	if !ok || tok == "" || len(items) == 0 {
		return // an empty page keeps the tail of the page before it
	}
	tail := make([]json.RawMessage, 0, 3)
	for _, it := range items[max(0, len(items)-3):] {
		tail = append(tail, append(json.RawMessage(nil), it...))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string][]json.RawMessage{}
		c.ring = make([]string, tailCacheSize)
	}
	if _, have := c.m[tok]; !have {
		if old := c.ring[c.next]; old != "" {
			delete(c.m, old)
		}
		c.ring[c.next] = tok
		c.next = (c.next + 1) % tailCacheSize
	}
	c.m[tok] = tail
}

// prepend puts the last n records of the page that handed out tok at the
// start of body's records.
func (c *tailCache) prepend(sh *listShape, tok string, body []byte, n int) ([]byte, bool) {
	c.mu.Lock()
	tail := c.m[tok]
	c.mu.Unlock()
	if len(tail) == 0 {
		return nil, false
	}
	tail = tail[max(0, len(tail)-n):]
	key := []byte(`"` + sh.items + `":[`)
	at := bytes.Index(body, key)
	if at < 0 {
		return nil, false
	}
	at += len(key)
	var b bytes.Buffer
	b.Grow(len(body) + 1024)
	b.Write(body[:at])
	for i, it := range tail {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	if body[at] != ']' {
		b.WriteByte(',')
	}
	b.Write(body[at:])
	return b.Bytes(), true
}
