package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opsdeck/opsdeck/sync/veza"
)

func autoDecode[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode: %v: %s", err, rec.Body.String())
	}
	return v
}

func listAutos(t testing.TB, s *Server) []Automation {
	return autoDecode[AutomationList](t, do(t, s, autos, nil)).Values
}

func attachedTo(t testing.TB, s *Server, wf string) map[string]bool {
	out := map[string]bool{}
	for _, a := range autoDecode[AttachedAutomationList](t, do(t, s, autos+":attached/"+wf, nil)).Values {
		out[a.Automation.ID] = a.OptIn
	}
	return out
}

func TestAutomationsSeeded(t *testing.T) {
	s := New(Options{Seed: 31, Scale: 100})
	list := listAutos(t, s)
	if len(list) < 20 {
		t.Fatalf("%d automations", len(list))
	}
	// Seed 003's two examples, byte for byte (modulo layout).
	seed, err := os.ReadFile("/work/shared/seeds/003_fcbbb8ccd62b29bd.txt")
	for k, id := range []string{"e48dd2c8-3633-463b-a477-0177a942b5a6", "f59ee3d9-4744-574c-b588-1288b0942c7c"} {
		got := autoDecode[veza.ValueEnvelope[Automation]](t, do(t, s, autos+"/"+id, nil)).Value
		if got.ID != id || list[k].ID != id {
			t.Fatalf("example %d missing", k)
		}
		if err != nil {
			continue // the seeds are not part of every checkout
		}
		text := string(seed)
		start := strings.Index(text, `{`+"\n"+`  "id": "`+id)
		end := strings.Index(text[start:], "\n}") + start + 2
		var want Automation
		if start < 0 || json.Unmarshal([]byte(text[start:end]), &want) != nil {
			t.Fatalf("cannot find example %d in seed 003", k)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Errorf("example %d:\n%s\n%s", k, a, b)
		}
	}
	// Every seeded automation is valid by the server's own rules.
	for _, a := range list {
		raw, _ := json.Marshal(a)
		var in Automation
		if err := json.Unmarshal(raw, &in); err != nil {
			t.Fatal(err)
		}
		if _, fv := validateAutomation(&in); len(fv) > 0 {
			t.Errorf("seeded %q is invalid: %+v", a.Name, fv)
		}
	}
	wfs := s.ReviewWorkflows()
	if len(wfs) != 6 {
		t.Fatalf("%d workflows", len(wfs))
	}
	for _, wf := range wfs {
		att := attachedTo(t, s, wf.ID)
		if opt, ok := att[list[0].ID]; !ok || !opt {
			t.Errorf("attach_to_new_workflows automation not attached to %s", wf.Name)
		}
	}
}

func TestAutomationsCRUD(t *testing.T) {
	s := New(Options{Seed: 32, Scale: 100})
	n0 := len(listAutos(t, s))
	body := map[string]any{
		"name": "Reject stale contractors", "description": "contractors idle for 60 days", "priority": 2,
		"attachment_behavior": map[string]any{"attach_to_new_workflows": false, "opt_in": true},
		"criteria":            map[string]any{"filter": `idp.employee_type eq "Contractor" and source.last_login_at lt "2025-11-01T00:00:00Z"`, "mutable_filter": ""},
		"action":              map[string]any{"decision": 3, "notes": "idle contractor"},
	}
	created := autoDecode[AutomationCreated](t, doBody(t, s, http.MethodPost, autos, body))
	if created.ID == "" {
		t.Fatal("no id")
	}
	got := autoDecode[veza.ValueEnvelope[Automation]](t, do(t, s, autos+"/"+created.ID, nil)).Value
	if got.Name != "Reject stale contractors" || got.Action.Decision != "REJECTED" || got.Priority != 2 || got.Action.Notes != "idle contractor" {
		t.Fatalf("created %+v", got)
	}
	if l := listAutos(t, s); len(l) != n0+1 || l[n0].ID != created.ID {
		t.Fatal("the new automation is not last in the list")
	}
	// Not attached anywhere: attach_to_new_workflows is false.
	for _, wf := range s.ReviewWorkflows() {
		if _, on := attachedTo(t, s, wf.ID)[created.ID]; on {
			t.Fatal("attached without being asked")
		}
	}
	// PUT replaces the whole object.
	got.Action = AutomationAction{DisplayStyle: "SUGGEST_REJECT", DisplayText: "idle contractor"}
	got.Description = "changed"
	if rec := doBody(t, s, http.MethodPut, autos, AutomationUpdate{Value: got}); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "{}" {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body.String())
	}
	again := autoDecode[veza.ValueEnvelope[Automation]](t, do(t, s, autos+"/"+created.ID, nil)).Value
	a, _ := json.Marshal(again)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Fatalf("after PUT:\n%s\nwant\n%s", a, b)
	}
	ghost := got
	ghost.ID = "00000000-0000-4000-8000-000000000000"
	decodeError(t, doBody(t, s, http.MethodPut, autos, AutomationUpdate{Value: ghost}), http.StatusNotFound, "NotFound")
	decodeError(t, doBody(t, s, http.MethodPut, autos, map[string]any{"value": map[string]any{"name": "x"}}), http.StatusBadRequest, "InvalidArgument")
	// DELETE.
	if rec := doBody(t, s, http.MethodDelete, autos+"/"+created.ID, nil); rec.Code != 200 {
		t.Fatalf("DELETE: %d", rec.Code)
	}
	decodeError(t, do(t, s, autos+"/"+created.ID, nil), http.StatusNotFound, "NotFound")
	decodeError(t, doBody(t, s, http.MethodDelete, autos+"/"+created.ID, nil), http.StatusNotFound, "NotFound")
	if len(listAutos(t, s)) != n0 {
		t.Fatal("DELETE did not remove it")
	}
	// Ids of a new tenant repeat: the store is deterministic.
	s2 := New(Options{Seed: 32, Scale: 100})
	if id := autoDecode[AutomationCreated](t, doBody(t, s2, http.MethodPost, autos, body)).ID; id != created.ID {
		t.Fatal("created ids are not deterministic")
	}
}

func TestAutomationValidation(t *testing.T) {
	s := New(Options{Seed: 33, Scale: 100})
	base := func() map[string]any {
		return map[string]any{
			"name":     "x",
			"criteria": map[string]any{"filter": "source.is_active eq false", "mutable_filter": ""},
			"action":   map[string]any{"display_style": "HIGHLIGHT", "highlight_color": "#A1b2C3"},
		}
	}
	with := func(path string, v any) map[string]any {
		m := base()
		parts := strings.Split(path, ".")
		cur := m
		for _, p := range parts[:len(parts)-1] {
			cur = cur[p].(map[string]any)
		}
		if v == nil {
			delete(cur, parts[len(parts)-1])
		} else {
			cur[parts[len(parts)-1]] = v
		}
		return m
	}
	if rec := doBody(t, s, http.MethodPost, autos, base()); rec.Code != 200 {
		t.Fatalf("valid automation refused: %s", rec.Body.String())
	}
	ok := []map[string]any{
		with("action", map[string]any{"decision": "RESULT_DECISION_ACCEPTED", "signed_off_state": 2}),
		with("action", map[string]any{"decision": "fixed", "signed_off_state": "UNKNOWN_SIGNED_OFF", "notes": "n"}),
		with("action", map[string]any{"display_style": "SUGGEST_ACCEPT", "display_text": "ok"}),
		with("action", map[string]any{"display_style": "HIGHLIGHT"}), // default colour
		with("criteria.filter", `idp.department eq "IT" AND (destination.name sw "A" or source.name sw "B")`),
		with("criteria.mutable_filter", `previous.decision eq "RESULT_DECISION_REJECTED" and previous.signed_off_state ne "SIGNED_OFF"`),
		with("criteria.filter", ""),
	}
	for i, b := range ok {
		if rec := doBody(t, s, http.MethodPost, autos, b); rec.Code != 200 {
			t.Errorf("valid #%d refused: %s", i, rec.Body.String())
		}
	}
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"no name", with("name", ""), "name"},
		{"display and decision", with("action.decision", "ACCEPTED"), "action.decision"},
		{"display and notes", with("action.notes", "n"), "action.notes"},
		{"display and signed off", with("action.signed_off_state", 2), "action.signed_off_state"},
		{"decision not a name or number", with("action.decision", true), "body"},
		{"colour without highlight", with("action", map[string]any{"display_style": "SUGGEST_REJECT", "highlight_color": "#FF0000"}), "action.highlight_color"},
		{"colour without display", with("action", map[string]any{"decision": 2, "highlight_color": "#FF0000"}), "action.highlight_color"},
		{"short colour", with("action.highlight_color", "#FFF"), "action.highlight_color"},
		{"named colour", with("action.highlight_color", "red"), "action.highlight_color"},
		{"colour no hash", with("action.highlight_color", "FF0000"), "action.highlight_color"},
		{"text without display", with("action", map[string]any{"decision": 2, "display_text": "x"}), "action.display_text"},
		{"empty action", with("action", map[string]any{}), "action"},
		{"bad decision name", with("action", map[string]any{"decision": "MAYBE"}), "action.decision"},
		{"bad decision number", with("action", map[string]any{"decision": 9}), "action.decision"},
		{"bad signed off", with("action", map[string]any{"signed_off_state": "DONE"}), "action.signed_off_state"},
		{"display style number", with("action.display_style", 1), "action.display_style"},
		{"bad display style", with("action.display_style", "BLINK"), "action.display_style"},
		{"reviewer assignment", with("action", map[string]any{"reviewer_assignment": map[string]any{"users_manager": true}}), "action.reviewer_assignment"},
		{"filter syntax", with("criteria.filter", "source.is_active eq"), "criteria.filter"},
		{"filter bare attribute", with("criteria.filter", "is_active eq false"), "criteria.filter"},
		{"filter previous", with("criteria.filter", `previous.decision eq "RESULT_DECISION_ACCEPTED"`), "criteria.filter"},
		{"filter joined_nodes", with("criteria.filter", `joined_nodes.idp.department eq "IT"`), "criteria.filter"},
		{"mutable unknown field", with("criteria.mutable_filter", `previous.reviewer eq "x"`), "criteria.mutable_filter"},
		{"mutable source field", with("criteria.mutable_filter", `source.name eq "x"`), "criteria.mutable_filter"},
		{"mutable bad value", with("criteria.mutable_filter", `previous.decision eq "ACCEPTED"`), "criteria.mutable_filter"},
		{"unknown field", with("colour", "red"), "body"},
		{"not json", "{", "body"},
		{"empty body", "", "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := decodeError(t, doBody(t, s, http.MethodPost, autos, tc.body), http.StatusBadRequest, "InvalidArgument")
			if len(e.Details) != 1 || len(e.Details[0].FieldViolations) == 0 {
				t.Fatalf("details %+v", e.Details)
			}
			fields := []string{}
			for _, fv := range e.Details[0].FieldViolations {
				fields = append(fields, fv.Field)
				if fv.Description == "" {
					t.Error("empty description")
				}
			}
			if !slices.Contains(fields, tc.field) {
				t.Errorf("violations on %v, want %s: %s", fields, tc.field, e.Message)
			}
		})
	}
	// A PUT is validated the same way.
	a := listAutos(t, s)[0]
	a.Action.Decision = "ACCEPTED"
	decodeError(t, doBody(t, s, http.MethodPut, autos, AutomationUpdate{Value: a}), http.StatusBadRequest, "InvalidArgument")
}

func TestAutomationAttach(t *testing.T) {
	s := New(Options{Seed: 34, Scale: 100})
	wfs := s.ReviewWorkflows()
	id := autoDecode[AutomationCreated](t, doBody(t, s, http.MethodPost, autos, map[string]any{
		"name": "n", "action": map[string]any{"notes": "x"}})).ID
	post := func(path string, body any) *httptest.ResponseRecorder {
		return doBody(t, s, http.MethodPost, autos+path, body)
	}
	// Attach is idempotent and updates opt_in.
	for _, optIn := range []bool{false, false, true} {
		if rec := post(":attach", AttachRequest{ID: id, WorkflowID: wfs[2].ID, OptIn: optIn}); rec.Code != 200 {
			t.Fatalf("attach: %d %s", rec.Code, rec.Body.String())
		}
		if opt, on := attachedTo(t, s, wfs[2].ID)[id]; !on || opt != optIn {
			t.Fatalf("after attach opt_in=%v: attached %v opt_in %v", optIn, on, opt)
		}
	}
	// all with an id: every workflow.
	post(":attach", AttachRequest{ID: id, All: true})
	for _, wf := range wfs {
		if _, on := attachedTo(t, s, wf.ID)[id]; !on {
			t.Fatalf("all=true did not attach to %s", wf.Name)
		}
	}
	// Detach one, then all from a workflow.
	post(":detach", DetachRequest{ID: id, WorkflowID: wfs[0].ID})
	if _, on := attachedTo(t, s, wfs[0].ID)[id]; on {
		t.Fatal("still attached after detach")
	}
	post(":detach", DetachRequest{ID: id, WorkflowID: wfs[0].ID}) // again: fine
	post(":detach", DetachRequest{WorkflowID: wfs[1].ID, All: true})
	if n := len(attachedTo(t, s, wfs[1].ID)); n != 0 {
		t.Fatalf("%d attached after detaching all", n)
	}
	// all with a workflow: every automation.
	post(":attach", AttachRequest{WorkflowID: wfs[1].ID, All: true, OptIn: true})
	if n := len(attachedTo(t, s, wfs[1].ID)); n != len(listAutos(t, s)) {
		t.Fatalf("%d attached after attaching all", n)
	}
	// A deleted automation is attached nowhere.
	doBody(t, s, http.MethodDelete, autos+"/"+id, nil)
	for _, wf := range wfs {
		if _, on := attachedTo(t, s, wf.ID)[id]; on {
			t.Fatal("a deleted automation is still attached")
		}
	}
	// Errors.
	decodeError(t, post(":attach", AttachRequest{ID: id, WorkflowID: wfs[0].ID}), http.StatusNotFound, "NotFound")
	decodeError(t, post(":attach", AttachRequest{ID: listAutos(t, s)[0].ID, WorkflowID: "nope"}), http.StatusNotFound, "NotFound")
	decodeError(t, post(":attach", AttachRequest{ID: listAutos(t, s)[0].ID}), http.StatusBadRequest, "InvalidArgument")
	decodeError(t, post(":attach", AttachRequest{All: true}), http.StatusBadRequest, "InvalidArgument")
	decodeError(t, post(":detach", map[string]any{"id": "x", "opt_in": true}), http.StatusBadRequest, "InvalidArgument")
	decodeError(t, do(t, s, autos+":attached/nope", nil), http.StatusNotFound, "NotFound")
	// The ':' may come escaped.
	if rec := do(t, s, "/api/preview/awf/automations%3Aattached/"+wfs[0].ID, nil); rec.Code != 200 {
		t.Fatalf("escaped colon: %d", rec.Code)
	}
	rec := doBody(t, s, http.MethodGet, autos+":attach", nil)
	decodeError(t, rec, http.StatusMethodNotAllowed, "Unimplemented")
}

// TestAutomationsConcurrent is for the race detector.
func TestAutomationsConcurrent(t *testing.T) {
	s := New(Options{Seed: 35, Scale: 100})
	wf := s.ReviewWorkflows()[0].ID
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				rec := doBody(t, s, http.MethodPost, autos, map[string]any{"name": fmt.Sprintf("w%d-%d", w, i), "action": map[string]any{"notes": "x"}})
				var c AutomationCreated
				_ = json.Unmarshal(rec.Body.Bytes(), &c)
				doBody(t, s, http.MethodPost, autos+":attach", AttachRequest{ID: c.ID, WorkflowID: wf})
				do(t, s, autos, nil)
				do(t, s, autos+":attached/"+wf, nil)
				if i%2 == 0 {
					doBody(t, s, http.MethodDelete, autos+"/"+c.ID, nil)
				}
			}
		}(w)
	}
	wg.Wait()
	if n := len(listAutos(t, s)); n != len(seedAutomations)+40 {
		t.Fatalf("%d automations, want %d", n, len(seedAutomations)+40)
	}
}
