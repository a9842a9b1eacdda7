package emulator

import (
	"sort"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/store/filter"
)

// Narrowing a jobs list by creation time. Jobs are numbered in creation
// order, so "created_at ge T" (the filter of every incremental sync) is a
// suffix of the index space, found by binary search. Without this a list
// request examined scanBudget records from the start per page and came back
// empty until it reached T: five empty 0.5 s pages on a 1M-job tenant
// before the first new job (scripts/bench.sh, incremental sync).

// jobCreatedMs is job k's creation time as the generator lays it out
// (gen.skelAt for the base data, live.go for the jobs after it). It never
// decreases with k.
func (g *gen) jobCreatedMs(k int) int64 {
	if k >= g.nJobs {
		return g.liveJobMs(k)
	}
	a := g.actionOfJob(k)
	return g.evtTime(g.taskOfAction(a) + a + k + 2)
}

// narrowJobTime returns the range of job indexes that the created_at
// bounds among the top-level "and" terms of n allow, or ok false when n
// has none. The range is a superset (a second of slack and a few records
// each side): the filter itself still decides every record in it.
func narrowJobTime(g *gen, v *view, n filter.Node) (lo, hi int, ok bool) {
	lo, hi = 0, v.nJobs
	const slackMs, slackRecs = 1000, 4
	var walk func(n filter.Node)
	walk = func(n filter.Node) {
		switch n := n.(type) {
		case *filter.Logical:
			if n != nil && strings.EqualFold(n.Op, "and") {
				walk(n.Left)
				walk(n.Right)
			}
		case *filter.Compare:
			if n == nil || n.Value.Kind != filter.ValueString || !strings.EqualFold(n.Attr, "created_at") {
				return
			}
			t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(n.Value.Str))
			if err != nil {
				return
			}
			ms := t.UnixMilli()
			first := func(bound int64) int { // first job created at or after bound
				return sort.Search(v.nJobs, func(k int) bool { return g.jobCreatedMs(k) >= bound })
			}
			switch n.Op {
			case filter.OpGe, filter.OpGt:
				lo, ok = max(lo, first(ms-slackMs)-slackRecs), true
			case filter.OpLe, filter.OpLt:
				hi, ok = min(hi, first(ms+slackMs+1)+slackRecs), true
			}
		}
	}
	walk(n)
	lo, hi = max(lo, 0), min(hi, v.nJobs)
	if hi < lo {
		hi = lo
	}
	return lo, hi, ok
}

// narrowJobs is the jobs list's narrow: the id pins and the time bounds,
// intersected.
func narrowJobs(g *gen, v *view, n filter.Node, byID func() (int, int, bool)) (int, int, bool) {
	lo, hi, ok := byID()
	tlo, thi, tok := narrowJobTime(g, v, n)
	switch {
	case !tok:
		return lo, hi, ok
	case !ok:
		return tlo, thi, true
	}
	lo, hi = max(lo, tlo), min(hi, thi)
	if hi < lo {
		hi = lo
	}
	return lo, hi, true
}
