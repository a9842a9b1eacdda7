package store

import (
	filter "github.com/opsdeck/opsdeck/store/internal/filterstub"
	"testing"
)

func TestScratch(t *testing.T) {
	s := openTest(t)
	g := newGen(1)
	rows := g.jobs(2000, 1, true)
	st, err := s.WriteJobs(ctx, rows, &Cursor{"veza/jobs", "tok1"})
	t.Log(st, err)
	st, err = s.WriteJobs(ctx, rows, nil)
	t.Log(st, err)
	rows[0].State = "ERRORED"
	rows[1].Request, rows[1].Result = nil, nil
	rows[1].Raw = rawJob(rows[1])
	st, err = s.WriteJobs(ctx, rows[:2], nil)
	t.Log(st, err)
	t.Log(s.StateCounts(ctx, "jobs"))
	j, err := s.Job(ctx, rows[1].JobID)
	t.Log(string(j.Raw), len(j.Request), string(j.Result), j.ErrorMessage, err)
	for _, q := range []Query{{Desc: true}, {Desc: true, Where: &filter.Compare{Field: "state", Op: "eq", Value: "ERRORED"}}} {
		for _, after := range []*Key{nil, {Sort: int64(5), RowID: 7}} {
			for _, bw := range []bool{false, true} {
				sq, args, _ := jobsEntity.pageSQL(q, after, bw, 50, false)
				r, _ := s.r.Query("EXPLAIN QUERY PLAN "+sq, args...)
				for r.Next() {
					var a, b, c int
					var d string
					r.Scan(&a, &b, &c, &d)
					t.Log(after != nil, bw, d)
				}
				r.Close()
			}
		}
	}
	t.Log(jobUpsertSQL)
}
