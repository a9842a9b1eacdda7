package sync

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// fakeVeza is a small list server we control completely, for the edge cases
// the emulator does not stage: expiring tokens, a garbage page, rows that
// change state between runs. Page tokens are keyset positions (sort time and
// id of the last row sent) stamped with an epoch; bumping the epoch expires
// every token handed out so far.
type fakeVeza struct {
	mu      gosync.Mutex
	rows    map[string][]fakeRow // route -> rows
	epoch   int
	reqs    []*http.Request
	garbage map[string]int // route -> 1-based request number to answer with garbage
	hook    func(route string, n int, r *http.Request)
	counts  map[string]int
	run     runTag
}

// runTag stamps each request with the test's current run number, so a
// request a cancelled run sent (and the server only handles later) is not
// counted against the next run.
type runTag struct{ n atomic.Int32 }

const runHeader = "X-Test-Run"

func (t *runTag) current() string { return strconv.Itoa(int(t.n.Load())) }

func (t *runTag) transport() http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set(runHeader, t.current())
		return http.DefaultTransport.RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type fakeRow struct {
	id   string
	key  time.Time // sort field; zero = null
	obj  map[string]any
	json []byte // exact bytes served
}

var fakeRoutes = map[string]string{
	"/api/private/lifecycle_management/action_job_events": "jobs",
	"/api/private/lifecycle_management/action_events":     "actions",
	"/api/private/lifecycle_management/policy_tasks":      "tasks",
}

var sortFields = map[string]string{"jobs": "created_at", "actions": "started_at", "tasks": "t_created_at"}

var fakeBase = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

var fakeStates = []string{"COMPLETED", "COMPLETED", "COMPLETED", "ERRORED", "SKIPPED", "ABANDONED", "RUNNING", "PENDING"}

// newFake makes nJobs jobs (a few share a timestamp, to exercise ties at
// page and watermark boundaries), nJobs/3 actions and nJobs/10 tasks.
func newFake(nJobs int) *fakeVeza {
	f := &fakeVeza{rows: map[string][]fakeRow{}, garbage: map[string]int{}, counts: map[string]int{}}
	for i := range nJobs {
		f.addJob(i, fakeBase.Add(time.Duration(i/3)*time.Second), fakeStates[i%len(fakeStates)])
	}
	for i := range nJobs / 3 {
		t := fakeBase.Add(time.Duration(i) * time.Second)
		obj := map[string]any{"state": fakeStates[i%len(fakeStates)], "policy_task": fmt.Sprintf("task-%d", i/2),
			"action_name": fmt.Sprintf("Step %d / provision", i%2), "action_type": "SYNC_IDENTITIES",
			"started_at": t.Format(time.RFC3339Nano), "jobs_started": 3}
		if i%5 == 0 {
			obj["error_message"] = fmt.Sprintf("action %d failed", i)
		}
		f.put("actions", fmt.Sprintf("task-%d|Step %d", i/2, i%2), t, obj)
	}
	for i := range nJobs / 10 {
		t := fakeBase.Add(time.Duration(i) * 2 * time.Second)
		obj := map[string]any{"id": fmt.Sprintf("task-%d", i), "state": fakeStates[i%len(fakeStates)],
			"t_created_at": t.Format(time.RFC3339Nano), "policy_version_number": 4, "priority": 2,
			"messages": []string{fmt.Sprintf("message %d", i)}}
		f.put("tasks", fmt.Sprintf("task-%d", i), t, obj)
	}
	return f
}

func (f *fakeVeza) addJob(i int, t time.Time, state string) {
	id := fmt.Sprintf("job-%05d", i)
	obj := map[string]any{
		"job_id": id, "state": state, "policy_task": fmt.Sprintf("task-%d", i/6), "action_name": "Step 0",
		"identity_name": "Zoë \x1b[31mEvil\x1b[0m", "created_at": t.Format(time.RFC3339Nano),
		"started_at": t.Add(time.Second).Format(time.RFC3339Nano), "events_created": i % 4,
		"vendor_extra": map[string]any{"n": i},
		"request":      map[string]any{"data_source": map[string]any{"type": "okta"}, "action_type": "SYNC_IDENTITIES"},
		"result":       map[string]any{"error_messages": []string{fmt.Sprintf("boom %d", i)}, "any_changes": false},
	}
	if state == "COMPLETED" {
		obj["result"] = map[string]any{"error_messages": []string{}, "any_changes": true}
		obj["completed_at"] = t.Add(2 * time.Second).Format(time.RFC3339Nano)
	}
	f.put("jobs", id, t, obj)
}

// put adds or replaces a row, keeping each route sorted by (key, id).
func (f *fakeVeza) put(route, id string, key time.Time, obj map[string]any) {
	b, _ := json.Marshal(obj)
	r := fakeRow{id: id, key: key, obj: obj, json: b}
	rows := f.rows[route]
	for i := range rows {
		if rows[i].id == id {
			rows = append(rows[:i], rows[i+1:]...)
			break
		}
	}
	rows = append(rows, r)
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].key.Equal(rows[j].key) {
			return rows[i].key.Before(rows[j].key)
		}
		return rows[i].id < rows[j].id
	})
	f.rows[route] = rows
}

// setState changes a row's state in place (same sort key).
func (f *fakeVeza) setState(route, id, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rows[route] {
		if r.id == id {
			r.obj["state"] = state
			f.put(route, id, r.key, r.obj)
			return
		}
	}
	panic("no row " + id)
}

func (f *fakeVeza) requests(route string) []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*http.Request
	for _, r := range f.reqs {
		if fakeRoutes[r.URL.Path] == route {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeVeza) resetRequests() {
	f.mu.Lock()
	f.run.n.Add(1)
	f.reqs = nil
	f.counts = map[string]int{}
	f.mu.Unlock()
}

var geFilter = regexp.MustCompile(`^(\w+) ge "([^"]+)"$`)

func fakeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(veza.ErrorBody{Code: code, Message: msg, RequestID: "fake"})
}

func (f *fakeVeza) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, ok := fakeRoutes[r.URL.Path]
	if !ok {
		fakeError(w, 404, "NotFound", "no route "+r.URL.Path)
		return
	}
	if r.Header.Get("Authorization") != "Bearer fake-token" {
		fakeError(w, 401, "Unauthenticated", "bad token")
		return
	}
	f.mu.Lock()
	if r.Header.Get(runHeader) == f.run.current() {
		f.reqs = append(f.reqs, r.Clone(r.Context()))
		f.counts[route]++
	}
	n := f.counts[route]
	hook := f.hook
	garbage := f.garbage[route] == n
	f.mu.Unlock()
	if hook != nil {
		hook(route, n, r)
	}
	if garbage {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"values":[{"job_id":"x"`) // truncated mid-object
		return
	}

	q := r.URL.Query()
	field := sortFields[route]
	if ob := q.Get("order_by"); ob != field+" asc" {
		fakeError(w, 400, "InvalidArgument", "unsupported order_by "+ob)
		return
	}
	var since time.Time
	if fl := q.Get("filter"); fl != "" {
		m := geFilter.FindStringSubmatch(fl)
		if m == nil || m[1] != field {
			fakeError(w, 400, "InvalidArgument", "unsupported filter "+fl)
			return
		}
		t, err := time.Parse(time.RFC3339Nano, m[2])
		if err != nil {
			fakeError(w, 400, "InvalidArgument", "bad time")
			return
		}
		since = t
	}
	size := 100
	if s := q.Get("page_size"); s != "" {
		size, _ = strconv.Atoi(s)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var afterKey time.Time
	afterID := ""
	if tok := q.Get("page_token"); tok != "" {
		parts := strings.SplitN(tok, "|", 3)
		if len(parts) != 3 || parts[0] != strconv.Itoa(f.epoch) {
			fakeError(w, 400, "InvalidArgument", "invalid page_token")
			return
		}
		ns, _ := strconv.ParseInt(parts[1], 10, 64)
		afterKey, afterID = time.Unix(0, ns).UTC(), parts[2]
	}
	var page []fakeRow
	more := false
	for _, row := range f.rows[route] {
		if !since.IsZero() && (row.key.IsZero() || row.key.Before(since)) {
			continue
		}
		if afterID != "" && (row.key.Before(afterKey) || row.key.Equal(afterKey) && row.id <= afterID) {
			continue
		}
		if len(page) == size {
			more = true
			break
		}
		page = append(page, row)
	}
	var b strings.Builder
	b.WriteString(`{"values":[`)
	for i, row := range page {
		if i > 0 {
			b.WriteByte(',')
		}
		js := row.json
		if route == "jobs" && q.Get("details") != "true" {
			obj := map[string]any{}
			for k, v := range row.obj {
				if k != "request" && k != "result" {
					obj[k] = v
				}
			}
			js, _ = json.Marshal(obj)
		}
		b.Write(js)
	}
	tok := ""
	if more {
		last := page[len(page)-1]
		tok = fmt.Sprintf("%d|%d|%s", f.epoch, last.key.UnixNano(), last.id)
	}
	fmt.Fprintf(&b, `],"has_more":%t,"next_page_token":%q}`, more, tok)
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, b.String())
}
