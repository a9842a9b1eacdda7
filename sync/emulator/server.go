package emulator

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// Options configure an emulated tenant. The zero value is usable.
type Options struct {
	Seed        int64
	Scale       int       // number of integration jobs; 0 means 20,000
	Token       string    // bearer token to require; "" means DefaultToken
	Now         time.Time // newest data is just before Now; zero means DefaultNow
	PageSizeMax int       // largest page served; 0 means 100

	// Faults injects failures into the answers to GET requests (see
	// ParseFaults); SetFaults changes them while the server runs.
	Faults Faults
	// SlowDelay is how long the "slow" fault holds a request; 0 means 2 s.
	SlowDelay time.Duration

	// Live makes the data set grow after Now: LiveRate new jobs a second
	// (0 means 5), with their tasks and actions, which start RUNNING and
	// settle as time passes, plus new system events and Socotra events.
	// Growth is laid out up to LiveHorizon after Now (0 means 24 hours, and
	// at most a million jobs); beyond it the data set stops growing.
	Live        bool
	LiveRate    float64
	LiveHorizon time.Duration
	// Clock is the emulator's current time. Nil means Now, and in live mode
	// Now plus the wall-clock time since New. Server.Advance moves it on.
	Clock func() time.Time

	// SocotraTenant is the tenant locator of the Socotra events API; ""
	// means a UUID derived from Seed.
	SocotraTenant string

	// Hostile appends a hostile string (internal/hostile) to every
	// free-text string of every successful answer (hostile.go).
	Hostile bool
}

const (
	// DefaultScale is the number of jobs when Options.Scale is 0.
	DefaultScale = 20000
	// DefaultToken is the bearer token when Options.Token is empty.
	DefaultToken = "opsdeck-emulator-token"
	// defaultPageSize is used when page_size is absent or 0 (§1.1).
	defaultPageSize = 100
	// defaultScanBudget bounds the records one list request examines, so a
	// filter that matches nothing cannot make one request walk a million
	// records; the page then comes back short (maybe empty) with has_more.
	defaultScanBudget = 200000
)

// DefaultNow anchors the data when Options.Now is zero, so output does not
// depend on the wall clock.
var DefaultNow = time.Date(2026, time.January, 5, 9, 30, 0, 0, time.UTC)

// Server is an emulated Veza tenant with a Socotra events API beside it;
// it implements http.Handler and is safe for concurrent use.
type Server struct {
	g           *gen
	token       string
	now         time.Time
	pageSizeMax int
	scanBudget  int
	macKey      uint64
	reqIDKey    uint64

	countsOnce sync.Once
	counts     [3][numStates]int // tasks, actions, jobs per state

	permMu sync.Mutex
	perms  map[permKey]sortedPerm

	examined atomic.Int64 // records looked at by list requests, for tests

	clock func() time.Time
	skew  atomic.Int64 // nanoseconds added by Advance

	faultState
	ev    *eventLog
	autos *automationStore
	soc   *socotra
}

// New builds a server. It only lays out the data set (a few bytes per
// record); records are generated when requested.
func New(opts Options) *Server {
	if opts.Scale <= 0 {
		opts.Scale = DefaultScale
	}
	opts.Scale = min(opts.Scale, 1<<31-1)
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.Now.IsZero() {
		opts.Now = DefaultNow
	}
	opts.Now = opts.Now.UTC()
	if opts.PageSizeMax <= 0 {
		opts.PageSizeMax = defaultPageSize
	}
	r := newRNG(opts.Seed, streamMAC, 0)
	s := &Server{
		g:           newGen(opts.Seed, opts.Scale, opts.Now),
		token:       opts.Token,
		now:         opts.Now,
		pageSizeMax: opts.PageSizeMax,
		scanBudget:  defaultScanBudget,
		macKey:      r.next(),
		reqIDKey:    r.next(),
		perms:       map[permKey]sortedPerm{},
		clock:       opts.Clock,
	}
	if s.clock == nil {
		now := opts.Now
		s.clock = func() time.Time { return now }
		if opts.Live {
			start := time.Now()
			s.clock = func() time.Time { return now.Add(time.Since(start)) }
		}
	}
	s.initFaults(opts)
	var live *liveConfig
	if opts.Live {
		live = newLiveConfig(opts)
		s.g.extend(live)
	}
	s.ev = newEventLog(s.g, live)
	s.autos = newAutomationStore(s.g)
	s.soc = newSocotra(s.g, opts.SocotraTenant, live)
	return s
}

// Now returns the emulator's current time: Options.Clock (or Now) plus
// whatever Advance added, never before Options.Now.
func (s *Server) Now() time.Time {
	t := s.clock().Add(time.Duration(s.skew.Load())).UTC()
	if t.Before(s.now) {
		return s.now
	}
	return t
}

// Advance moves the emulator's clock on by d, so tests of live mode need
// not sleep.
func (s *Server) Advance(d time.Duration) { s.skew.Add(int64(d)) }

// Counts returns the number of tasks, actions and jobs (in live mode, those
// visible now).
func (s *Server) Counts() (tasks, actions, jobs int) {
	v := s.view()
	return v.nTasks, v.nActions, v.nJobs
}

// StateCounts returns the number of jobs in each state (states with no jobs
// are left out); in live mode, of the jobs visible now.
func (s *Server) StateCounts() map[string]int {
	c := *s.stateCounts()
	v := s.view()
	s.g.liveStates(&v, &c)
	out := map[string]int{}
	for st, n := range c[entJobs] {
		if n > 0 {
			out[veza.States[st]] = n
		}
	}
	return out
}

func (s *Server) stateCounts() *[3][numStates]int {
	s.countsOnce.Do(func() {
		var t taskSk
		for i := 0; i < s.g.nTasks; i++ {
			s.g.skel(i, &t)
			s.counts[entTasks][t.fate]++
			for p := 0; p < t.na; p++ {
				s.counts[entActions][t.acts[p].state]++
			}
			for j := 0; j < t.nj; j++ {
				s.counts[entJobs][t.jobs[j].state]++
			}
		}
	})
	return &s.counts
}

// Running is a Server listening on a real socket.
type Running struct {
	URL           string // http://127.0.0.1:port
	Token         string
	SocotraTenant string // tenant locator of the Socotra API under URL+"/event/"
	Server        *Server

	srv  *http.Server
	done chan struct{}
	once sync.Once
	err  error
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves until
// ctx is done or Close is called.
func Start(ctx context.Context, addr string, opts Options) (*Running, error) {
	s := New(opts)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	run := &Running{
		URL:           "http://" + ln.Addr().String(),
		Token:         s.token,
		SocotraTenant: s.SocotraTenant(),
		Server:        s,
		srv:           &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second},
		done:          make(chan struct{}),
	}
	go func() {
		defer close(run.done)
		_ = run.srv.Serve(ln) // always non-nil; Close reports shutdown problems
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = run.Close()
		case <-run.done:
		}
	}()
	return run, nil
}

// Close stops the listener and drops open connections. It is safe to call
// more than once.
func (r *Running) Close() error {
	r.once.Do(func() {
		if err := r.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.err = err
		}
		<-r.done
	})
	return r.err
}

// API prefixes. Every path the emulator serves is in the routes table below
// (API-CONTRACT.md §1.2-1.7 and §2; the [assumed] paths live only here).
const (
	lcm      = "/api/private/lifecycle_management"
	events   = "/api/preview/events"
	autos    = "/api/preview/awf/automations"
	socEvent = "/event/{tenant}/events"
)

// Which error envelope a route answers with.
const (
	apiVeza = iota
	apiSocotra
)

// route is one entry of the routing table. Pattern segments in braces
// capture one path segment, URL-unescaped (action names may contain '/').
type route struct {
	method  string
	pattern string
	handle  func(s *Server, w http.ResponseWriter, r *http.Request, args []string)
	list    *listShape // the envelope of a paged list, for faults; nil otherwise
	export  bool       // the system-events export: the "exhausted" fault applies
	segs    []string
	api     int
}

// listShape describes a paged list's envelope, so that faults can rewrite
// pages without knowing the records.
type listShape struct {
	items      string // key of the array of records
	tokenParam string // query parameter that carries the page token
	tokenField string // key of the next-page token in the response
	hasMore    bool   // the envelope has "has_more"
}

var (
	vezaList   = &listShape{items: "values", tokenParam: "page_token", tokenField: "next_page_token", hasMore: true}
	exportList = &listShape{items: "events", tokenParam: "page_token", tokenField: "next_page_token", hasMore: true}
	socList    = &listShape{items: "events", tokenParam: "pagingToken", tokenField: "pagingToken"}
)

// routes is the one routing table of the emulator.
var routes = func() []route {
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	rs := []route{
		// Veza Lifecycle Management activity log, §1.2-1.4.
		{method: get, pattern: lcm + "/policy_tasks", handle: listTasks, list: vezaList},
		{method: get, pattern: lcm + "/policy_tasks/{id}", handle: getTask},
		{method: get, pattern: lcm + "/action_events", handle: listActions, list: vezaList},
		{method: get, pattern: lcm + "/action_events/{policy_task}/{action_name}", handle: getAction},
		{method: get, pattern: lcm + "/action_job_events", handle: listJobs, list: vezaList},
		{method: get, pattern: lcm + "/action_job_events/{job_id}", handle: getJob},
		// LCM writes and async exports, §1.2-1.5 (lcm_write.go, lcm_export.go).
		{method: post, pattern: lcm + "/policy_tasks/{id}:restart", handle: restartTask},
		{method: post, pattern: lcm + "/policy_tasks:unblock", handle: unblockTasks},
		{method: post, pattern: lcm + "/action_job_events/{job_id}:push", handle: pushJobResult},
		{method: post, pattern: lcm + "/policy_tasks:export", handle: exportTasks},
		{method: post, pattern: lcm + "/action_events:export", handle: exportActions},
		{method: post, pattern: lcm + "/action_job_events:export", handle: exportJobs},
		{method: get, pattern: lcm + "/exports/{export_id}", handle: exportStatus},
		{method: get, pattern: lcm + "/exports/{export_id}/download", handle: downloadExport},

		// Veza system events, §1.6.
		{method: get, pattern: events, handle: listEvents, list: vezaList},
		{method: get, pattern: events + "/export", handle: exportEvents, list: exportList, export: true},

		// Veza access-review Automations, §1.7.
		{method: get, pattern: autos, handle: listAutomations},
		{method: post, pattern: autos, handle: createAutomation},
		{method: put, pattern: autos, handle: updateAutomation},
		{method: get, pattern: autos + "/{id}", handle: getAutomation},
		{method: del, pattern: autos + "/{id}", handle: deleteAutomation},
		{method: post, pattern: autos + ":attach", handle: attachAutomation},
		{method: post, pattern: autos + ":detach", handle: detachAutomation},
		{method: get, pattern: autos + ":attached/{workflow_id}", handle: attachedAutomations},

		// Socotra events API, §2 (seed 004).
		{method: get, pattern: socEvent + "/list", handle: socListEvents, list: socList},
		{method: get, pattern: socEvent + "/request/{locator}", handle: socRequestEvents},
		{method: get, pattern: socEvent + "/schedules/policy/{policy}", handle: socPolicySchedules},
		{method: get, pattern: socEvent + "/schedules/policy/{policy}/failed/list", handle: socFailedPolicy},
		{method: get, pattern: socEvent + "/schedules/tenant/failed/list", handle: socFailedTenant},
		{method: get, pattern: socEvent + "/schedules/failed/list", handle: socFailedAll},
		{method: get, pattern: socEvent + "/schedules/failed/{state}/list", handle: socFailedByState},
		{method: post, pattern: socEvent + "/schedules/failed/resume", handle: socResumeFailed},
		{method: del, pattern: socEvent + "/schedules/failed", handle: socDeleteFailed},
		{method: get, pattern: socEvent + "/{locator}", handle: socGetEvent},
	}
	for i := range rs {
		rs[i].segs = strings.Split(strings.TrimPrefix(rs[i].pattern, "/"), "/")
		if strings.HasPrefix(rs[i].pattern, "/event/") {
			rs[i].api = apiSocotra
		}
	}
	return rs
}()

// match reports whether the escaped path segments fit rt, and the
// unescaped values of its captures. A capture may carry a literal suffix
// ("{id}:restart"), which must end the segment and is not captured.
func (rt *route) match(segs []string) ([]string, bool) {
	if len(segs) != len(rt.segs) {
		return nil, false
	}
	var args []string
	for i, p := range rt.segs {
		if strings.HasPrefix(p, "{") {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				return nil, false
			}
			if _, suffix, _ := strings.Cut(p, "}"); suffix != "" {
				var ok bool
				if v, ok = strings.CutSuffix(v, suffix); !ok || v == "" {
					return nil, false
				}
			}
			args = append(args, v)
		} else if segs[i] != p {
			// A client may escape the ':' of "automations:attach".
			if v, err := url.PathUnescape(segs[i]); err != nil || v != p {
				return nil, false
			}
		}
	}
	return args, true
}

// ServeHTTP authenticates, routes, and answers with the API's JSON.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	api := apiVeza
	if strings.HasPrefix(r.URL.Path, "/event/") {
		api = apiSocotra
	}
	if !s.authorized(r) {
		if api == apiSocotra {
			w.Header().Set("WWW-Authenticate", `Bearer realm="socotra"`)
			s.socError(w, r, http.StatusUnauthorized, "missing or invalid bearer token")
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="veza"`)
		s.writeError(w, r, http.StatusUnauthorized, "Unauthenticated", "missing or invalid API key")
		return
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	var allow []string
	for i := range routes {
		rt := &routes[i]
		args, ok := rt.match(segs)
		if !ok {
			continue
		}
		if rt.method != r.Method {
			if !slices.Contains(allow, rt.method) {
				allow = append(allow, rt.method)
			}
			continue
		}
		if rt.method == http.MethodGet {
			s.serveWithFaults(rt, w, r, args)
		} else {
			rt.handle(s, w, r, args)
		}
		return
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		msg := fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path)
		if api == apiSocotra {
			s.socError(w, r, http.StatusMethodNotAllowed, msg)
			return
		}
		s.writeError(w, r, http.StatusMethodNotAllowed, "Unimplemented", msg)
		return
	}
	if api == apiSocotra {
		s.socError(w, r, http.StatusNotFound, fmt.Sprintf("no API route for %s", r.URL.Path))
		return
	}
	s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("no API route for %s", r.URL.Path))
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.token)) == 1
}

// requestID is a random-looking id that is a function of the request, so
// that responses stay byte-identical across runs.
func (s *Server) requestID(r *http.Request) string {
	h := s.reqIDKey
	for _, part := range []string{r.Method, r.URL.RequestURI()} {
		for i := 0; i < len(part); i++ {
			h = mix64(h ^ uint64(part[i]))
		}
		h = mix64(h ^ 0xff)
	}
	return fmt.Sprintf("%016x%016x", h, mix64(h^s.reqIDKey))
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string, violations ...veza.FieldViolation) {
	body := veza.ErrorBody{
		Code:      code,
		Message:   msg,
		RequestID: s.requestID(r),
		Timestamp: s.Now().Format(time.RFC3339Nano),
	}
	if len(violations) > 0 {
		body.Details = []veza.ErrorDetail{{Type: "type.googleapis.com/google.rpc.BadRequest", FieldViolations: violations}}
	}
	writeJSON(w, status, body)
}

// badRequest answers 400 InvalidArgument naming the offending parameter.
func (s *Server) badRequest(w http.ResponseWriter, r *http.Request, field, desc string) {
	s.writeError(w, r, http.StatusBadRequest, "InvalidArgument", "invalid "+field+": "+desc,
		veza.FieldViolation{Field: field, Description: desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"code":"Internal","message":"encoding failed"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func getTask(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	v := s.view()
	i, ok := s.g.ids.parse(kindTask, args[0])
	if !ok || i >= v.nTasks {
		s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("workflow task %q not found", args[0]))
		return
	}
	var m taskMat
	s.g.matAt(i, v.at, &m)
	writeJSON(w, http.StatusOK, veza.ValueEnvelope[veza.Task]{Value: m.task})
}

func getAction(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	v := s.view()
	if i, ok := s.g.ids.parse(kindTask, args[0]); ok && i < v.nTasks {
		var m taskMat
		s.g.matAt(i, v.at, &m)
		for p := 0; p < m.sk.na && m.sk.a0+p < v.nActions; p++ {
			if m.acts[p].ActionName == args[1] {
				writeJSON(w, http.StatusOK, veza.ValueEnvelope[veza.Action]{Value: m.acts[p]})
				return
			}
		}
	}
	s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("action %q of workflow task %q not found", args[1], args[0]))
}

func getJob(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	v := s.view()
	k, ok := s.g.ids.parse(kindJob, args[0])
	if !ok || k >= v.nJobs {
		s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("job %q not found", args[0]))
		return
	}
	var m taskMat
	s.g.matAt(s.g.taskOfJob(k), v.at, &m)
	local := k - m.sk.j0
	job := m.jobs[local]
	job.Request, job.Result = s.g.payload(&m, local)
	writeJSON(w, http.StatusOK, veza.ValueEnvelope[veza.Job]{Value: job})
}
