package emulator

import (
	"slices"
	"sort"
	"time"
)

// State indexes; the order is veza.States (checked by a test).
const (
	stInitial uint8 = iota
	stRunning
	stCompleted
	stErrored
	stSkipped
	stScheduled
	stPending
	stBlocked
	stAbandoned
	numStates
)

const (
	maxActionsPerTask = 4
	maxJobsPerAction  = 5
	maxJobsPerTask    = maxActionsPerTask * maxJobsPerAction
	window            = 30 * 24 * time.Hour // data spans the 30 days before Now
	quietTail         = 10 * time.Minute    // newest event this long before Now
)

// gen is the deterministic generator. The only per-record memory is two
// offset tables: taskAct[i] is the first (global) action index of task i and
// actJob[a] the first job index of action a, each with a sentinel at the end.
// Everything else is recomputed from (seed, index) on demand.
//
// Time is laid out on a global event line: task i, then its actions each
// followed by its jobs, then task i+1. Event e happens at
// start + e*span/events plus a jitter below half a step, so task creation,
// action start and job creation times all increase with their index, and the
// default "oldest first" order is simply index order.
type gen struct {
	seed     int64
	ids      idCodec
	nowMs    int64
	startMs  int64
	spanMs   int64
	events   int64
	stepMs   int64
	taskAct  []int32
	actJob   []int32
	nTasks   int // the base data set, laid out over the 30 days before Now
	nActions int
	nJobs    int
	// The offset tables may reach past the base data set: in live mode they
	// lay out the records that arrive after Now (live.go). hTasks, hActions
	// and hJobs count everything laid out; they equal the base counts
	// otherwise.
	hTasks       int
	hActions     int
	hJobs        int
	liveMsPerJob float64 // live mode: milliseconds between two new jobs
	inflight     int     // the last inflight tasks are still in progress
	nIdentities  int
	jitterKey    uint64
	writes       lcmWrites // records written through the API (lcm_write.go)
}

// plan is the shape of a task that does not depend on where it sits in the
// data set: which policy and workflow, which steps, how many jobs each.
type plan struct {
	pol, wf int
	n       int
	steps   [maxActionsPerTask]int8
	jobs    [maxActionsPerTask]int8
	fail    bool // the last action fails; the workflow stopped there
}

// failRate is the share of tasks whose workflow fails at some action.
const failRate = 0.12

var actionCountWeights = []int{15, 30, 30, 25} // 1..4 actions

func (g *gen) plan(i int) plan {
	r := newRNG(g.seed, streamPlan, uint64(i))
	var p plan
	p.pol = r.weighted(policyWeights)
	p.wf = r.weighted(workflowWeights[p.pol])
	steps := policies[p.pol].workflows[p.wf].steps
	n := min(1+r.weighted(actionCountWeights), len(steps))
	// An ordered random subset of the workflow's steps (Knuth's algorithm S):
	// conditions on the other steps did not match this identity.
	for s := 0; s < len(steps) && p.n < n; s++ {
		if r.intn(len(steps)-s) < n-p.n {
			p.steps[p.n] = int8(s)
			p.n++
		}
	}
	var w [maxActionsPerTask]int
	for a := 0; a < p.n; a++ {
		st := steps[p.steps[a]]
		p.jobs[a] = int8(r.between(st.minJobs, st.maxJobs))
		w[a] = int(p.jobs[a]) // more calls, more chances to fail
	}
	if r.chance(failRate) && slices.ContainsFunc(w[:p.n], func(x int) bool { return x > 0 }) {
		// A workflow stops at its failing action, so later steps never ran.
		p.fail = true
		p.n = r.weighted(w[:p.n]) + 1
	}
	return p
}

func (p *plan) step(a int) step { return policies[p.pol].workflows[p.wf].steps[p.steps[a]] }

func newGen(seed int64, scale int, now time.Time) *gen {
	g := &gen{seed: seed, ids: newIDCodec(seed), nowMs: now.UnixMilli()}
	jr := newRNG(seed, streamJitter, 0)
	g.jitterKey = jr.next()
	// About 4.3 jobs and 2.5 actions per task; reserve a little more so
	// append rarely regrows.
	g.taskAct = make([]int32, 1, scale/4+16)
	g.actJob = make([]int32, 1, scale*2/3+16)
	jobs := 0
	for i := 0; jobs < scale; i++ {
		p := g.plan(i)
		for a := 0; a < p.n && jobs < scale; a++ {
			jobs += min(int(p.jobs[a]), scale-jobs)
			g.actJob = append(g.actJob, int32(jobs))
		}
		g.taskAct = append(g.taskAct, int32(len(g.actJob)-1))
	}
	g.taskAct = clip(g.taskAct)
	g.actJob = clip(g.actJob)
	g.nTasks, g.nActions, g.nJobs = len(g.taskAct)-1, len(g.actJob)-1, jobs
	g.hTasks, g.hActions, g.hJobs = g.nTasks, g.nActions, g.nJobs
	g.events = int64(g.nTasks + g.nActions + g.nJobs)
	g.spanMs = window.Milliseconds()
	g.startMs = g.nowMs - quietTail.Milliseconds() - g.spanMs
	if g.events > 0 {
		g.stepMs = g.spanMs / g.events
	}
	g.inflight = min(max(10, g.nTasks/300), g.nTasks/3)
	g.nIdentities = numIdentities(g.nTasks)
	return g
}

// clip copies s into a slice of exactly its length, so the spare capacity
// of the build does not stay on the heap.
func clip(s []int32) []int32 {
	if cap(s) == len(s) {
		return s
	}
	return append([]int32(nil), s...)
}

// evtTime is the time of event e in unix ms.
func (g *gen) evtTime(e int) int64 {
	t := g.startMs + int64(e)*g.spanMs/max(g.events, 1)
	if half := g.stepMs / 2; half > 0 {
		t += int64(mix64(uint64(e)^g.jitterKey) % uint64(half))
	}
	return t
}

// lag returns a small positive delay that keeps within half a time step, so
// that "started" never overtakes the next record's creation.
func (g *gen) lag(r *rng, lo, hi int) int64 {
	d := int64(r.between(lo, hi))
	if half := g.stepMs/2 - 1; half >= 1 && d > half {
		d = 1 + d%half
	}
	return d
}

// doneBy clamps a completion time to before Now and after start.
func (g *gen) doneBy(t, start int64) int64 {
	t = min(t, g.nowMs-1000)
	return max(t, start+1)
}

// taskOfAction and actionOfJob map global indexes to their parents.
func (g *gen) taskOfAction(a int) int {
	return sort.Search(g.hTasks, func(i int) bool { return int(g.taskAct[i+1]) > a })
}

func (g *gen) actionOfJob(k int) int {
	return sort.Search(g.hActions, func(a int) bool { return int(g.actJob[a+1]) > k })
}

func (g *gen) taskOfJob(k int) int { return g.taskOfAction(g.actionOfJob(k)) }

// Skeletons: states, times, change flags and error causes only, no strings.
// They are cheap enough to compute for every record when counting states or
// building a sort order.

type jobSk struct {
	state                       uint8
	created, started, completed int64 // unix ms, 0 = unset
	changes                     bool
	events                      int
	cause                       int // index into causes, -1 if none
}

type actSk struct {
	a                  int // global index
	st                 step
	state              uint8
	started, completed int64
	j0, nj             int // first global job index, number of jobs
	jobsSeen           int // jobs created so far (all nj but in live mode)
	changes            bool
	firstErr           int // local job index of the first ERRORED job, or -1
}

type taskSk struct {
	i                                           int
	pl                                          plan
	fate                                        uint8
	created, started, completed, scheduled, upd int64
	a0, na                                      int
	j0, nj                                      int
	acts                                        [maxActionsPerTask]actSk
	jobs                                        [maxJobsPerTask]jobSk // local index = global - j0
	changes                                     bool
}

var fateWeights = []int{ // for settled tasks whose plan did not fail
	stCompleted: 970,
	stSkipped:   15,
	stBlocked:   6,
	stAbandoned: 9,
}

// inflightPattern is cycled through by the newest tasks, newest first.
var inflightPattern = []uint8{stRunning, stPending, stScheduled, stRunning, stInitial, stPending, stRunning, stScheduled, stBlocked, stRunning}

func jobDuration(r *rng) int64 {
	x := r.float()
	switch {
	case x < 0.70:
		return int64(r.between(40, 1500))
	case x < 0.95:
		return int64(r.between(1500, 30000))
	}
	return int64(r.between(30000, 360000))
}

// skel fills t with the skeleton of task i as of Now.
func (g *gen) skel(i int, t *taskSk) { g.skelAt(i, g.nowMs, t) }

// skelAt fills t with the skeleton of task i as of unix ms at. Only the
// tasks that arrive after Now in live mode (live.go) change with at.
func (g *gen) skelAt(i int, at int64, t *taskSk) {
	if i >= g.nTasks {
		g.liveSkel(i, at, t)
		return
	}
	*t = taskSk{i: i, pl: g.plan(i)}
	t.a0 = int(g.taskAct[i])
	t.na = int(g.taskAct[i+1]) - t.a0
	t.j0 = int(g.actJob[t.a0])
	t.nj = int(g.actJob[t.a0+t.na]) - t.j0
	r := newRNG(g.seed, streamFate, uint64(i))

	lastJobs := int(g.actJob[t.a0+t.na]) - int(g.actJob[t.a0+t.na-1])
	switch {
	case i >= g.nTasks-g.inflight:
		t.fate = inflightPattern[(g.nTasks-1-i)%len(inflightPattern)]
	case t.pl.fail && t.na == t.pl.n && lastJobs > 0:
		// (The last task may have been cut short by Scale; it then did not fail.)
		t.fate = stErrored
	default:
		t.fate = uint8(r.weighted(fateWeights))
	}
	outage := g.outageHits(i, t) // outage.go: its last action fails
	if outage {
		t.fate = stErrored
	}
	t.created = g.evtTime(i + t.a0 + t.j0)
	t.upd = t.created
	notStarted := t.fate == stInitial || t.fate == stPending || t.fate == stScheduled
	switch {
	case t.fate == stScheduled:
		t.scheduled = g.nowMs + int64(r.between(20, 72*60))*60000
	case r.chance(0.1): // a delayed trigger, e.g. the termination date
		t.scheduled = t.created - int64(r.between(1000, 600000))
	}
	if !notStarted {
		t.started = t.created + g.lag(&r, 20, 900)
	}
	var abandonAt int64
	for p := 0; p < t.na; p++ {
		a := t.a0 + p
		as := &t.acts[p]
		as.a, as.st, as.firstErr = a, t.pl.step(p), -1
		as.j0 = int(g.actJob[a])
		as.nj = int(g.actJob[a+1]) - as.j0
		as.jobsSeen = as.nj
		last := p == t.na-1
		if !notStarted {
			as.started = g.evtTime(i + 1 + a + as.j0)
		}
		// The action's state, before looking at its jobs.
		switch {
		case notStarted:
			as.state = t.fate
		case !last:
			as.state = stCompleted
			if t.fate == stSkipped {
				as.state = stSkipped
			}
		default:
			as.state = t.fate
		}
		if as.state == stCompleted && r.chance(0.01) {
			as.state = stSkipped // conditions of this step did not match
		}
		if as.state == stAbandoned {
			abandonAt = g.doneBy(as.started+int64(r.between(2*3600, 5*86400))*1000, as.started)
		}
		failAt, primary := -1, -1
		if as.state == stErrored {
			failAt = 0
			if as.nj > 1 && r.chance(0.35) {
				failAt = r.intn(as.nj)
			}
			primary = causeFor(&r, as.st.ds, as.st.typ)
			if outage {
				failAt, primary = 0, outageCause
			}
		}
		runAt := r.intn(max(as.nj, 1))
		end := as.started
		for j := 0; j < as.nj; j++ {
			k := as.j0 + j
			js := &t.jobs[k-t.j0]
			js.cause = -1
			js.created = g.evtTime(i + a + k + 2)
			switch as.state {
			case stCompleted:
				js.state = stCompleted
				if r.chance(0.01) {
					js.state = stSkipped // nothing to change
				}
			case stErrored:
				switch {
				case j < failAt:
					js.state = stCompleted
				case j == failAt || outage || r.chance(0.85):
					js.state = stErrored
					js.cause = primary
					if j != failAt && !outage && r.chance(0.25) {
						js.cause = causeFor(&r, as.st.ds, as.st.typ)
					}
				default:
					js.state = stCompleted
				}
			case stRunning:
				switch {
				case j < runAt:
					js.state = stCompleted
				case j == runAt:
					js.state = stRunning
				default:
					js.state = stPending
				}
			default:
				js.state = as.state
			}
			switch js.state {
			case stCompleted, stErrored, stSkipped, stRunning:
				js.started = js.created + g.lag(&r, 5, 2000)
				if js.state == stRunning {
					break
				}
				d := jobDuration(&r)
				if js.state == stSkipped {
					d = int64(r.between(1, 30))
				}
				js.completed = g.doneBy(js.started+d, js.started)
				end = max(end, js.completed)
			case stAbandoned:
				js.completed = abandonAt
			}
			if js.state == stCompleted && r.chance(0.85) {
				js.changes = true
				js.events = r.between(1, 3)
				as.changes = true
			}
			if js.state == stErrored && as.firstErr < 0 {
				as.firstErr = j
			}
			t.upd = max(t.upd, js.created, js.started, js.completed)
		}
		switch as.state {
		case stCompleted, stErrored, stSkipped:
			switch {
			case as.nj > 0:
				end += int64(r.between(20, 400))
			case as.st.typ == "PAUSE":
				end += int64(r.between(60, 3600)) * 1000
			default:
				end += int64(r.between(100, 900))
			}
			as.completed = g.doneBy(end, as.started)
		case stAbandoned:
			as.completed = abandonAt
		}
		t.changes = t.changes || as.changes
		t.upd = max(t.upd, as.started, as.completed)
	}
	switch t.fate {
	case stCompleted, stErrored, stSkipped:
		end := t.started
		for p := 0; p < t.na; p++ {
			end = max(end, t.acts[p].completed)
		}
		t.completed = g.doneBy(end+int64(r.between(50, 500)), t.started)
	case stAbandoned:
		t.completed = abandonAt
	}
	t.upd = max(t.upd, t.started, t.completed)
}
