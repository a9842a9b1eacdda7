package automation

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// seedHighlight and seedReject are seed 003's two examples, verbatim.
const seedHighlight = `{
  "id": "e48dd2c8-3633-463b-a477-0177a942b5a6",
  "name": "Highlight inactive sources",
  "description": "Highlight rows where the source account is inactive",
  "priority": 0,
  "attachment_behavior": {
    "attach_to_new_workflows": true,
    "opt_in": true
  },
  "criteria": {
    "filter": "source.is_active eq false",
    "mutable_filter": ""
  },
  "action": {
    "display_style": "HIGHLIGHT",
    "display_text": "Source account is inactive",
    "highlight_color": "#FF6B35"
  }
}`

const seedReject = `{
  "id": "f59ee3d9-4744-574c-b588-1288b0942c7c",
  "name": "Reject privileged account access",
  "description": "Suggest reject for admin or root accounts",
  "priority": 0,
  "attachment_behavior": {
    "attach_to_new_workflows": true,
    "opt_in": true
  },
  "criteria": {
    "filter": "(destination.name eq \"admin\") OR (source.name eq \"root\")",
    "mutable_filter": ""
  },
  "action": {
    "display_style": "SUGGEST_REJECT",
    "display_text": "Privileged account detected - review carefully"
  }
}`

func decode(t testing.TB, s string) veza.Automation {
	t.Helper()
	var a veza.Automation
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func modification() veza.Automation {
	return veza.Automation{Name: "Approve unchanged", Criteria: veza.AutomationCriteria{Filter: "source.is_active eq true"},
		Action: veza.AutomationAction{Decision: "ACCEPTED", Notes: "ok"}}
}

func display() veza.Automation {
	return veza.Automation{Name: "Flag", Criteria: veza.AutomationCriteria{Filter: "source.is_active eq false"},
		Action: veza.AutomationAction{DisplayStyle: "HIGHLIGHT", HighlightColor: "#a1B2c3"}}
}

func fields(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Field)
	}
	return out
}

func TestSeedExamplesAreValid(t *testing.T) {
	for _, s := range []string{seedHighlight, seedReject} {
		a := decode(t, s)
		if vs := Validate(a); len(vs) > 0 {
			t.Errorf("%s: %+v", a.Name, vs)
		}
		n, _ := Normalize(a)
		if Diff(a, n) != "" {
			t.Errorf("%s is not already canonical:\n%s", a.Name, Diff(a, n))
		}
	}
	if k := KindOf(decode(t, seedHighlight)); k != KindHighlight {
		t.Errorf("kind %q", k)
	}
	if k := KindOf(decode(t, seedReject)); k != KindSuggestReject || !k.IsDisplay() {
		t.Errorf("kind %q", k)
	}
}

// TestValidateRules is one case per rule of seed 003 / issue #5, valid and
// invalid.
func TestValidateRules(t *testing.T) {
	type tc struct {
		name string
		edit func(a *veza.Automation)
		base func() veza.Automation
		want []string // violated fields; nil means valid
		msg  string   // a word the first violation must contain
	}
	mod, disp := modification, display
	cases := []tc{
		// name
		{"name ok", func(a *veza.Automation) {}, mod, nil, ""},
		{"name missing", func(a *veza.Automation) { a.Name = "  " }, mod, []string{FieldName}, "required"},
		{"name too long", func(a *veza.Automation) { a.Name = strings.Repeat("x", MaxNameBytes+1) }, mod, []string{FieldName}, "bytes"},

		// criteria.filter: SCIM over source/destination/alias
		{"filter source", func(a *veza.Automation) { a.Criteria.Filter = "source.is_active eq false" }, mod, nil, ""},
		{"filter destination", func(a *veza.Automation) { a.Criteria.Filter = `destination.name sw "Admin"` }, mod, nil, ""},
		{"filter joined alias", func(a *veza.Automation) { a.Criteria.Filter = `idp.department eq "IT" and hris.status ne "Active"` }, mod, nil, ""},
		{"filter complex", func(a *veza.Automation) {
			a.Criteria.Filter = `(source.name sw "A" OR source.name sw "B") AND destination.is_active eq true`
		}, mod, nil, ""},
		{"filter not/pr", func(a *veza.Automation) { a.Criteria.Filter = `not (idp.id pr)` }, mod, nil, ""},
		{"filter blank", func(a *veza.Automation) { a.Criteria.Filter = "  " }, mod, nil, ""},
		{"filter syntax", func(a *veza.Automation) { a.Criteria.Filter = "source.is_active eq" }, mod, []string{FieldFilter}, "col"},
		{"filter unbalanced", func(a *veza.Automation) { a.Criteria.Filter = `(source.a eq "x"` }, mod, []string{FieldFilter}, "col"},
		{"filter bare attribute", func(a *veza.Automation) { a.Criteria.Filter = "is_active eq false" }, mod, []string{FieldFilter}, "source.<attribute>"},
		{"filter empty attribute", func(a *veza.Automation) { a.Criteria.Filter = `source. eq "x"` }, mod, []string{FieldFilter}, "source.<attribute>"},
		{"filter joined_nodes", func(a *veza.Automation) { a.Criteria.Filter = `joined_nodes.idp.department eq "IT"` }, mod, []string{FieldFilter}, "idp.department"},
		{"filter previous", func(a *veza.Automation) {
			a.Criteria.Filter = `previous.decision eq "RESULT_DECISION_ACCEPTED"`
		}, mod, []string{FieldFilter}, "mutable_filter"},
		{"filter bad alias", func(a *veza.Automation) { a.Criteria.Filter = `id-p.x eq "1"` }, mod, []string{FieldFilter}, "alias"},
		{"filter bad start", func(a *veza.Automation) { a.Criteria.Filter = `9idp.x eq "1"` }, mod, []string{FieldFilter}, "letter"},

		// criteria.mutable_filter: previous.decision|notes|signed_off_state with documented values
		{"mutable decision", func(a *veza.Automation) {
			a.Criteria.MutableFilter = `previous.decision eq "RESULT_DECISION_ACCEPTED"`
		}, mod, nil, ""},
		{"mutable lower case value", func(a *veza.Automation) {
			a.Criteria.MutableFilter = `previous.decision ne "result_decision_fixed"`
		}, mod, nil, ""},
		{"mutable signed off and notes", func(a *veza.Automation) {
			a.Criteria.MutableFilter = `previous.signed_off_state eq "SIGNED_OFF" and previous.notes co "ok"`
		}, mod, nil, ""},
		{"mutable unknown field", func(a *veza.Automation) { a.Criteria.MutableFilter = `previous.reviewer eq "x"` }, mod, []string{FieldMutableFilter}, "previous.reviewer"},
		{"mutable source field", func(a *veza.Automation) { a.Criteria.MutableFilter = `source.name eq "x"` }, mod, []string{FieldMutableFilter}, "source.name"},
		{"mutable short decision", func(a *veza.Automation) { a.Criteria.MutableFilter = `previous.decision eq "ACCEPTED"` }, mod, []string{FieldMutableFilter}, "RESULT_DECISION_ACCEPTED"},
		{"mutable bad signed off", func(a *veza.Automation) {
			a.Criteria.MutableFilter = `previous.signed_off_state eq "DONE"`
		}, mod, []string{FieldMutableFilter}, "SIGNED_OFF"},
		{"mutable operator", func(a *veza.Automation) {
			a.Criteria.MutableFilter = `previous.decision co "ACC"`
		}, mod, []string{FieldMutableFilter}, "operator"},

		// decision and signed_off_state: names or numbers
		{"decision number", func(a *veza.Automation) { a.Action.Decision = "3" }, mod, nil, ""},
		{"decision lower name", func(a *veza.Automation) { a.Action.Decision = "fixed" }, mod, nil, ""},
		{"decision prefixed", func(a *veza.Automation) { a.Action.Decision = "RESULT_DECISION_REJECTED" }, mod, nil, ""},
		{"decision bad name", func(a *veza.Automation) { a.Action.Decision = "MAYBE" }, mod, []string{FieldDecision}, "MAYBE"},
		{"decision out of range", func(a *veza.Automation) { a.Action.Decision = "5" }, mod, []string{FieldDecision}, "out of range"},
		{"decision negative", func(a *veza.Automation) { a.Action.Decision = "-1" }, mod, []string{FieldDecision}, "out of range"},
		{"signed off number", func(a *veza.Automation) { a.Action.SignedOffState = "2" }, mod, nil, ""},
		{"signed off names", func(a *veza.Automation) { a.Action.SignedOffState = "not_signed_off" }, mod, nil, ""},
		{"signed off unknown alias", func(a *veza.Automation) { a.Action = veza.AutomationAction{SignedOffState: "UNKNOWN", Notes: "n"} }, mod, nil, ""},
		{"signed off bad", func(a *veza.Automation) { a.Action.SignedOffState = "DONE" }, mod, []string{FieldSignedOffState}, "DONE"},
		{"signed off out of range", func(a *veza.Automation) { a.Action.SignedOffState = "3" }, mod, []string{FieldSignedOffState}, "out of range"},

		// modification vs display
		{"modification notes only", func(a *veza.Automation) { a.Action = veza.AutomationAction{Notes: "n"} }, mod, nil, ""},
		{"modification display text", func(a *veza.Automation) { a.Action.DisplayText = "x" }, mod, []string{FieldDisplayText}, "display"},
		{"modification colour", func(a *veza.Automation) { a.Action.HighlightColor = "#FF0000" }, mod, []string{FieldHighlightColor}, "HIGHLIGHT"},
		{"modification reviewer", func(a *veza.Automation) {
			a.Action.ReviewerAssignment = &veza.ReviewerAssignment{UsersManager: true}
		}, mod, []string{FieldReviewerAssignment}, "not supported"},
		{"empty reviewer object is unset", func(a *veza.Automation) { a.Action.ReviewerAssignment = &veza.ReviewerAssignment{} }, mod, nil, ""},
		{"display and decision", func(a *veza.Automation) { a.Action.Decision = "ACCEPTED" }, disp, []string{FieldDecision}, "display action"},
		{"display and signed off", func(a *veza.Automation) { a.Action.SignedOffState = "SIGNED_OFF" }, disp, []string{FieldSignedOffState}, "display action"},
		{"display and notes", func(a *veza.Automation) { a.Action.Notes = "n" }, disp, []string{FieldNotes}, "display action"},
		{"display and reviewer", func(a *veza.Automation) {
			a.Action.ReviewerAssignment = &veza.ReviewerAssignment{ResourceManagers: true}
		}, disp, []string{FieldReviewerAssignment}, "display action"},
		{"display and everything", func(a *veza.Automation) {
			a.Action.Decision, a.Action.SignedOffState, a.Action.Notes = "2", "1", "n"
		}, disp, []string{FieldDecision, FieldSignedOffState, FieldNotes}, ""},
		{"display with decision UNKNOWN is fine", func(a *veza.Automation) { a.Action.Decision = "0" }, disp, nil, ""},
		{"nothing to do", func(a *veza.Automation) { a.Action = veza.AutomationAction{} }, mod, []string{FieldAction}, "does nothing"},
		{"display style lower", func(a *veza.Automation) { a.Action = veza.AutomationAction{DisplayStyle: "suggest_accept"} }, disp, nil, ""},
		{"display style prefixed", func(a *veza.Automation) { a.Action.DisplayStyle = "DISPLAY_STYLE_HIGHLIGHT" }, disp, nil, ""},
		{"display style number", func(a *veza.Automation) { a.Action.DisplayStyle = "1" }, disp, []string{FieldDisplayStyle}, "not published"},
		{"display style unknown", func(a *veza.Automation) { a.Action.DisplayStyle = "BLINK" }, disp, []string{FieldDisplayStyle}, "BLINK"},

		// highlight_color: #RRGGBB, only with HIGHLIGHT
		{"colour default", func(a *veza.Automation) { a.Action.HighlightColor = "" }, disp, nil, ""},
		{"colour short", func(a *veza.Automation) { a.Action.HighlightColor = "#FFF" }, disp, []string{FieldHighlightColor}, "#RRGGBB"},
		{"colour named", func(a *veza.Automation) { a.Action.HighlightColor = "red" }, disp, []string{FieldHighlightColor}, "#RRGGBB"},
		{"colour no hash", func(a *veza.Automation) { a.Action.HighlightColor = "FF0000" }, disp, []string{FieldHighlightColor}, "#RRGGBB"},
		{"colour not hex", func(a *veza.Automation) { a.Action.HighlightColor = "#GG0000" }, disp, []string{FieldHighlightColor}, "#RRGGBB"},
		{"colour with suggest", func(a *veza.Automation) { a.Action.DisplayStyle = "SUGGEST_REJECT" }, disp, []string{FieldHighlightColor}, "HIGHLIGHT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := c.base()
			c.edit(&a)
			vs := Validate(a)
			if got := fields(vs); !slices.Equal(got, c.want) {
				t.Fatalf("violations %v, want %v: %+v", got, c.want, vs)
			}
			for _, v := range vs {
				if v.Description == "" || !slices.Contains(Fields, v.Field) {
					t.Errorf("bad violation %+v", v)
				}
			}
			if c.msg != "" && !strings.Contains(vs[0].Description, c.msg) {
				t.Errorf("message %q lacks %q", vs[0].Description, c.msg)
			}
			if err := Err(vs); (err == nil) != (len(vs) == 0) {
				t.Errorf("Err = %v", err)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	a := modification()
	a.Name = "  spaced  "
	a.Action = veza.AutomationAction{Decision: "2", SignedOffState: "unknown", Notes: "n", ReviewerAssignment: &veza.ReviewerAssignment{}}
	n, vs := Normalize(a)
	if len(vs) > 0 {
		t.Fatal(vs)
	}
	if n.Name != "spaced" || n.Action.Decision != "ACCEPTED" || n.Action.SignedOffState != "" || n.Action.ReviewerAssignment != nil {
		t.Fatalf("%+v", n)
	}
	b, _ := json.Marshal(n.Action)
	if string(b) != `{"decision":"ACCEPTED","notes":"n"}` {
		t.Fatalf("wire form %s", b)
	}
	// A number the server sent stays a number on the wire until normalised.
	var in veza.AutomationAction
	if err := json.Unmarshal([]byte(`{"decision":3,"signed_off_state":"SIGNED_OFF","display_style":null}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.Decision != "3" || DecisionLabel(in.Decision) != "REJECTED" || SignedOffLabel(in.SignedOffState) != "SIGNED_OFF" {
		t.Fatalf("%+v", in)
	}
	if b, _ := json.Marshal(in); string(b) != `{"decision":3,"signed_off_state":"SIGNED_OFF"}` {
		t.Fatalf("round trip %s", b)
	}
	if err := json.Unmarshal([]byte(`{"decision":true}`), &in); err == nil {
		t.Fatal("a boolean decision decoded")
	}
	if DisplayLabel("7") != "7" || DisplayLabel("highlight") != "HIGHLIGHT" {
		t.Fatal("DisplayLabel")
	}
}

func TestEnums(t *testing.T) {
	for i, n := range Decisions {
		name, num, err := ParseDecision(n)
		if err != nil || (i > 0 && (name != n || num != i)) || (i == 0 && name != "") {
			t.Errorf("%s: %q %d %v", n, name, num, err)
		}
	}
	for s, want := range map[string]string{"0": "", "1": "NOT_SIGNED_OFF", "signed_off": "SIGNED_OFF", "UNKNOWN_SIGNED_OFF": "", " 2 ": "SIGNED_OFF"} {
		if got, _, err := ParseSignedOffState(s); err != nil || got != want {
			t.Errorf("%q: %q %v", s, got, err)
		}
	}
	if _, err := ParseDisplayStyle("2"); err == nil {
		t.Error("numeric display style accepted")
	}
	if s, err := ParseDisplayStyle("0"); err != nil || s != "" {
		t.Error("0 is unset")
	}
	r, g, b, err := ParseColor("#FF6b35")
	if err != nil || r != 0xff || g != 0x6b || b != 0x35 {
		t.Errorf("ParseColor %d %d %d %v", r, g, b, err)
	}
	if _, _, _, err := ParseColor("#FF6b3"); err == nil {
		t.Error("short colour parsed")
	}
}

func TestDiff(t *testing.T) {
	old := decode(t, seedHighlight)
	if Diff(old, old) != "" {
		t.Fatal("diff of equal objects")
	}
	nw := old
	nw.Criteria.Filter = "source.is_active eq false and source.type ne \"bot\""
	nw.Action.HighlightColor = "#00FF00"
	d := Diff(old, nw)
	for _, want := range []string{
		"--- a/e48dd2c8-3633-463b-a477-0177a942b5a6",
		"+++ b/e48dd2c8-3633-463b-a477-0177a942b5a6",
		`-    "filter": "source.is_active eq false",`,
		`+    "filter": "source.is_active eq false and source.type ne \"bot\"",`,
		`-    "highlight_color": "#FF6B35"`,
		`+    "highlight_color": "#00FF00"`,
	} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, `"name"`) {
		t.Errorf("unchanged name in a hunk too far away?\n%s", d)
	}
	if d := Diff(veza.Automation{}, display()); !strings.Contains(d, "new automation") || !strings.Contains(d, `+    "display_style": "HIGHLIGHT",`) {
		t.Errorf("create diff:\n%s", d)
	}
}

func TestPrettyFilter(t *testing.T) {
	for src, want := range map[string]string{
		"":                          "",
		"source.is_active eq false": "source.is_active eq false",
		`(destination.name eq "admin") OR (source.name eq "root")`:                     "destination.name eq \"admin\"\nor source.name eq \"root\"",
		`(source.name sw "A" OR source.name sw "B") AND destination.is_active eq true`: "(\n  source.name sw \"A\"\n  or source.name sw \"B\"\n)\nand destination.is_active eq true",
		`a.x eq 1 and b.y eq 2 and not (c.z pr)`:                                       "a.x eq 1\nand b.y eq 2\nand not (c.z pr)",
		`not (a.x eq 1 or a.y eq 2)`:                                                   "not (\n  a.x eq 1\n  or a.y eq 2\n)",
		`broken (`:                                                                     "broken (",
	} {
		if got := PrettyFilter(src); got != want {
			t.Errorf("%q:\n%s\nwant\n%s", src, got, want)
		}
	}
}

func TestCheckFilterPosition(t *testing.T) {
	err := CheckFilter(`source.a eq "1" and joined_nodes.idp.x eq "2"`)
	if err == nil || !strings.HasPrefix(err.Error(), "col 21:") {
		t.Fatalf("%v", err)
	}
}
