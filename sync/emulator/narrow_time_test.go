package emulator

import (
	"fmt"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// TestJobTimeNarrowing: a created_at bound on the jobs list returns exactly
// the jobs an unbounded listing has in that range (base and live data, both
// orders, each operator), and a bound near the end examines only the
// records near the end.
func TestJobTimeNarrowing(t *testing.T) {
	now := DefaultNow
	clock := func() time.Time { return now.Add(10 * time.Minute) }
	s := New(Options{Seed: 4, Scale: 1500, Live: true, LiveRate: 2, Clock: clock})
	every, _ := all[veza.Job](t, s, jobsPath, vals("page_size", "100"))
	if len(every) < 1500 {
		t.Fatalf("%d jobs", len(every))
	}
	for i := 1; i < len(every); i++ {
		if every[i].CreatedAt.Before(*every[i-1].CreatedAt) {
			t.Fatalf("job %d created before job %d: the narrowing assumes creation order", i, i-1)
		}
	}
	ms := func(j veza.Job) int64 { return j.CreatedAt.UnixMilli() }
	for _, at := range []int{0, 750, 1499, 1500, len(every) - 1} {
		tm := every[at].CreatedAt.UTC()
		for _, op := range []string{"ge", "gt", "le", "lt"} {
			for _, order := range []string{"created_at asc", "created_at desc"} {
				f := fmt.Sprintf("created_at %s %q", op, tm.Format(time.RFC3339Nano))
				got, _ := all[veza.Job](t, s, jobsPath, vals("filter", f, "order_by", order, "page_size", "100"))
				var want []string
				for _, j := range every {
					c := ms(j) - tm.UnixMilli()
					if op == "ge" && c >= 0 || op == "gt" && c > 0 || op == "le" && c <= 0 || op == "lt" && c < 0 {
						want = append(want, j.JobID)
					}
				}
				if order == "created_at desc" {
					for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
						want[i], want[j] = want[j], want[i]
					}
				}
				if len(got) != len(want) {
					t.Fatalf("%s (%s): %d jobs, want %d", f, order, len(got), len(want))
				}
				for i := range got {
					if got[i].JobID != want[i] {
						t.Fatalf("%s (%s): job %d is %s, want %s", f, order, i, got[i].JobID, want[i])
					}
				}
			}
		}
	}
	// An incremental sync's filter near the end looks at the end only.
	tm := every[len(every)-50].CreatedAt.UTC()
	before := s.examined.Load()
	got, _ := all[veza.Job](t, s, jobsPath, vals("filter", fmt.Sprintf("created_at ge %q", tm.Format(time.RFC3339Nano)), "order_by", "created_at asc"))
	if n := s.examined.Load() - before; n > 100 || len(got) < 50 {
		t.Errorf("created_at ge (the last 50 jobs): %d jobs, %d records examined", len(got), n)
	}
	// Combined with other terms (and an id pin) it still intersects.
	pinned := every[100]
	f := fmt.Sprintf("created_at ge %q and job_id eq %q", every[50].CreatedAt.UTC().Format(time.RFC3339Nano), pinned.JobID)
	if got, _ := all[veza.Job](t, s, jobsPath, vals("filter", f)); len(got) != 1 || got[0].JobID != pinned.JobID {
		t.Errorf("%s: %d jobs", f, len(got))
	}
	f = fmt.Sprintf("created_at gt %q and job_id eq %q", every[200].CreatedAt.UTC().Format(time.RFC3339Nano), pinned.JobID)
	if got, _ := all[veza.Job](t, s, jobsPath, vals("filter", f)); len(got) != 0 {
		t.Errorf("%s: %d jobs, want none", f, len(got))
	}
}
