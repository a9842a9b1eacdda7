package store

import "testing"

func TestScratchSizes(t *testing.T) {
	g := newGen(7)
	var raw, req, res int
	rows := g.jobs(1000, 37, true)
	for _, r := range rows {
		raw += len(r.Raw)
		req += len(r.Request)
		res += len(r.Result)
	}
	t.Logf("raw %d req %d res %d", raw/1000, req/1000, res/1000)
	t.Log(string(rows[0].Raw))
}

func TestScratchPlan(t *testing.T) {
	s := openTest(t)
	for _, q := range []string{jobsWrite.lookup, actionsWrite.lookup, tasksWrite.lookup} {
		r, err := s.r.Query("EXPLAIN QUERY PLAN "+q, "[]")
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var a, b, c int
			var d string
			r.Scan(&a, &b, &c, &d)
			t.Log(d)
		}
		r.Close()
	}
}
