package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// sharedScale is the size of the tenant most tests read from: the default,
// or less under the race detector, which makes every record ten times dearer.
var sharedScale = map[bool]int{false: DefaultScale, true: 8000}[raceEnabled]

var shared = sync.OnceValue(func() *Server { return New(Options{Seed: 42, Scale: sharedScale}) })

func TestStatesMatchVeza(t *testing.T) {
	want := map[uint8]string{stInitial: "INITIAL", stRunning: "RUNNING", stCompleted: "COMPLETED", stErrored: "ERRORED",
		stSkipped: "SKIPPED", stScheduled: "SCHEDULED", stPending: "PENDING", stBlocked: "BLOCKED", stAbandoned: "ABANDONED"}
	if len(veza.States) != int(numStates) {
		t.Fatalf("veza has %d states, emulator %d", len(veza.States), numStates)
	}
	for st, name := range want {
		if veza.States[st] != name {
			t.Errorf("state %d is %s in veza, %s here", st, veza.States[st], name)
		}
	}
}

func TestDeterministic(t *testing.T) {
	opts := Options{Seed: 7, Scale: 5000}
	a, b := New(opts), New(opts)
	other := New(Options{Seed: 8, Scale: 5000})
	first := page[veza.Job](t, a, jobsPath, vals("page_size", "3"))
	requests := []struct {
		path   string
		params url.Values
	}{
		{tasksPath, nil},
		{actionsPath, vals("order_by", "completed_at desc")},
		{jobsPath, vals("details", "true")},
		{jobsPath, vals("filter", `state eq "ERRORED"`, "details", "true", "page_size", "50")},
		{jobsPath + "/" + first.Values[1].JobID, nil},
		{jobsPath, vals("filter", `state eq`)}, // error envelopes too
	}
	for _, rq := range requests {
		q := url.Values{}
		for k, v := range rq.params {
			q[k] = v
		}
		for pageNo := 0; pageNo < 4; pageNo++ {
			ra, rb := do(t, a, rq.path, q), do(t, b, rq.path, q)
			if !bytes.Equal(ra.Body.Bytes(), rb.Body.Bytes()) {
				t.Fatalf("%s?%s page %d differs between two servers with the same options", rq.path, q.Encode(), pageNo)
			}
			if ra.Code == http.StatusOK && bytes.Equal(ra.Body.Bytes(), do(t, other, rq.path, q).Body.Bytes()) && rq.path != jobsPath+"/"+first.Values[1].JobID {
				t.Fatalf("%s?%s page %d is the same for another seed", rq.path, q.Encode(), pageNo)
			}
			var p veza.ListPage[json.RawMessage]
			if json.Unmarshal(ra.Body.Bytes(), &p) != nil || !p.HasMore {
				break
			}
			q.Set("page_token", p.NextPageToken)
		}
	}
	// A different anchor moves every timestamp.
	c := New(Options{Seed: 7, Scale: 5000, Now: DefaultNow.Add(time.Hour)})
	if bytes.Equal(do(t, a, tasksPath, nil).Body.Bytes(), do(t, c, tasksPath, nil).Body.Bytes()) {
		t.Error("Now does not affect the data")
	}
}

func TestPagingAllJobs(t *testing.T) {
	s := shared()
	_, _, n := s.Counts()
	if n != sharedScale {
		t.Fatalf("Counts jobs = %d, want %d", n, sharedScale)
	}
	jobs, pages := all[veza.Job](t, s, jobsPath, vals("page_size", "100"))
	if len(jobs) != n || pages != n/100 {
		t.Fatalf("got %d jobs in %d pages, want %d in %d", len(jobs), pages, n, n/100)
	}
	seen := make(map[string]bool, n)
	for k, j := range jobs {
		if seen[j.JobID] {
			t.Fatalf("job %s repeated", j.JobID)
		}
		seen[j.JobID] = true
		if j.JobID != s.g.ids.uuid(kindJob, k) {
			t.Fatalf("job %d out of order", k)
		}
		if j.CreatedAt == nil || (k > 0 && !j.CreatedAt.After(*jobs[k-1].CreatedAt)) {
			t.Fatalf("created_at of job %d not after its predecessor", k)
		}
		if j.Request != nil || j.Result != nil {
			t.Fatal("payload without details=true")
		}
	}
	// Newest first is the exact reverse.
	desc := page[veza.Job](t, s, jobsPath, vals("order_by", "created_at desc"))
	for i, j := range desc.Values {
		if j.JobID != jobs[n-1-i].JobID {
			t.Fatal("created_at desc is not the reverse of the default order")
		}
	}
	tail := page[veza.Job](t, s, jobsPath, vals("order_by", "created_at desc", "page_size", "1",
		"page_token", s.encodeToken(entJobs, listQuery{desc: true}, n-1)))
	if len(tail.Values) != 1 || tail.Values[0].JobID != jobs[0].JobID || tail.HasMore {
		t.Fatal("the last page of created_at desc is not the first job")
	}
}

func TestPageSize(t *testing.T) {
	s := shared()
	for _, tc := range []struct {
		size string
		want int
	}{{"", 100}, {"0", 100}, {"1", 1}, {"37", 37}, {"100", 100}, {"101", 100}, {"100000", 100}} {
		p := page[veza.Task](t, s, tasksPath, vals("page_size", tc.size))
		if len(p.Values) != tc.want || !p.HasMore {
			t.Errorf("page_size=%q: %d values, has_more=%v; want %d", tc.size, len(p.Values), p.HasMore, tc.want)
		}
	}
	small := New(Options{Seed: 1, Scale: 300, PageSizeMax: 10})
	p := page[veza.Job](t, small, jobsPath, vals("page_size", "50"))
	if len(p.Values) != 10 {
		t.Errorf("PageSizeMax 10: got %d values", len(p.Values))
	}
}

func TestFilteredPaging(t *testing.T) {
	s := shared()
	want := s.StateCounts()
	total := 0
	for _, n := range want {
		total += n
	}
	if total != sharedScale {
		t.Fatalf("StateCounts sums to %d", total)
	}
	if want["ERRORED"] < sharedScale/25 || want["ERRORED"] > sharedScale/8 {
		t.Errorf("%d ERRORED jobs of %d; want about 5-10%%", want["ERRORED"], sharedScale)
	}
	for _, st := range []string{"ERRORED", "RUNNING", "abandoned"} {
		jobs, _ := all[veza.Job](t, s, jobsPath, vals("filter", `state eq "`+st+`"`, "page_size", "100"))
		if len(jobs) != want[strings.ToUpper(st)] {
			t.Errorf("state eq %q: %d jobs, StateCounts says %d", st, len(jobs), want[strings.ToUpper(st)])
		}
		for _, j := range jobs {
			if j.State != strings.ToUpper(st) {
				t.Fatalf("filter %s returned a %s job", st, j.State)
			}
		}
	}

	// A small scan budget yields short and empty pages with has_more, and
	// the same result.
	tight := New(Options{Seed: 42, Scale: sharedScale})
	tight.scanBudget = 300
	jobs, pages := all[veza.Job](t, tight, jobsPath, vals("filter", `state eq "ERRORED"`))
	if len(jobs) != want["ERRORED"] {
		t.Errorf("with a scan budget: %d ERRORED jobs, want %d", len(jobs), want["ERRORED"])
	}
	if pages < sharedScale/300 {
		t.Errorf("scan budget not applied: %d pages", pages)
	}
	sawEmpty := false
	q := vals("filter", `workflow_name eq "Joiner - Interns" and state eq "ERRORED"`)
	for {
		p := page[veza.Job](t, tight, jobsPath, q)
		if len(p.Values) == 0 && p.HasMore {
			sawEmpty = true
		}
		if !p.HasMore {
			break
		}
		q.Set("page_token", p.NextPageToken)
	}
	if !sawEmpty {
		t.Error("a rare filter with a small budget never returned an empty page with has_more")
	}

	// The token carries the query: a follow-up without the filter resumes it.
	p1 := page[veza.Job](t, s, jobsPath, vals("filter", `state eq "ERRORED"`, "page_size", "5"))
	p2 := page[veza.Job](t, s, jobsPath, vals("page_token", p1.NextPageToken, "page_size", "5"))
	for _, j := range p2.Values {
		if j.State != "ERRORED" {
			t.Fatal("page_token without filter lost the filter")
		}
	}
}

func TestFilterByParent(t *testing.T) {
	s := shared()
	tasks := page[veza.Task](t, s, tasksPath, vals("page_size", "100", "filter", `state eq "ERRORED"`))
	for n, task := range tasks.Values[:4] {
		var want []string
		i, _ := s.g.ids.parse(kindTask, task.ID)
		var m taskMat
		s.g.mat(i, &m)
		for j := 0; j < m.sk.nj; j++ {
			want = append(want, m.jobs[j].JobID)
		}
		for _, f := range []string{`policy_task eq "` + task.ID + `"`, `state pr and policy_task eq "` + task.ID + `"`,
			`policy_task eq "` + task.ID + `" or job_id eq "nope"`} {
			for _, order := range []string{"created_at asc", "created_at desc", "completed_at asc"} {
				if order == "completed_at asc" && n > 0 {
					continue // a full scan per page: once is enough
				}
				jobs, _ := all[veza.Job](t, s, jobsPath, vals("filter", f, "order_by", order, "page_size", "2"))
				var got []string
				for _, j := range jobs {
					got = append(got, j.JobID)
					if j.PolicyTask != task.ID {
						t.Fatalf("%s: job of another task", f)
					}
				}
				if strings.HasSuffix(order, "desc") {
					slices.Reverse(got)
				}
				slices.Sort(got)
				w := slices.Clone(want)
				slices.Sort(w)
				if !slices.Equal(got, w) {
					t.Fatalf("%s order %s: got %d jobs, want %d", f, order, len(got), len(w))
				}
			}
		}
		acts, _ := all[veza.Action](t, s, actionsPath, vals("filter", `policy_task eq "`+task.ID+`"`))
		if len(acts) != m.sk.na || acts[len(acts)-1].State != "ERRORED" {
			t.Fatalf("actions of an ERRORED task: %d, want %d ending in ERRORED", len(acts), m.sk.na)
		}
	}
	one := page[veza.Job](t, s, jobsPath, vals("page_size", "1"))
	got := page[veza.Job](t, s, jobsPath, vals("filter", `job_id eq "`+one.Values[0].JobID+`"`))
	if len(got.Values) != 1 || got.HasMore || got.Values[0].JobID != one.Values[0].JobID {
		t.Fatalf("job_id eq: %+v", got)
	}
	none := page[veza.Job](t, s, jobsPath, vals("filter", `policy_task eq "00000000-0000-4000-8000-000000000000"`))
	if len(none.Values) != 0 || none.HasMore {
		t.Fatal("unknown policy_task matched something")
	}
}

func TestOrderBy(t *testing.T) {
	s := New(Options{Seed: 3, Scale: 1500})
	// All the time fields any list can be ordered by.
	type times struct {
		TCreatedAt  *time.Time `json:"t_created_at"`
		CreatedAt   *time.Time `json:"created_at"`
		StartedAt   *time.Time `json:"started_at"`
		CompletedAt *time.Time `json:"completed_at"`
	}
	check := func(path, order string, want int) {
		t.Helper()
		items, _ := all[times](t, s, path, vals("order_by", order))
		if len(items) != want {
			t.Fatalf("%s order_by %s: %d items, want %d", path, order, len(items), want)
		}
		desc := strings.HasSuffix(strings.ToLower(order), "desc")
		var prev int64 = -1
		if desc {
			prev = 1 << 62
		}
		for _, it := range items {
			tm := map[string]*time.Time{"t_created_at": it.TCreatedAt, "created_at": it.CreatedAt,
				"started_at": it.StartedAt, "completed_at": it.CompletedAt}[strings.Fields(order)[0]]
			var ms int64 // unset sorts first ascending, last descending
			if tm != nil {
				ms = tm.UnixMilli()
			}
			if (!desc && ms < prev) || (desc && ms > prev) {
				t.Fatalf("%s order_by %s: out of order", path, order)
			}
			prev = ms
		}
	}
	nt, na, nj := s.Counts()
	for _, f := range []string{"started_at", "completed_at", "t_created_at"} {
		check(tasksPath, f+" asc", nt)
		check(tasksPath, f+" desc", nt)
	}
	for _, f := range []string{"started_at", "completed_at"} {
		check(actionsPath, f, na)
		check(actionsPath, f+" DESC", na)
	}
	for _, f := range []string{"created_at", "started_at", "completed_at"} {
		check(jobsPath, f+" asc", nj)
		check(jobsPath, f+" desc", nj)
	}
}

func TestDetails(t *testing.T) {
	s := shared()
	plain := do(t, s, jobsPath, vals("page_size", "20"))
	if bytes.Contains(plain.Body.Bytes(), []byte(`"request"`)) || bytes.Contains(plain.Body.Bytes(), []byte(`"result"`)) {
		t.Fatal("list without details=true has payloads")
	}
	for _, d := range []string{"false", "0"} {
		if !bytes.Equal(do(t, s, jobsPath, vals("page_size", "20", "details", d)).Body.Bytes(), plain.Body.Bytes()) {
			t.Errorf("details=%s differs from no details", d)
		}
	}
	detailed := page[veza.Job](t, s, jobsPath, vals("page_size", "100", "details", "true", "filter", `state eq "ERRORED"`))
	for _, j := range detailed.Values {
		var req veza.JobRequest
		var res veza.JobResult
		if err := json.Unmarshal(j.Request, &req); err != nil {
			t.Fatalf("request: %v", err)
		}
		if err := json.Unmarshal(j.Result, &res); err != nil {
			t.Fatalf("result: %v", err)
		}
		if req.DataSource.ID == "" || req.DataSource.Type == "" || req.DataSource.Config == nil || len(req.InputEntities) == 0 ||
			req.ActionType != j.ActionType || req.InputEntities[0].Attributes == nil {
			t.Fatalf("incomplete request: %s", j.Request)
		}
		if len(res.ErrorMessages) == 0 || res.AnyChanges {
			t.Fatalf("ERRORED job without error message: %s", j.Result)
		}
		one := do(t, s, jobsPath+"/"+j.JobID, nil)
		var env veza.ValueEnvelope[veza.Job]
		if one.Code != http.StatusOK || json.Unmarshal(one.Body.Bytes(), &env) != nil {
			t.Fatalf("GET job: %d %s", one.Code, one.Body.String())
		}
		a, _ := json.Marshal(env.Value)
		b, _ := json.Marshal(j)
		if !bytes.Equal(a, b) {
			t.Fatalf("GET job differs from list with details:\n%s\n%s", a, b)
		}
	}
	// GET one always has the payloads, whatever the state.
	for _, j := range page[veza.Job](t, s, jobsPath, vals("page_size", "5")).Values {
		var env veza.ValueEnvelope[veza.Job]
		_ = json.Unmarshal(do(t, s, jobsPath+"/"+j.JobID, nil).Body.Bytes(), &env)
		if len(env.Value.Request) == 0 || len(env.Value.Result) == 0 {
			t.Fatal("GET job without request/result")
		}
	}
	if rec := do(t, s, jobsPath, vals("details", "maybe")); rec.Code != http.StatusBadRequest {
		t.Errorf("details=maybe: %d", rec.Code)
	}
}

func TestAuth(t *testing.T) {
	s := New(Options{Seed: 1, Scale: 100, Token: "s3cret"})
	for _, auth := range []string{"", "Bearer", "Bearer wrong", "Basic s3cret", "Bearer s3cret2", "s3cret"} {
		rec := doAuth(t, s, tasksPath, nil, auth)
		decodeError(t, rec, http.StatusUnauthorized, "Unauthenticated")
		if strings.Contains(rec.Body.String(), "s3cret") {
			t.Error("the token leaks into the error")
		}
	}
	// Unknown paths are not revealed to strangers either.
	decodeError(t, doAuth(t, s, "/nope", nil, ""), http.StatusUnauthorized, "Unauthenticated")
	for _, auth := range []string{"Bearer s3cret", "bearer s3cret"} {
		if rec := doAuth(t, s, tasksPath, nil, auth); rec.Code != http.StatusOK {
			t.Errorf("%q: %d", auth, rec.Code)
		}
	}
	if New(Options{}).token != DefaultToken {
		t.Error("empty Token does not default")
	}
}

func TestBadRequests(t *testing.T) {
	s := shared()
	p1 := page[veza.Job](t, s, jobsPath, vals("filter", `state eq "ERRORED"`))
	tampered := []byte(p1.NextPageToken)
	tampered[len(tampered)/2] ^= 1
	if tampered[len(tampered)/2] == '-'^1 || tampered[len(tampered)/2] == '_'^1 {
		tampered[len(tampered)/2] = 'A'
	}
	tasksTok := page[veza.Task](t, s, tasksPath, nil).NextPageToken
	cases := []struct {
		name, path string
		params     url.Values
		field      string
		in         string // expected in the description
	}{
		{"syntax", jobsPath, vals("filter", `state eq`), "filter", "col"},
		{"unbalanced", jobsPath, vals("filter", `(state eq "ERRORED"`), "filter", ""},
		{"unknown field", jobsPath, vals("filter", `colour eq "red"`), "filter", "colour"},
		{"operator not allowed", jobsPath, vals("filter", `state co "ERR"`), "filter", "state"},
		{"bad enum", jobsPath, vals("filter", `state eq "BROKEN"`), "filter", ""},
		{"bad time", jobsPath, vals("filter", `created_at gt "yesterday"`), "filter", ""},
		{"local-only field", jobsPath, vals("filter", `error_message co "LDAP"`), "filter", "error_message"},
		{"task id is local-only", tasksPath, vals("filter", `id eq "x"`), "filter", "id"},
		{"jobs field on tasks", tasksPath, vals("filter", `job_id eq "x"`), "filter", "job_id"},
		{"garbage token", jobsPath, vals("page_token", "garbage!"), "page_token", ""},
		{"base64 garbage token", jobsPath, vals("page_token", "AAAAAAAAAAAAAAAAAAAA"), "page_token", ""},
		{"tampered token", jobsPath, vals("page_token", string(tampered)), "page_token", ""},
		{"token of another list", jobsPath, vals("page_token", tasksTok), "page_token", ""},
		{"token of another filter", jobsPath, vals("page_token", p1.NextPageToken, "filter", `state eq "COMPLETED"`), "page_token", "filter"},
		{"token of another order", jobsPath, vals("page_token", p1.NextPageToken, "order_by", "completed_at desc"), "page_token", "order_by"},
		{"order field", jobsPath, vals("order_by", "identity_name asc"), "order_by", "identity_name"},
		{"order direction", jobsPath, vals("order_by", "created_at sideways"), "order_by", "sideways"},
		{"order words", jobsPath, vals("order_by", "created_at asc please"), "order_by", ""},
		{"t_created_at on jobs", jobsPath, vals("order_by", "t_created_at"), "order_by", ""},
		{"created_at on actions", actionsPath, vals("order_by", "created_at"), "order_by", ""},
		{"negative page size", jobsPath, vals("page_size", "-1"), "page_size", ""},
		{"non-numeric page size", jobsPath, vals("page_size", "ten"), "page_size", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := decodeError(t, do(t, s, tc.path, tc.params), http.StatusBadRequest, "InvalidArgument")
			if len(e.Details) != 1 || e.Details[0].Type != "type.googleapis.com/google.rpc.BadRequest" ||
				len(e.Details[0].FieldViolations) != 1 {
				t.Fatalf("details: %+v", e.Details)
			}
			fv := e.Details[0].FieldViolations[0]
			if fv.Field != tc.field || fv.Description == "" || !strings.Contains(fv.Description, tc.in) {
				t.Errorf("field violation %+v, want field %q mentioning %q", fv, tc.field, tc.in)
			}
		})
	}
	// The same bad request gets the same request id; another gets another.
	a := decodeError(t, do(t, s, jobsPath, vals("filter", "x")), 400, "InvalidArgument")
	b := decodeError(t, do(t, s, jobsPath, vals("filter", "x")), 400, "InvalidArgument")
	c := decodeError(t, do(t, s, jobsPath, vals("filter", "y")), 400, "InvalidArgument")
	if a.RequestID != b.RequestID || a.RequestID == c.RequestID {
		t.Error("request ids are not a deterministic function of the request")
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	s := shared()
	job := page[veza.Job](t, s, jobsPath, vals("page_size", "1")).Values[0]
	task := page[veza.Task](t, s, tasksPath, vals("page_size", "1")).Values[0]
	for _, path := range []string{
		"/", "/api/private/lifecycle_management", lcm + "/nope", lcm + "/policy_tasks/" + task.ID + "/extra",
		jobsPath + "/00000000-0000-4000-8000-000000000000",
		jobsPath + "/not-a-uuid",
		jobsPath + "/" + strings.ToUpper(job.JobID),
		jobsPath + "/" + task.ID, // a task id is no job id
		tasksPath + "/" + job.JobID,
		actionsPath + "/" + task.ID + "/No%20Such%20Action",
		actionsPath + "/" + job.JobID + "/" + url.PathEscape(job.ActionName),
		New(Options{Seed: 43}).g.ids.uuid(kindJob, 0), // another tenant's id
	} {
		if !strings.HasPrefix(path, "/") {
			path = jobsPath + "/" + path
		}
		decodeError(t, do(t, s, path, nil), http.StatusNotFound, "NotFound")
	}
	if rec := do(t, s, tasksPath+"/"+task.ID, nil); rec.Code != http.StatusOK {
		t.Errorf("GET task: %d", rec.Code)
	}
	for _, method := range []string{http.MethodPost, http.MethodDelete, http.MethodPut} {
		req, _ := http.NewRequest(method, jobsPath, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+s.token)
		rec := httptestRecorder(s, req)
		decodeError(t, rec, http.StatusMethodNotAllowed, "Unimplemented")
		if rec.Header().Get("Allow") != "GET" {
			t.Errorf("Allow: %q", rec.Header().Get("Allow"))
		}
	}
}

func TestGetActionEscapedName(t *testing.T) {
	s := shared()
	acts, _ := all[veza.Action](t, s, actionsPath, vals("filter", `action_name eq "Remove Okta/AD Group Memberships"`, "page_size", "100"))
	if len(acts) == 0 {
		t.Fatal("no action with a slash in its name")
	}
	for _, a := range acts[:min(len(acts), 5)] {
		rec := do(t, s, actionsPath+"/"+a.PolicyTask+"/"+url.PathEscape(a.ActionName), nil)
		want, _ := json.Marshal(veza.ValueEnvelope[veza.Action]{Value: a})
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), want) {
			t.Fatalf("GET action %q: %d %s", a.ActionName, rec.Code, rec.Body.String())
		}
		// Unescaped, the slash splits the name into two segments.
		decodeError(t, do(t, s, actionsPath+"/"+a.PolicyTask+"/Remove%20Okta/AD%20Group%20Memberships", nil), http.StatusNotFound, "NotFound")
	}
	// A plain name with spaces.
	a := page[veza.Action](t, s, actionsPath, vals("page_size", "1")).Values[0]
	if rec := do(t, s, actionsPath+"/"+a.PolicyTask+"/"+url.PathEscape(a.ActionName), nil); rec.Code != http.StatusOK {
		t.Fatalf("GET action %q: %d", a.ActionName, rec.Code)
	}
}

func TestStartClose(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run, err := Start(ctx, "127.0.0.1:0", Options{Seed: 5, Scale: 1000, Token: "t0k"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Token != "t0k" || !strings.HasPrefix(run.URL, "http://127.0.0.1:") {
		t.Fatalf("Running %+v", run)
	}
	req, _ := http.NewRequest(http.MethodGet, run.URL+jobsPath+"?page_size=7&details=true", nil)
	req.Header.Set("Authorization", "Bearer "+run.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var p veza.ListPage[veza.Job]
	if resp.StatusCode != 200 || json.Unmarshal(body, &p) != nil || len(p.Values) != 7 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if err := run.Close(); err != nil {
		t.Fatal(err)
	}
	if err := run.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("still serving after Close")
	}

	// Cancelling the context stops the server too.
	ctx2, cancel2 := context.WithCancel(context.Background())
	run2, err := Start(ctx2, "127.0.0.1:0", Options{Scale: 10})
	if err != nil {
		t.Fatal(err)
	}
	cancel2()
	<-run2.done
	if _, err := Start(context.Background(), "256.0.0.1:0", Options{}); err == nil {
		t.Fatal("bad address accepted")
	}
}

func TestTinyScales(t *testing.T) {
	for _, scale := range []int{1, 2, 3, 7, 50, 333} {
		s := New(Options{Seed: int64(scale), Scale: scale})
		nt, na, nj := s.Counts()
		if nj != scale || nt < 1 || na < nt {
			t.Fatalf("scale %d: counts %d/%d/%d", scale, nt, na, nj)
		}
		jobs, _ := all[veza.Job](t, s, jobsPath, vals("page_size", "3", "details", "true"))
		tasks, _ := all[veza.Task](t, s, tasksPath, vals("order_by", "completed_at desc"))
		acts, _ := all[veza.Action](t, s, actionsPath, vals("filter", `jobs_started eq 0 or jobs_started eq 1 or jobs_started pr`))
		if len(jobs) != nj || len(tasks) != nt || len(acts) != na {
			t.Fatalf("scale %d: listed %d/%d/%d, want %d/%d/%d", scale, len(tasks), len(acts), len(jobs), nt, na, nj)
		}
		for _, j := range jobs {
			if rec := do(t, s, jobsPath+"/"+j.JobID, nil); rec.Code != http.StatusOK {
				t.Fatalf("scale %d: GET job: %d", scale, rec.Code)
			}
		}
		total := 0
		for _, n := range s.StateCounts() {
			total += n
		}
		if total != scale {
			t.Fatalf("scale %d: StateCounts sum %d", scale, total)
		}
	}
}
