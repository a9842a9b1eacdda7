package emulator

import (
	"encoding/json"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// TestConsistency reads the whole default tenant through the API and checks
// that tasks, actions and jobs tell one story.
func TestConsistency(t *testing.T) {
	s := shared()
	nt, na, nj := s.Counts()
	tasks, _ := all[veza.Task](t, s, tasksPath, nil)
	actions, _ := all[veza.Action](t, s, actionsPath, nil)
	jobs, _ := all[veza.Job](t, s, jobsPath, nil)
	errored, _ := all[veza.Job](t, s, jobsPath, vals("filter", `state eq "ERRORED"`, "details", "true"))
	if len(tasks) != nt || len(actions) != na || len(jobs) != nj {
		t.Fatalf("listed %d/%d/%d, Counts says %d/%d/%d", len(tasks), len(actions), len(jobs), nt, na, nj)
	}
	errText := map[string]string{}
	for _, j := range errored {
		var res veza.JobResult
		if err := json.Unmarshal(j.Result, &res); err != nil || len(res.ErrorMessages) == 0 || res.ErrorMessages[0] == "" {
			t.Fatalf("ERRORED job %s has no error message: %s", j.JobID, j.Result)
		}
		errText[j.JobID] = res.ErrorMessages[0]
	}

	type key struct{ task, name string }
	taskByID := map[string]*veza.Task{}
	for i := range tasks {
		taskByID[tasks[i].ID] = &tasks[i]
	}
	actsOf := map[string][]*veza.Action{}
	actByKey := map[key]*veza.Action{}
	for i := range actions {
		a := &actions[i]
		k := key{a.PolicyTask, a.ActionName}
		if actByKey[k] != nil {
			t.Fatalf("action %q appears twice in task %s", a.ActionName, a.PolicyTask)
		}
		actByKey[k] = a
		actsOf[a.PolicyTask] = append(actsOf[a.PolicyTask], a)
	}
	jobsOf := map[key][]*veza.Job{}
	for i := range jobs {
		j := &jobs[i]
		k := key{j.PolicyTask, j.ActionName}
		if actByKey[k] == nil {
			t.Fatalf("job %s belongs to no action", j.JobID)
		}
		jobsOf[k] = append(jobsOf[k], j)
	}

	now := DefaultNow
	oldest := now.Add(-window - quietTail - time.Minute)
	inWindow := func(what string, tm *time.Time) {
		if tm != nil && (tm.After(now) || tm.Before(oldest)) {
			t.Fatalf("%s %v outside the 30 days before Now", what, tm)
		}
	}
	notBefore := func(what string, a, b *time.Time) { // b >= a when both are set
		if a != nil && b != nil && b.Before(*a) {
			t.Fatalf("%s: %v before %v", what, b, a)
		}
	}
	settled := map[string]bool{"COMPLETED": true, "ERRORED": true, "SKIPPED": true, "ABANDONED": true}
	checkDone := func(what, state string, completed *time.Time) {
		if settled[state] != (completed != nil) {
			t.Fatalf("%s in state %s has completed_at=%v", what, state, completed)
		}
	}

	for _, a := range actions {
		task := taskByID[a.PolicyTask]
		if task == nil {
			t.Fatalf("action %q of unknown task %s", a.ActionName, a.PolicyTask)
		}
		if a.PolicyID != task.PolicyID || a.WorkflowName != task.Workflow || a.IdentityID != task.IdentityID ||
			a.IdentityName != task.IdentityName || a.ExtractionEvent != task.ExtractionEvent {
			t.Fatalf("action %q disagrees with its task", a.ActionName)
		}
		js := jobsOf[key{a.PolicyTask, a.ActionName}]
		if a.JobsStarted != len(js) {
			t.Fatalf("action %q: jobs_started=%d, %d jobs", a.ActionName, a.JobsStarted, len(js))
		}
		states := map[string]int{}
		changes := false
		firstErr := ""
		for _, j := range js {
			states[j.State]++
			changes = changes || j.AnyChanges
			if j.State == "ERRORED" && firstErr == "" {
				firstErr = errText[j.JobID]
			}
			if j.PolicyID != a.PolicyID || j.WorkflowName != a.WorkflowName || j.IdentityID != a.IdentityID ||
				j.IdentityName != a.IdentityName || j.ActionType != a.ActionType || j.ExtractionEvent != a.ExtractionEvent {
				t.Fatalf("job %s disagrees with its action", j.JobID)
			}
			if (j.EventSource == "ACCESS_PLAN") != (j.ActionType == "ACCESS_PLAN") ||
				(j.EventSource == "POLICY" && j.EventSourceID != j.PolicyID) {
				t.Fatalf("job %s: event source %s %s", j.JobID, j.EventSource, j.EventSourceID)
			}
			notBefore("job created before its action started", a.StartedAt, j.CreatedAt)
			notBefore("job started before created", j.CreatedAt, j.StartedAt)
			notBefore("job completed before started", j.StartedAt, j.CompletedAt)
			notBefore("action completed before its job", j.CompletedAt, a.CompletedAt)
			inWindow("job created_at", j.CreatedAt)
			inWindow("job completed_at", j.CompletedAt)
			checkDone("job "+j.JobID, j.State, j.CompletedAt)
			if (j.State == "COMPLETED" || j.State == "ERRORED" || j.State == "RUNNING" || j.State == "SKIPPED") != (j.StartedAt != nil) {
				t.Fatalf("job %s in state %s has started_at=%v", j.JobID, j.State, j.StartedAt)
			}
		}
		if changes != a.AnyChanges {
			t.Fatalf("action %q any_changes=%v, jobs say %v", a.ActionName, a.AnyChanges, changes)
		}
		only := func(allowed ...string) {
			for st := range states {
				if !slices.Contains(allowed, st) {
					t.Fatalf("%s action %q has a %s job", a.State, a.ActionName, st)
				}
			}
		}
		switch a.State {
		case "ERRORED":
			if states["ERRORED"] == 0 || a.ErrorMessage != firstErr {
				t.Fatalf("ERRORED action %q: %d ERRORED jobs, error_message %q, first job error %q", a.ActionName, states["ERRORED"], a.ErrorMessage, firstErr)
			}
			only("ERRORED", "COMPLETED")
		case "COMPLETED":
			only("COMPLETED", "SKIPPED")
		case "RUNNING":
			only("COMPLETED", "RUNNING", "PENDING")
		default:
			only(a.State)
		}
		if a.State != "ERRORED" && a.ErrorMessage != "" {
			t.Fatalf("%s action has an error message", a.State)
		}
		notBefore("action started before its task", task.StartedAt, a.StartedAt)
		notBefore("task completed before its action", a.CompletedAt, task.CompletedAt)
		checkDone("action "+a.ActionName, a.State, a.CompletedAt)
	}

	for _, task := range tasks {
		acts := actsOf[task.ID]
		if len(acts) == 0 || len(acts) > maxActionsPerTask {
			t.Fatalf("task %s has %d actions", task.ID, len(acts))
		}
		changes := false
		var msgs []string
		for i, a := range acts {
			changes = changes || a.AnyChanges
			notBefore("actions out of order", acts[max(i-1, 0)].StartedAt, a.StartedAt)
			for _, j := range jobsOf[key{task.ID, a.ActionName}] {
				if m := errText[j.JobID]; m != "" && !slices.Contains(msgs, m) {
					msgs = append(msgs, m)
				}
			}
			if a.State == "ERRORED" && (task.State != "ERRORED" || i != len(acts)-1) {
				t.Fatalf("task %s is %s with an ERRORED action at %d of %d", task.ID, task.State, i, len(acts))
			}
		}
		if changes != task.AnyChanges {
			t.Fatalf("task %s any_changes=%v, actions say %v", task.ID, task.AnyChanges, changes)
		}
		switch task.State {
		case "ERRORED":
			if acts[len(acts)-1].State != "ERRORED" || len(task.Messages) == 0 || !slices.Equal(task.Messages, msgs[:min(len(msgs), 5)]) {
				t.Fatalf("ERRORED task %s: messages %q, job errors %q", task.ID, task.Messages, msgs)
			}
		case "COMPLETED":
			for _, a := range acts {
				if a.State != "COMPLETED" && a.State != "SKIPPED" {
					t.Fatalf("COMPLETED task with a %s action", a.State)
				}
			}
		}
		if task.State != "ERRORED" && len(task.Messages) > 0 {
			t.Fatalf("%s task with messages", task.State)
		}
		if task.TCreatedAt == nil || task.TUpdatedAt == nil {
			t.Fatal("task without t_created_at/t_updated_at")
		}
		notBefore("task started before created", task.TCreatedAt, task.StartedAt)
		notBefore("task updated before completed", task.CompletedAt, task.TUpdatedAt)
		checkDone("task "+task.ID, task.State, task.CompletedAt)
		inWindow("task t_created_at", task.TCreatedAt)
		if task.State == "SCHEDULED" && (task.ScheduledAt == nil || !task.ScheduledAt.After(now)) {
			t.Fatal("SCHEDULED task not scheduled in the future")
		}
	}

	// Coverage: every state, action type and the variety the UI must cope with.
	count := func(field func(i int) string, n int) map[string]int {
		m := map[string]int{}
		for i := 0; i < n; i++ {
			m[field(i)]++
		}
		return m
	}
	for what, m := range map[string]map[string]int{
		"task states":   count(func(i int) string { return tasks[i].State }, len(tasks)),
		"action states": count(func(i int) string { return actions[i].State }, len(actions)),
		"job states":    count(func(i int) string { return jobs[i].State }, len(jobs)),
	} {
		for _, st := range veza.States {
			if m[st] == 0 {
				t.Errorf("no %s in %s", st, what)
			}
		}
		if float64(m["COMPLETED"]) < 0.8*float64(sum(m)) {
			t.Errorf("%s: only %d of %d COMPLETED", what, m["COMPLETED"], sum(m))
		}
		if e := float64(m["ERRORED"]) / float64(sum(m)); e < 0.04 || e > 0.13 {
			t.Errorf("%s: %.1f%% ERRORED", what, 100*e)
		}
	}
	types := count(func(i int) string { return jobs[i].ActionType }, len(jobs))
	atypes := count(func(i int) string { return actions[i].ActionType }, len(actions))
	for _, at := range veza.ActionTypes {
		if atypes[at] == 0 {
			t.Errorf("no %s action", at)
		}
		if types[at] == 0 && at != "NONE" && at != "PAUSE" {
			t.Errorf("no %s job", at)
		}
	}
	for field, want := range map[string]int{"policy": 12, "workflow": 18, "identity": 1000, "extraction": 50} {
		got := len(count(func(i int) string {
			return map[string]string{"policy": tasks[i].PolicyID, "workflow": tasks[i].Workflow,
				"identity": tasks[i].IdentityID, "extraction": tasks[i].ExtractionEvent}[field]
		}, len(tasks)))
		if got < want {
			t.Errorf("%d distinct %s values, want >= %d", got, field, want)
		}
	}
	nonASCII := 0
	for name := range count(func(i int) string { return tasks[i].IdentityName }, len(tasks)) {
		if strings.IndexFunc(name, func(r rune) bool { return r > unicode.MaxASCII }) >= 0 {
			nonASCII++
		}
	}
	if nonASCII < 50 {
		t.Errorf("only %d non-ASCII identity names", nonASCII)
	}
	for field, want := range map[string][]string{
		"event_source":          {"POLICY", "ACCESS_PLAN"},
		"extraction_event_type": {"SCHEDULED", "CHANGE_EVENT", "MANUAL"},
	} {
		got := count(func(i int) string {
			if field == "event_source" {
				return jobs[i].EventSource
			}
			return jobs[i].ExtractionEventType
		}, len(jobs))
		for _, w := range want {
			if got[w] == 0 {
				t.Errorf("no job with %s %s", field, w)
			}
		}
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestErrorVariety checks what the error-grouping feature is tested against:
// many causes, a few dominant, each with many distinct texts.
func TestErrorVariety(t *testing.T) {
	g := shared().g
	byCause := map[int]map[string]int{}
	total := 0
	var m taskMat
	for i := 0; i < g.nTasks; i++ {
		g.mat(i, &m)
		for j := 0; j < m.sk.nj; j++ {
			c := m.sk.jobs[j].cause
			if c < 0 {
				continue
			}
			if byCause[c] == nil {
				byCause[c] = map[string]int{}
			}
			byCause[c][m.errs[j]]++
			total++
		}
	}
	if len(byCause) < 15 {
		t.Fatalf("%d distinct causes, want >= 15", len(byCause))
	}
	var sizes []int
	for c, texts := range byCause {
		n := 0
		for _, k := range texts {
			n += k
		}
		sizes = append(sizes, n)
		if n >= 20 && len(texts) < 3 {
			t.Errorf("cause %s: %d errors but only %d distinct texts", causes[c].name, n, len(texts))
		}
		if n >= 100 && len(texts) < n/4 {
			t.Errorf("cause %s: %d errors, %d distinct texts; want many", causes[c].name, n, len(texts))
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(sizes)))
	if top := sizes[0] + sizes[1] + sizes[2]; top*100 < total*40 {
		t.Errorf("top three causes hold %d of %d errors; a few should dominate", top, total)
	}
	if sizes[len(sizes)-1]*100 > total*3 {
		t.Errorf("the rarest cause is not rare: %d of %d", sizes[len(sizes)-1], total)
	}
}

func isHostile(s string) bool {
	return strings.ContainsAny(s, "\x1b\u009b\u202e\x07")
}

// TestPayloads checks sizes, unicode and the hostile strings the client must
// sanitise.
func TestPayloads(t *testing.T) {
	g := shared().g
	var m taskMat
	var sizes []int
	hostilePayloads, hostileErrors, errorsSeen, cjk, rtl, emoji := 0, 0, 0, 0, 0, 0
	for i := 0; i < g.nTasks; i++ {
		g.mat(i, &m)
		for j := 0; j < m.sk.nj; j++ {
			if m.errs[j] != "" {
				errorsSeen++
				if isHostile(m.errs[j]) {
					hostileErrors++
				}
			}
			if (m.sk.j0+j)%3 != 0 {
				continue // a third is plenty
			}
			req, res := g.payload(&m, j)
			sizes = append(sizes, len(req)+len(res))
			if (m.sk.j0+j)%50 == 0 {
				var rq veza.JobRequest
				var rs veza.JobResult
				if json.Unmarshal(req, &rq) != nil || json.Unmarshal(res, &rs) != nil || len(rq.InputEntities) == 0 {
					t.Fatal("payload is not valid JSON of the wire types")
				}
			}
			// encoding/json writes non-ASCII as is and ESC as \u001b.
			text := string(req) + string(res)
			if strings.Contains(string(req), `\u001b`) || strings.ContainsAny(string(req), "\u009b\u202e") {
				hostilePayloads++
			}
			if strings.ContainsFunc(text, func(r rune) bool { return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hangul, r) }) {
				cjk++
			}
			if strings.ContainsFunc(text, func(r rune) bool { return unicode.Is(unicode.Arabic, r) || unicode.Is(unicode.Hebrew, r) }) {
				rtl++
			}
			if strings.ContainsFunc(text, func(r rune) bool { return r >= 0x1F300 }) {
				emoji++
			}
		}
	}
	n := len(sizes)
	sort.Ints(sizes)
	if med := sizes[n/2]; med < 1000 || med > 3000 {
		t.Errorf("median payload %d bytes, want 1-3 KB", med)
	}
	large := n - sort.SearchInts(sizes, 20000)
	if large*1000 < n*5 || large*100 > n*3 {
		t.Errorf("%d of %d payloads are over 20 KB, want about 1%%", large, n)
	}
	if sizes[n-1] > 70000 {
		t.Errorf("largest payload %d bytes", sizes[n-1])
	}
	if hostilePayloads == 0 || hostilePayloads*100 > n {
		t.Errorf("%d of %d payloads carry hostile strings, want a few", hostilePayloads, n)
	}
	if hostileErrors == 0 || hostileErrors*50 > errorsSeen {
		t.Errorf("%d of %d error texts carry hostile strings, want a few", hostileErrors, errorsSeen)
	}
	if cjk == 0 || rtl == 0 || emoji == 0 {
		t.Errorf("unicode coverage: %d CJK, %d RTL, %d emoji payloads", cjk, rtl, emoji)
	}
}

// TestPagingResumes checks that a filtered pass costs O(N) in total: each
// page resumes at its token instead of scanning from the start.
func TestPagingResumes(t *testing.T) {
	s := New(Options{Seed: 9})
	_, _, n := s.Counts()
	jobs, pages := all[veza.Job](t, s, jobsPath, vals("filter", `state eq "ERRORED"`, "page_size", "10"))
	if pages < 50 {
		t.Fatalf("only %d pages", pages)
	}
	if got := s.examined.Load(); got > int64(n+pages) {
		t.Errorf("examined %d records over %d pages for %d jobs; paging rescans", got, pages, n)
	}
	_ = jobs
}

func TestIDs(t *testing.T) {
	c := newIDCodec(1)
	other := newIDCodec(2)
	seen := map[string]bool{}
	for _, kind := range []uint64{kindTask, kindJob, kindPolicy} {
		for _, idx := range []int{0, 1, 2, 99, 1 << 20, 1<<40 - 1} {
			id := c.uuid(kind, idx)
			if seen[id] {
				t.Fatalf("duplicate id %s", id)
			}
			seen[id] = true
			if id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) {
				t.Errorf("%s is not a version-4 UUID", id)
			}
			if got, ok := c.parse(kind, id); !ok || got != idx {
				t.Fatalf("parse(%s) = %d, %v; want %d", id, got, ok, idx)
			}
			if _, ok := c.parse(kind^3, id); ok {
				t.Errorf("%s parsed as another kind", id)
			}
			if _, ok := other.parse(kind, id); ok {
				t.Errorf("%s parsed by another seed", id)
			}
			for pos := 0; pos < len(id); pos++ {
				if id[pos] == '-' {
					continue
				}
				b := []byte(id)
				b[pos] = "0123456789abcdef"[(strings.IndexByte("0123456789abcdef", b[pos])+1)%16]
				if _, ok := c.parse(kind, string(b)); ok {
					t.Fatalf("%s with one digit changed still parses", id)
				}
			}
		}
	}
}

// TestMillionJobs checks that a million-job tenant is a few megabytes and
// serves pages quickly.
func TestMillionJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 1M-job layout")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := New(Options{Seed: 1, Scale: 1_000_000})
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 50<<20 {
		t.Errorf("New(1M jobs) holds %d MB of heap", grew>>20)
	} else {
		t.Logf("New(1M jobs) holds %.1f MB of heap", float64(grew)/(1<<20))
	}
	if _, _, n := s.Counts(); n != 1_000_000 {
		t.Fatalf("%d jobs", n)
	}
	limit := time.Second
	if raceEnabled {
		limit = 10 * time.Second
	}
	start := time.Now()
	p := page[veza.Job](t, s, jobsPath, vals("details", "true"))
	p = page[veza.Job](t, s, jobsPath, vals("details", "true", "page_token", p.NextPageToken))
	e := page[veza.Job](t, s, jobsPath, vals("details", "true", "filter", `state eq "ERRORED"`))
	last := s.g.ids.uuid(kindJob, 999_999)
	if rec := do(t, s, jobsPath+"/"+last, nil); rec.Code != http.StatusOK {
		t.Fatalf("GET the last job: %d", rec.Code)
	}
	if took := time.Since(start); took > limit {
		t.Errorf("three pages and a GET took %v", took)
	}
	if len(p.Values) != 100 || len(e.Values) != 100 {
		t.Fatalf("short pages: %d, %d", len(p.Values), len(e.Values))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 50<<20 {
		t.Errorf("after serving, %d MB of heap", grew>>20)
	}
	runtime.KeepAlive(s)
}

func BenchmarkListJobsPage(b *testing.B) {
	s := New(Options{Seed: 1, Scale: 1_000_000})
	// Tokens for pages spread over the data set.
	var tokens []string
	q := vals("details", "true", "page_size", "100")
	for i := 0; i < 20; i++ {
		p := page[veza.Job](b, s, jobsPath, q)
		tokens = append(tokens, p.NextPageToken)
		q.Set("page_token", p.NextPageToken)
	}
	b.ResetTimer()
	b.ReportAllocs()
	bytes := 0
	for i := 0; i < b.N; i++ {
		rec := do(b, s, jobsPath, vals("details", "true", "page_size", "100", "page_token", tokens[i%len(tokens)]))
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
		bytes += rec.Body.Len()
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/page")
}

func BenchmarkListErroredJobsPage(b *testing.B) {
	s := New(Options{Seed: 1, Scale: 1_000_000})
	q := vals("details", "true", "filter", `state eq "ERRORED"`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p := page[veza.Job](b, s, jobsPath, q)
		if !p.HasMore {
			q.Del("page_token")
			continue
		}
		q.Set("page_token", p.NextPageToken)
	}
}

func BenchmarkNew(b *testing.B) {
	for i := 0; i < b.N; i++ {
		New(Options{Seed: int64(i), Scale: 1_000_000})
	}
}
