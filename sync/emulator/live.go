package emulator

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Live mode. The base data set lies on the 30 days before Now and never
// changes. In live mode the offset tables go on past it (extend): the jobs
// after the base ones arrive one every 1/LiveRate seconds after Now, with the
// tasks and actions around them, all from the same plan(i) generator. A
// record is visible once its creation time has passed on the server's clock
// (Server.Now), so the visible records of each kind are a prefix of the
// index space and a request only needs the three prefix lengths (view).
// States of the new tasks are a function of the clock: their jobs start
// RUNNING and, a few seconds to minutes later, become COMPLETED or ERRORED
// as the plan says, and actions and tasks follow (liveSkel).

const (
	defaultLiveRate    = 5.0
	defaultLiveHorizon = 24 * time.Hour
	maxLiveJobs        = 1_000_000
)

type liveConfig struct {
	rate    float64 // jobs per second
	horizon time.Duration
	jobs    int // jobs laid out after the base data set
}

func newLiveConfig(opts Options) *liveConfig {
	lc := &liveConfig{rate: opts.LiveRate, horizon: opts.LiveHorizon}
	if lc.rate <= 0 || math.IsNaN(lc.rate) || math.IsInf(lc.rate, 0) {
		lc.rate = defaultLiveRate
	}
	if lc.horizon <= 0 {
		lc.horizon = defaultLiveHorizon
	}
	jobs := math.Ceil(lc.rate * lc.horizon.Seconds())
	lc.jobs = int(min(jobs, maxLiveJobs, float64(1<<31-1-opts.Scale-2*maxJobsPerTask)))
	lc.jobs = max(lc.jobs, 1)
	return lc
}

// extend lays out the live part of the data set.
func (g *gen) extend(lc *liveConfig) {
	g.liveMsPerJob = 1000 / lc.rate
	target := g.nJobs + lc.jobs
	jobs := g.nJobs
	for i := g.nTasks; jobs < target; i++ {
		p := g.plan(i)
		for a := 0; a < p.n; a++ {
			jobs += int(p.jobs[a])
			g.actJob = append(g.actJob, int32(jobs))
		}
		g.taskAct = append(g.taskAct, int32(len(g.actJob)-1))
	}
	g.taskAct = clip(g.taskAct)
	g.actJob = clip(g.actJob)
	g.hTasks, g.hActions, g.hJobs = len(g.taskAct)-1, len(g.actJob)-1, jobs
}

// liveJobMs is the creation time of live job k (k >= nJobs).
func (g *gen) liveJobMs(k int) int64 {
	return g.nowMs + int64(math.Ceil(float64(k-g.nJobs+1)*g.liveMsPerJob))
}

// liveTaskMs and liveActMs are the creation time of live task i and the
// start of live action a: just before their first job.
func (g *gen) liveTaskMs(i int) int64 { return g.liveJobMs(int(g.actJob[g.taskAct[i]])) - 50 }

func (g *gen) liveActMs(a int) int64 { return g.liveJobMs(int(g.actJob[a])) - 20 }

// view is what one request sees: the clock, and how many records of each
// kind exist at that time.
type view struct {
	at                      int64 // unix ms
	nTasks, nActions, nJobs int
	nEvents, nSoc           int // system events, Socotra events
}

func (s *Server) view() view {
	at := s.Now().UnixMilli()
	g := s.g
	v := view{at: at, nTasks: g.nTasks, nActions: g.nActions, nJobs: g.nJobs}
	if g.hJobs > g.nJobs {
		v.nJobs += sort.Search(g.hJobs-g.nJobs, func(x int) bool { return g.liveJobMs(g.nJobs+x) > at })
		v.nActions += sort.Search(g.hActions-g.nActions, func(x int) bool { return g.liveActMs(g.nActions+x) > at })
		v.nTasks += sort.Search(g.hTasks-g.nTasks, func(x int) bool { return g.liveTaskMs(g.nTasks+x) > at })
	}
	v.nEvents = s.ev.visible(at)
	v.nSoc = s.soc.visible(at)
	return v
}

// liveJobDuration is how long a live job runs: seconds, sometimes minutes.
func liveJobDuration(r *rng) int64 {
	x := r.float()
	switch {
	case x < 0.70:
		return int64(r.between(1000, 8000))
	case x < 0.95:
		return int64(r.between(8000, 45000))
	}
	return int64(r.between(45000, 240000))
}

// liveSkel fills t with the skeleton of live task i as of unix ms at. All
// random draws come first and do not depend on at, so the task's story is
// fixed and at only decides how much of it has happened.
func (g *gen) liveSkel(i int, at int64, t *taskSk) {
	*t = taskSk{i: i, pl: g.plan(i)}
	t.a0 = int(g.taskAct[i])
	t.na = int(g.taskAct[i+1]) - t.a0
	t.j0 = int(g.actJob[t.a0])
	t.nj = int(g.actJob[t.a0+t.na]) - t.j0
	r := newRNG(g.seed, streamLive, uint64(i))

	lastJobs := int(g.actJob[t.a0+t.na]) - int(g.actJob[t.a0+t.na-1])
	fail := t.pl.fail && lastJobs > 0
	fate := stCompleted
	if fail {
		fate = stErrored
	}
	created := g.liveTaskMs(i)
	started := g.liveActMs(t.a0) // with its first action

	// The whole story: final states and times.
	type jobStory struct {
		final                  uint8
		created, started, done int64
		cause, events          int
		changes                bool
	}
	var js [maxJobsPerTask]jobStory
	var actDone [maxActionsPerTask]int64
	end := started
	for p := 0; p < t.na; p++ {
		a := t.a0 + p
		as := &t.acts[p]
		as.a, as.st, as.firstErr = a, t.pl.step(p), -1
		as.j0 = int(g.actJob[a])
		as.nj = int(g.actJob[a+1]) - as.j0
		as.started = g.liveActMs(a)
		errAct := fail && p == t.na-1
		failAt, primary := -1, -1
		if errAct {
			failAt = 0
			if as.nj > 1 && r.chance(0.35) {
				failAt = r.intn(as.nj)
			}
			primary = causeFor(&r, as.st.ds, as.st.typ)
		}
		aEnd := as.started
		for j := 0; j < as.nj; j++ {
			s := &js[as.j0-t.j0+j]
			s.final, s.cause = stCompleted, -1
			switch {
			case errAct && j < failAt:
			case errAct && (j == failAt || r.chance(0.85)):
				s.final, s.cause = stErrored, primary
				if j != failAt && r.chance(0.25) {
					s.cause = causeFor(&r, as.st.ds, as.st.typ)
				}
			case !errAct && r.chance(0.01):
				s.final = stSkipped
			}
			s.created = g.liveJobMs(as.j0 + j)
			s.started = s.created + int64(r.between(1, 50))
			d := liveJobDuration(&r)
			if s.final == stSkipped {
				d = int64(r.between(1, 30))
			}
			s.done = s.started + d
			if s.final == stCompleted && r.chance(0.85) {
				s.changes, s.events = true, r.between(1, 3)
			}
			aEnd = max(aEnd, s.done)
		}
		switch {
		case as.nj > 0:
			aEnd += int64(r.between(20, 400))
		case as.st.typ == "PAUSE":
			aEnd += int64(r.between(5, 60)) * 1000
		default:
			aEnd += int64(r.between(100, 900))
		}
		actDone[p] = aEnd
		end = max(end, aEnd)
	}
	done := end + int64(r.between(50, 500))

	// What has happened by at.
	t.created, t.upd = created, created
	seen := func(ms int64) int64 {
		if ms <= at {
			t.upd = max(t.upd, ms)
			return ms
		}
		return 0
	}
	switch {
	case at < started:
		t.fate = stPending
	case at < done:
		t.fate, t.started = stRunning, seen(started)
	default:
		t.fate, t.started, t.completed = fate, seen(started), seen(done)
	}
	for p := 0; p < t.na; p++ {
		as := &t.acts[p]
		for j := 0; j < as.nj; j++ {
			local := as.j0 - t.j0 + j
			s, o := &js[local], &t.jobs[local]
			o.cause = -1
			o.created = s.created
			switch {
			case at < s.created:
				o.state = stPending // not visible yet
				continue
			case at < s.started:
				o.state = stPending
			case at < s.done:
				o.state, o.started = stRunning, s.started
			default:
				o.state, o.started, o.completed = s.final, s.started, s.done
				o.cause, o.changes, o.events = s.cause, s.changes, s.events
				as.changes = as.changes || s.changes
			}
			as.jobsSeen++
			seen(o.created)
			seen(o.started)
			seen(o.completed)
		}
		switch {
		case at < as.started:
			as.state, as.started = stPending, 0 // not visible yet
		case at < actDone[p]:
			as.state = stRunning
			seen(as.started)
		default:
			as.state, as.completed = stCompleted, seen(actDone[p])
			seen(as.started)
			if fail && p == t.na-1 {
				as.state = stErrored
				for j := 0; j < as.nj; j++ {
					if t.jobs[as.j0-t.j0+j].state == stErrored {
						as.firstErr = j
						break
					}
				}
			}
		}
		t.changes = t.changes || as.changes
	}
}

// liveStates adds the states of the visible live records to c.
func (g *gen) liveStates(v *view, c *[3][numStates]int) {
	var t taskSk
	for i := g.nTasks; i < v.nTasks; i++ {
		g.skelAt(i, v.at, &t)
		c[entTasks][t.fate]++
		for p := 0; p < t.na && t.a0+p < v.nActions; p++ {
			c[entActions][t.acts[p].state]++
		}
		for j := 0; j < t.nj && t.j0+j < v.nJobs; j++ {
			c[entJobs][t.jobs[j].state]++
		}
	}
}

// ordering is a list traversal by started_at or completed_at: the base
// records' sorted permutation merged with the visible live records. Unset
// times sort first (by index) and every live time is after every base time,
// so the merge is: base unset, live unset, base set, live set.
type ordering struct {
	base      sortedPerm
	liveUnset []int32
	liveSet   []int32
}

func (o *ordering) len() int { return len(o.base.perm) + len(o.liveUnset) + len(o.liveSet) }

func (o *ordering) at(p int) int {
	if p < o.base.unset {
		return int(o.base.perm[p])
	}
	p -= o.base.unset
	if p < len(o.liveUnset) {
		return int(o.liveUnset[p])
	}
	p -= len(o.liveUnset)
	if rest := len(o.base.perm) - o.base.unset; p < rest {
		return int(o.base.perm[o.base.unset+p])
	}
	return int(o.liveSet[p-len(o.base.perm)+o.base.unset])
}

// order returns the traversal of ent by field as seen by v.
func (s *Server) order(ent int, field string, v *view) *ordering {
	o := &ordering{base: s.perm(ent, field)}
	g := s.g
	if v.nTasks == g.nTasks && v.nActions == g.nActions && v.nJobs == g.nJobs {
		return o
	}
	type keyed struct {
		ms  int64
		idx int32
	}
	var set []keyed
	add := func(started, completed int64, idx int) {
		ms := completed
		if field == "started_at" {
			ms = started
		}
		if ms == 0 {
			o.liveUnset = append(o.liveUnset, int32(idx))
		} else {
			set = append(set, keyed{ms, int32(idx)})
		}
	}
	var t taskSk
	for i := g.nTasks; i < v.nTasks; i++ {
		g.skelAt(i, v.at, &t)
		switch ent {
		case entTasks:
			add(t.started, t.completed, i)
		case entActions:
			for p := 0; p < t.na && t.a0+p < v.nActions; p++ {
				add(t.acts[p].started, t.acts[p].completed, t.a0+p)
			}
		case entJobs:
			for j := 0; j < t.nj && t.j0+j < v.nJobs; j++ {
				add(t.jobs[j].started, t.jobs[j].completed, t.j0+j)
			}
		}
	}
	slices.SortFunc(set, func(a, b keyed) int {
		if a.ms != b.ms {
			return int(a.ms - b.ms)
		}
		return int(a.idx - b.idx)
	})
	o.liveSet = make([]int32, len(set))
	for i, k := range set {
		o.liveSet[i] = k.idx
	}
	return o
}
