package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// liveServer is a live tenant whose clock only moves with Advance.
func liveServer(seed int64, scale int) *Server {
	return New(Options{Seed: seed, Scale: scale, Live: true, LiveHorizon: 2 * time.Hour,
		Clock: func() time.Time { return DefaultNow }})
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func TestLiveGrowth(t *testing.T) {
	s := liveServer(1, 2000)
	still := New(Options{Seed: 1, Scale: 2000})
	// At Now, a live tenant is the static one.
	if !bytes.Equal(do(t, s, jobsPath, vals("order_by", "created_at desc")).Body.Bytes(), do(t, still, jobsPath, vals("order_by", "created_at desc")).Body.Bytes()) {
		t.Fatal("live tenant differs from the static one at Now")
	}
	for _, step := range []struct {
		d    time.Duration
		jobs int
	}{{0, 2000}, {199 * time.Millisecond, 2000}, {time.Millisecond, 2001}, {9800 * time.Millisecond, 2050}, {time.Minute, 2350}} {
		s.Advance(step.d)
		if _, _, nj := s.Counts(); nj != step.jobs {
			t.Fatalf("after +%v: %d jobs, want %d", step.d, nj, step.jobs)
		}
	}
	nt, na, nj := s.Counts()
	tasks, _ := all[veza.Task](t, s, tasksPath, nil)
	acts, _ := all[veza.Action](t, s, actionsPath, nil)
	jobs, _ := all[veza.Job](t, s, jobsPath, nil)
	if len(tasks) != nt || len(acts) != na || len(jobs) != nj {
		t.Fatalf("listed %d/%d/%d, Counts %d/%d/%d", len(tasks), len(acts), len(jobs), nt, na, nj)
	}
	newJobs, _ := all[veza.Job](t, s, jobsPath, vals("filter", `created_at ge "`+rfc(DefaultNow)+`"`))
	if len(newJobs) != 350 {
		t.Fatalf("%d jobs created after Now, want 350", len(newJobs))
	}
	// The newest are in flight, the oldest new ones settled.
	head := newJobs[len(newJobs)-1]
	if head.State != "RUNNING" && head.State != "PENDING" {
		t.Fatalf("newest job is %s", head.State)
	}
	settled := 0
	for _, j := range newJobs {
		if j.CompletedAt != nil {
			settled++
		}
	}
	if settled < len(newJobs)/2 || settled == len(newJobs) {
		t.Fatalf("%d of %d new jobs settled after 70 s", settled, len(newJobs))
	}
	// Unknown-yet records are a 404 until their time comes.
	future := s.g.ids.uuid(kindJob, nj)
	decodeError(t, do(t, s, jobsPath+"/"+future, nil), http.StatusNotFound, "NotFound")
	s.Advance(time.Second)
	if rec := do(t, s, jobsPath+"/"+future, nil); rec.Code != 200 {
		t.Fatalf("GET a job after it arrived: %d", rec.Code)
	}
	// The data set stops growing at the horizon.
	s.Advance(10 * time.Hour)
	if _, _, nj := s.Counts(); nj != 2000+s.g.hJobs-s.g.nJobs || s.g.hJobs-s.g.nJobs < 36000 {
		t.Fatalf("beyond the horizon: %d jobs, laid out %d", nj, s.g.hJobs)
	}
}

// TestLiveSettles follows one live task from creation to its end.
func TestLiveSettles(t *testing.T) {
	s := New(Options{Seed: 2, Scale: 300, Live: true, LiveRate: 1, LiveHorizon: time.Hour, Clock: func() time.Time { return DefaultNow }})
	s.Advance(20 * time.Second)
	tasks, _ := all[veza.Task](t, s, tasksPath, vals("filter", `t_created_at ge "`+rfc(DefaultNow)+`"`))
	if len(tasks) == 0 {
		t.Fatal("no live task")
	}
	task := tasks[len(tasks)-1]
	if task.State != "RUNNING" && task.State != "PENDING" || task.CompletedAt != nil {
		t.Fatalf("new task is %s, completed_at %v", task.State, task.CompletedAt)
	}
	before := *task.TUpdatedAt
	mark := s.Now()
	s.Advance(6 * time.Minute) // jobs run 4 minutes at most
	var env veza.ValueEnvelope[veza.Task]
	if err := json.Unmarshal(do(t, s, tasksPath+"/"+task.ID, nil).Body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	done := env.Value
	if (done.State != "COMPLETED" && done.State != "ERRORED") || done.CompletedAt == nil || !done.TUpdatedAt.After(before) {
		t.Fatalf("after 6 min the task is %s, completed_at %v, t_updated_at %v (was %v)", done.State, done.CompletedAt, done.TUpdatedAt, before)
	}
	// Incremental queries find it.
	changed, _ := all[veza.Task](t, s, tasksPath, vals("filter", `t_updated_at ge "`+rfc(mark)+`"`))
	if !slices.ContainsFunc(changed, func(x veza.Task) bool { return x.ID == task.ID }) {
		t.Fatal("t_updated_at ge does not find the settled task")
	}
	jobs, _ := all[veza.Job](t, s, jobsPath, vals("filter", `policy_task eq "`+task.ID+`"`))
	for _, j := range jobs {
		if j.CompletedAt == nil || (j.State != "COMPLETED" && j.State != "ERRORED" && j.State != "SKIPPED") {
			t.Fatalf("job %s of a settled task: %s %v", j.JobID, j.State, j.CompletedAt)
		}
	}
	recent, _ := all[veza.Job](t, s, jobsPath, vals("filter", `completed_at ge "`+rfc(mark)+`"`))
	for _, j := range jobs {
		if j.CompletedAt.After(mark) && !slices.ContainsFunc(recent, func(x veza.Job) bool { return x.JobID == j.JobID }) {
			t.Fatal("completed_at ge misses a live job")
		}
	}
}

// TestLiveIncrementalSync keeps a copy of the jobs up to date the way the
// sync engine does, with created_at and completed_at cursors, while time
// passes, and ends with what a full listing says.
func TestLiveIncrementalSync(t *testing.T) {
	s := liveServer(3, 300)
	copyOf := map[string]veza.Job{}
	merge := func(filter string) {
		q := vals("page_size", "100")
		if filter != "" {
			q.Set("filter", filter)
		}
		jobs, _ := all[veza.Job](t, s, jobsPath, q)
		for _, j := range jobs {
			copyOf[j.JobID] = j
		}
	}
	merge("")
	cursor := s.Now()
	for step := 0; step < 8; step++ {
		s.Advance(9 * time.Second)
		now := s.Now()
		// Each pass overlaps the last by a little, as a careful client does.
		from := rfc(cursor.Add(-time.Second))
		merge(`created_at ge "` + from + `"`)
		merge(`completed_at ge "` + from + `"`)
		merge(`started_at ge "` + from + `"`)
		cursor = now
	}
	full, _ := all[veza.Job](t, s, jobsPath, nil)
	if len(full) != len(copyOf) {
		t.Fatalf("copy has %d jobs, tenant %d", len(copyOf), len(full))
	}
	for _, j := range full {
		a, _ := json.Marshal(j)
		b, _ := json.Marshal(copyOf[j.JobID])
		if !bytes.Equal(a, b) {
			t.Fatalf("stale copy of job %s:\n%s\n%s", j.JobID, b, a)
		}
	}
}

// TestLiveConsistency checks that live tasks, actions and jobs tell one
// story at several moments.
func TestLiveConsistency(t *testing.T) {
	s := liveServer(4, 300)
	for _, d := range []time.Duration{3 * time.Second, 17 * time.Second, 41 * time.Second, 5 * time.Minute} {
		s.Advance(d)
		now := s.Now()
		from := vals("filter", `t_created_at ge "`+rfc(DefaultNow.Add(-time.Minute))+`"`)
		tasks, _ := all[veza.Task](t, s, tasksPath, from)
		acts, _ := all[veza.Action](t, s, actionsPath, nil)
		jobs, _ := all[veza.Job](t, s, jobsPath, vals("filter", `created_at ge "`+rfc(DefaultNow)+`"`))
		type key struct{ task, name string }
		jobsOf := map[key][]veza.Job{}
		for _, j := range jobs {
			if j.CreatedAt.After(now) || (j.CompletedAt != nil) != (j.State == "COMPLETED" || j.State == "ERRORED" || j.State == "SKIPPED") {
				t.Fatalf("job %s: %s created %v completed %v at %v", j.JobID, j.State, j.CreatedAt, j.CompletedAt, now)
			}
			if j.CompletedAt != nil && (j.CompletedAt.After(now) || j.CompletedAt.Before(*j.StartedAt)) {
				t.Fatalf("job %s completed at %v", j.JobID, j.CompletedAt)
			}
			jobsOf[key{j.PolicyTask, j.ActionName}] = append(jobsOf[key{j.PolicyTask, j.ActionName}], j)
		}
		actsOf := map[string][]veza.Action{}
		for _, a := range acts {
			actsOf[a.PolicyTask] = append(actsOf[a.PolicyTask], a)
		}
		for _, task := range tasks {
			if task.TCreatedAt.Before(DefaultNow.Add(-time.Second)) {
				continue // a base task
			}
			as := actsOf[task.ID]
			if len(as) == 0 && task.State != "PENDING" {
				t.Fatalf("task %s is %s without actions", task.ID, task.State)
			}
			allDone := true
			for _, a := range as {
				js := jobsOf[key{task.ID, a.ActionName}]
				if a.JobsStarted != len(js) {
					t.Fatalf("action %q: jobs_started %d, %d jobs", a.ActionName, a.JobsStarted, len(js))
				}
				settled := a.State == "COMPLETED" || a.State == "ERRORED"
				allDone = allDone && settled
				for _, j := range js {
					if settled && j.CompletedAt == nil {
						t.Fatalf("%s action with a %s job", a.State, j.State)
					}
					if a.CompletedAt != nil && j.CompletedAt != nil && a.CompletedAt.Before(*j.CompletedAt) {
						t.Fatal("action completed before its job")
					}
				}
				if (a.State == "ERRORED") != (a.ErrorMessage != "") {
					t.Fatalf("%s action with error message %q", a.State, a.ErrorMessage)
				}
			}
			switch task.State {
			case "COMPLETED", "ERRORED":
				if !allDone || task.CompletedAt == nil || task.CompletedAt.After(now) {
					t.Fatalf("%s task with unsettled actions or completed_at %v", task.State, task.CompletedAt)
				}
				if (task.State == "ERRORED") != (len(task.Messages) > 0) || (task.State == "ERRORED") != (as[len(as)-1].State == "ERRORED") {
					t.Fatalf("%s task: messages %q, last action %s", task.State, task.Messages, as[len(as)-1].State)
				}
			case "RUNNING", "PENDING":
				if task.CompletedAt != nil || len(task.Messages) > 0 {
					t.Fatalf("%s task with completed_at or messages", task.State)
				}
			default:
				t.Fatalf("live task in state %s", task.State)
			}
			if task.TUpdatedAt.After(now) || task.TUpdatedAt.Before(*task.TCreatedAt) {
				t.Fatalf("t_updated_at %v outside [%v, %v]", task.TUpdatedAt, task.TCreatedAt, now)
			}
		}
	}
	// StateCounts sees the live jobs too.
	total := 0
	for _, n := range s.StateCounts() {
		total += n
	}
	if _, _, nj := s.Counts(); total != nj {
		t.Fatalf("StateCounts sums to %d, %d jobs", total, nj)
	}
}

func TestLiveOrderBy(t *testing.T) {
	s := liveServer(5, 400)
	s.Advance(90 * time.Second)
	nt, _, nj := s.Counts()
	for _, tc := range []struct {
		path, order string
		n           int
	}{{jobsPath, "completed_at desc", nj}, {jobsPath, "started_at asc", nj}, {tasksPath, "completed_at asc", nt}} {
		type times struct {
			StartedAt   *time.Time `json:"started_at"`
			CompletedAt *time.Time `json:"completed_at"`
		}
		items, _ := all[times](t, s, tc.path, vals("order_by", tc.order, "page_size", "37"))
		if len(items) != tc.n {
			t.Fatalf("%s %s: %d items, want %d", tc.path, tc.order, len(items), tc.n)
		}
		desc := tc.order[len(tc.order)-4:] == "desc"
		prev := int64(-1)
		if desc {
			prev = 1 << 62
		}
		for _, it := range items {
			tm := it.CompletedAt
			if tc.order[:7] == "started" {
				tm = it.StartedAt
			}
			var ms int64
			if tm != nil {
				ms = tm.UnixMilli()
			}
			if (!desc && ms < prev) || (desc && ms > prev) {
				t.Fatalf("%s %s out of order", tc.path, tc.order)
			}
			prev = ms
		}
	}
}

func TestLiveDeterministic(t *testing.T) {
	a, b := liveServer(6, 700), liveServer(6, 700)
	a.Advance(2 * time.Minute)
	b.Advance(2 * time.Minute)
	for _, q := range []string{jobsPath + "?order_by=created_at+desc&details=true", tasksPath + "?order_by=completed_at+desc", events + "?order_by=timestamp+desc"} {
		if !bytes.Equal(doBody(t, a, "GET", q, nil).Body.Bytes(), doBody(t, b, "GET", q, nil).Body.Bytes()) {
			t.Fatalf("%s differs between two live servers at the same time", q)
		}
	}
}

func TestLiveTinyScales(t *testing.T) {
	for _, scale := range []int{1, 3, 20} {
		s := New(Options{Seed: int64(scale), Scale: scale, Live: true, LiveRate: 3, LiveHorizon: time.Minute,
			Clock: func() time.Time { return DefaultNow }})
		s.Advance(2 * time.Minute) // past the horizon
		nt, na, nj := s.Counts()
		if laid := s.g.hJobs - s.g.nJobs; nj != scale+laid || laid < 180 || laid >= 180+maxJobsPerTask {
			t.Fatalf("scale %d: %d jobs after the horizon, %d laid out, want about %d", scale, nj, laid, scale+180)
		}
		jobs, _ := all[veza.Job](t, s, jobsPath, vals("page_size", "7", "details", "true"))
		tasks, _ := all[veza.Task](t, s, tasksPath, vals("order_by", "completed_at desc"))
		acts, _ := all[veza.Action](t, s, actionsPath, vals("order_by", "started_at"))
		if len(jobs) != nj || len(tasks) != nt || len(acts) != na {
			t.Fatalf("scale %d: listed %d/%d/%d, want %d/%d/%d", scale, len(tasks), len(acts), len(jobs), nt, na, nj)
		}
		for _, j := range jobs[len(jobs)-5:] {
			if rec := do(t, s, jobsPath+"/"+j.JobID, nil); rec.Code != 200 {
				t.Fatalf("scale %d: GET job: %d", scale, rec.Code)
			}
		}
	}
}
