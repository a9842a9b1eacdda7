package emulator

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// taskMat is a task materialised into wire types: the task, its actions and
// its jobs (without payloads). A page of jobs shares one taskMat per task.
type taskMat struct {
	sk       taskSk
	who      identity
	extrType string
	task     veza.Task
	acts     [maxActionsPerTask]veza.Action
	jobs     [maxJobsPerTask]veza.Job
	errs     [maxJobsPerTask]string // error text of each ERRORED job
	groups   [maxJobsPerTask]string // group/role each job is about
	actOf    [maxJobsPerTask]int8   // action position of each job
}

var extractionTypes = []string{"SCHEDULED", "CHANGE_EVENT", "MANUAL"}

const extractionBatch = 37 // consecutive tasks triggered by one extraction event

func tp(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// jobGroup is the group or role job k is about (for relationship actions)
// or would have touched.
func (g *gen) jobGroup(k int, who *identity) string {
	r := newRNG(g.seed, streamTarget, uint64(k))
	if r.chance(0.5) {
		return who.dept + "-" + who.region
	}
	return groupName(r.intn(numGroups()))
}

// errText is the error text of job k failing for cause c.
func (g *gen) errText(k, c int, ctx *errCtx) string {
	r := newRNG(g.seed, streamJobErr, uint64(k))
	s := causes[c].text(&r, ctx)
	if r.chance(0.004) {
		s += " " + pick(&r, hostileStrings)
	}
	return s
}

// mat materialises task i into m as of Now.
func (g *gen) mat(i int, m *taskMat) { g.matAt(i, g.nowMs, m) }

// matAt materialises task i into m as of unix ms at (see skelAt).
func (g *gen) matAt(i int, at int64, m *taskMat) {
	g.skelAt(i, at, &m.sk)
	t := &m.sk
	r := newRNG(g.seed, streamTask, uint64(i))
	pol := &policies[t.pl.pol]
	wf := &pol.workflows[t.pl.wf]
	idIdx := r.intn(g.nIdentities)
	m.who = g.identity(idIdx)
	who := &m.who

	batch := i / extractionBatch
	br := newRNG(g.seed, streamTask, uint64(batch)|1<<48)
	m.extrType = extractionTypes[br.weighted([]int{65, 30, 5})]
	extraction := g.ids.uuid(kindExtraction, batch)

	taskID := g.ids.uuid(kindTask, i)
	policyID := g.ids.uuid(kindPolicy, t.pl.pol)
	identityID := g.ids.uuid(kindIdentity, idIdx)

	// Error texts first: the task and its actions quote them.
	var msgs []string
	for p := 0; p < t.na; p++ {
		as := &t.acts[p]
		for j := 0; j < as.nj; j++ {
			local := as.j0 - t.j0 + j
			m.actOf[local] = int8(p)
			m.groups[local] = g.jobGroup(as.j0+j, who)
			m.errs[local] = ""
			if js := &t.jobs[local]; js.cause >= 0 {
				ctx := errCtx{who: who, ds: as.st.ds, group: m.groups[local], actionType: as.st.typ, at: time.UnixMilli(js.started).UTC()}
				m.errs[local] = g.errText(as.j0+j, js.cause, &ctx)
				// Only a failed task quotes them (a live task may hold an
				// ERRORED job while its action still runs).
				if t.fate == stErrored && len(msgs) < 5 && !slices.Contains(msgs, m.errs[local]) {
					msgs = append(msgs, m.errs[local])
				}
			}
		}
	}

	prio := []int{0, 1, 3, 5, 5, 5, 5, 7, 8, 10}[r.intn(10)]
	tk := veza.Task{
		ID:                  taskID,
		PolicyID:            policyID,
		PolicyVersionNumber: pol.version + int(3*(t.created-g.startMs)/max(g.spanMs, 1)),
		Workflow:            wf.name,
		EntityType:          dataSources[pol.source].userType,
		EntityID:            strconv.Itoa(who.empID),
		IdentityID:          identityID,
		IdentityName:        who.name,
		IdentityStatus:      pol.status,
		State:               veza.States[t.fate],
		DryRun:              r.chance(0.01),
		ExtractionEvent:     extraction,
		ScheduledAt:         tp(t.scheduled),
		StartedAt:           tp(t.started),
		CompletedAt:         tp(t.completed),
		AnyChanges:          t.changes,
		Priority:            prio,
		HighPriority:        prio >= 8 || pol.name == "Emergency Termination",
		Messages:            msgs,
		TCreatedAt:          tp(t.created),
		TUpdatedAt:          tp(t.upd),
	}
	if i > 0 && r.chance(0.03) {
		tk.PreviousTaskID = g.ids.uuid(kindTask, i-r.between(1, min(i, 5000)))
	}
	if m.extrType == "MANUAL" {
		tk.ManuallyTriggered = true
		_, _, _, login, _ := g.person(br.intn(12)) // a dozen admins
		tk.ManuallyTriggeredBy = login + "@example.com"
	}
	switch t.fate {
	case stBlocked, stAbandoned:
		tk.RuntimeChangeLimitReached = true
		limit := []int{50, 100, 250}[r.intn(3)]
		tk.Reason = fmt.Sprintf("Runtime change limit reached: %d pending changes exceed the limit of %d for policy %s", limit+r.between(1, limit), limit, pol.name)
		if t.fate == stAbandoned {
			by := tk.ManuallyTriggeredBy
			if by == "" {
				by = "secops-admin@example.com"
			}
			tk.Reason += "; abandoned by " + by
		}
	case stSkipped:
		tk.Reason = pick(&r, []string{"Identity does not match workflow conditions", "Superseded by a newer task for the same identity", "Identity is excluded by policy scope"})
	case stErrored:
		tk.Reason = fmt.Sprintf("Action %q failed", t.acts[t.na-1].st.name)
	default:
		if pol.name == "Mover" || pol.name == "Role Change" {
			tk.Reason = fmt.Sprintf("Attribute changed: %s (%s → %s)", pick(&r, []string{"department", "job_profile", "location", "manager_id"}),
				pick(&r, departments), who.dept)
		}
	}
	tk.DisregardChangeLimit = !tk.RuntimeChangeLimitReached && r.chance(0.02)
	m.task = tk

	for p := 0; p < t.na; p++ {
		as := &t.acts[p]
		act := veza.Action{
			State:           veza.States[as.state],
			PolicyTask:      taskID,
			ActionName:      as.st.name,
			ActionType:      as.st.typ,
			PolicyID:        policyID,
			WorkflowName:    wf.name,
			IdentityID:      identityID,
			IdentityName:    who.name,
			StartedAt:       tp(as.started),
			CompletedAt:     tp(as.completed),
			AnyChanges:      as.changes,
			ExtractionEvent: extraction,
			JobsStarted:     as.jobsSeen,
		}
		if as.firstErr >= 0 {
			act.ErrorMessage = m.errs[as.j0-t.j0+as.firstErr]
		}
		m.acts[p] = act
		source, sourceID := "POLICY", policyID
		if as.st.typ == "ACCESS_PLAN" {
			source, sourceID = "ACCESS_PLAN", g.ids.uuid(kindAccessPlan, t.pl.pol*8+t.pl.wf)
		}
		for j := 0; j < as.nj; j++ {
			local := as.j0 - t.j0 + j
			js := &t.jobs[local]
			m.jobs[local] = veza.Job{
				JobID:               g.ids.uuid(kindJob, as.j0+j),
				State:               veza.States[js.state],
				PolicyTask:          taskID,
				ActionName:          as.st.name,
				ActionType:          as.st.typ,
				PolicyID:            policyID,
				WorkflowName:        wf.name,
				IdentityID:          identityID,
				IdentityName:        who.name,
				EventSource:         source,
				EventSourceID:       sourceID,
				ExtractionEvent:     extraction,
				ExtractionEventType: m.extrType,
				StartedAt:           tp(js.started),
				CompletedAt:         tp(js.completed),
				CreatedAt:           tp(js.created),
				AnyChanges:          js.changes,
				EventsCreated:       js.events,
			}
		}
	}
	g.writes.apply(i, at, m) // restarts, unblocks and pushed results
}

// matCache keeps the last few materialised tasks, so walking jobs or
// actions in index order materialises each task once, and a walk in time
// order (where neighbours mostly share a few tasks) rarely repeats work.
type matCache struct {
	g     *gen
	at    int64 // unix ms the records are materialised as of
	slots [4]taskMat
	have  [4]bool
	next  int
}

func (c *matCache) task(i int) *taskMat {
	for s := range c.slots {
		if c.have[s] && c.slots[s].sk.i == i {
			return &c.slots[s]
		}
	}
	s := c.next
	c.next = (c.next + 1) % len(c.slots)
	c.g.matAt(i, c.at, &c.slots[s])
	c.have[s] = true
	return &c.slots[s]
}
