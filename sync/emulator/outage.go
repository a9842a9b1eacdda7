package emulator

import (
	"fmt"
	"strconv"
	"time"
)

// The incident the demo's :timeline tells: a while before Now, the Insight
// Point that Active Directory is reached through (insight-point-3) stops
// answering for three hours. The system events say so first (the event
// just before the outage is an INSIGHT_POINT_UNAVAILABLE of that Insight
// Point), then the AD actions that run during the outage fail, every one of
// their jobs with the same error. Nothing is added, removed or moved: the
// tasks whose last action talks to AD and starts during the outage end
// ERRORED instead of how they would have ended, and the one event becomes
// the outage's. How many jobs that makes depends on Scale, the data being
// spread evenly over 30 days: about 9 at the demo's 30,000 jobs, 20 at
// 100,000, 170 at 1,000,000 (a task's workflow can only fail at its last
// action, and about one in eleven ends on AD).

const (
	// outageLead: the outage ends this long before the newest data, well
	// inside the default :timeline window (the last day).
	outageLead = 2 * time.Hour
	outageLen  = 3 * time.Hour
	outageDS   = dsAD
	// outagePoint indexes insightPoints: AD's insight-point-3.
	outagePoint = 0
)

// outageCause is the index in causes of the outage's error. It is never
// drawn at random (no data source lists it), only given to the outage's
// jobs.
var outageCause int

func init() {
	causes = append(causes, cause{name: "insight_point_unavailable", ds: []int{},
		text: func(r *rng, c *errCtx) string {
			// One signature for the whole outage: what varies is numbers.
			return fmt.Sprintf("agent %s unavailable: no heartbeat for %ds, job not dispatched (request %s)",
				insightPoints[outagePoint], r.between(30, 2700), r.hex(16))
		}})
	outageCause = len(causes) - 1
}

// outageSpan is the outage, unix ms: start <= t < end.
func (g *gen) outageSpan() (start, end int64) {
	end = g.nowMs - quietTail.Milliseconds() - outageLead.Milliseconds()
	return end - outageLen.Milliseconds(), end
}

// outageHits reports whether the outage makes task i (its skeleton filled
// up to its fate) fail: a settled task of the base data whose last action
// talks to AD, has jobs, and starts during the outage.
func (g *gen) outageHits(i int, t *taskSk) bool {
	if i >= g.nTasks-g.inflight || t.na != t.pl.n || t.na == 0 {
		return false
	}
	p := t.na - 1
	if t.pl.step(p).ds != outageDS {
		return false
	}
	a := t.a0 + p
	j0 := int(g.actJob[a])
	if int(g.actJob[a+1]) == j0 {
		return false
	}
	at := g.evtTime(i + 1 + a + j0) // the action's start, as skelAt places it
	start, end := g.outageSpan()
	return at >= start && at < end
}

// outageEventIndex is the base event just before the outage starts (the
// one that becomes the outage event), or -1 when there is none or it is
// one of seed 002's examples.
func (l *eventLog) outageEventIndex() int {
	start, _ := l.g.outageSpan()
	i := l.firstAtOrAfter(start*1e6, false) - 1
	if i < 0 || i >= l.n || i == l.examples[0] || i == l.examples[1] {
		return -1
	}
	return i
}

// outageEvent is event i turned into the outage's announcement.
func (l *eventLog) outageEvent(i int, ts int64) (SystemEvent, int) {
	t := eventTypeIndex("INSIGHT_POINT_UNAVAILABLE")
	et := &eventTypes[t]
	r := newRNG(l.g.seed, streamEvent, uint64(i))
	const silent = 5 * time.Minute
	e := SystemEvent{
		ID:         l.g.ids.uuid(kindEvent, i),
		Timestamp:  time.Unix(0, ts).UTC(),
		Category:   et.category,
		Severity:   "ERROR",
		Name:       et.title,
		Entity:     et.entity,
		EventType:  et.name,
		EntityID:   l.g.ids.uuid(kindInsightPoint, outagePoint),
		EntityName: insightPoints[outagePoint],
		Message: fmt.Sprintf("Insight Point %q is unavailable: no heartbeat from any instance for %s",
			insightPoints[outagePoint], silent),
		Error: &EventError{Reason: "INSIGHT_POINT_UNAVAILABLE", Message: "All instances are unavailable.",
			Resolution: "Check that the Insight Point host is running and can reach the Veza control plane.",
			RequestID:  requestHex(&r),
			Metadata: map[string]string{"instances": strconv.Itoa(r.between(1, 3)),
				"last_heartbeat": time.UnixMilli(ts/1e6 - silent.Milliseconds()).UTC().Format(time.RFC3339),
				"data_sources":   dataSources[outageDS].name}},
	}
	return e, t
}
