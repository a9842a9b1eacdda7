package emulator

import (
	"net/url"
	"testing"

	"github.com/opsdeck/opsdeck/internal/hostile"
	"github.com/opsdeck/opsdeck/sync/veza"
)

func TestHostileModeTaintsTextButNotKeys(t *testing.T) {
	plain := New(Options{Seed: 3, Scale: 300})
	evil := New(Options{Seed: 3, Scale: 300, Hostile: true})
	q := url.Values{"page_size": {"50"}}
	a := page[veza.Job](t, plain, jobsPath, q)
	b := page[veza.Job](t, evil, jobsPath, q)
	if len(a.Values) != len(b.Values) || len(a.Values) == 0 {
		t.Fatalf("pages differ in length: %d vs %d", len(a.Values), len(b.Values))
	}
	tainted := 0
	for i := range a.Values {
		x, y := a.Values[i], b.Values[i]
		if x.JobID != y.JobID || x.State != y.State || x.PolicyTask != y.PolicyTask || x.ActionType != y.ActionType {
			t.Fatalf("hostile mode changed a key or enum: %+v vs %+v", x, y)
		}
		if !x.CreatedAt.Equal(*y.CreatedAt) {
			t.Fatalf("hostile mode changed a time")
		}
		if y.IdentityName == x.IdentityName || y.WorkflowName == x.WorkflowName {
			t.Fatalf("free text not tainted: %q", y.IdentityName)
		}
		if hostile.Forbidden(y.IdentityName) != "" || hostile.Forbidden(y.ActionName) != "" {
			tainted++
		}
	}
	if tainted < len(a.Values)/2 {
		t.Fatalf("only %d of %d jobs carry forbidden characters", tainted, len(a.Values))
	}
	// Deterministic: the same page twice is the same bytes.
	r1, r2 := do(t, evil, jobsPath, q), do(t, evil, jobsPath, q)
	if r1.Body.String() != r2.Body.String() {
		t.Fatal("hostile answers are not deterministic")
	}
}
