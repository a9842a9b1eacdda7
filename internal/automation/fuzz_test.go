package automation

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// FuzzValidate feeds Validate arbitrary automations, as JSON (the way a
// server or a CLI file delivers them) and as raw field values (the way the
// editor does). Properties: it never panics; every violation names a known
// field and says something; Normalize is idempotent; a valid automation
// stays valid after its canonical form goes over the wire and back.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(seedHighlight), "", "", "", "", "", "")
	f.Add([]byte(seedReject), "", "", "", "", "", "")
	f.Add([]byte(`{"name":"x","action":{"decision":2,"signed_off_state":1}}`), "n", `source.a eq "1"`, `previous.decision eq "RESULT_DECISION_NONE"`, "fixed", "0", "")
	f.Add([]byte(`{"name":"x","action":{"display_style":"HIGHLIGHT","highlight_color":"#ABCDEF"}}`), "x", `joined_nodes.idp.a eq "b"`, "", "", "", "#ABCDEF")
	f.Add([]byte(`{}`), "", `not (idp.id pr) and (a.b eq 1 or c.d ne "x")`, `previous.notes co "é\u0000"`, "RESULT_DECISION_", "UNKNOWN", "#12345")
	f.Add([]byte(`{"action":{"reviewer_assignment":{"users_manager":true}}}`), "z", "((((", ")", "-0", "+1", "#fffFFF")
	f.Fuzz(func(t *testing.T, raw []byte, name, flt, mutable, decision, signed, color string) {
		var a veza.Automation
		if json.Unmarshal(raw, &a) != nil {
			a = veza.Automation{}
		}
		check(t, a)
		a.Name, a.Criteria.Filter, a.Criteria.MutableFilter = name, flt, mutable
		a.Action.Decision, a.Action.SignedOffState, a.Action.HighlightColor = veza.EnumValue(decision), veza.EnumValue(signed), color
		check(t, a)
		a.Action.DisplayStyle = "HIGHLIGHT"
		check(t, a)
	})
}

func check(t *testing.T, a veza.Automation) {
	n, vs := Normalize(a)
	for _, v := range vs {
		if !slices.Contains(Fields, v.Field) || strings.TrimSpace(v.Description) == "" {
			t.Fatalf("bad violation %+v", v)
		}
	}
	n2, vs2 := Normalize(n)
	if Pretty(n2) != Pretty(n) {
		t.Fatalf("Normalize is not idempotent:\n%s", Diff(n, n2))
	}
	if len(vs) != len(vs2) {
		t.Fatalf("normalising changed the verdict: %+v then %+v", vs, vs2)
	}
	if len(vs) > 0 {
		return
	}
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	var back veza.Automation
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("canonical form does not decode: %v: %s", err, b)
	}
	if vs := Validate(back); len(vs) > 0 {
		t.Fatalf("valid automation invalid after a round trip: %+v\n%s", vs, b)
	}
	if Diff(n, back) != "" {
		t.Fatalf("round trip changed it:\n%s", Diff(n, back))
	}
}
