package veza_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

func emuClient(t *testing.T) (*veza.Client, *emulator.Server) {
	t.Helper()
	emu := emulator.New(emulator.Options{Seed: 5, Scale: 100, Token: "auto-tok"})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c, err := veza.New(srv.URL, "auto-tok", veza.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c, emu
}

func TestAutomationCRUDAgainstEmulator(t *testing.T) {
	c, _ := emuClient(t)
	ctx := context.Background()
	list, err := c.ListAutomations(ctx)
	if err != nil || len(list) < 20 {
		t.Fatalf("%d automations, %v", len(list), err)
	}
	if list[0].Value.ID != "e48dd2c8-3633-463b-a477-0177a942b5a6" || list[0].Value.Action.HighlightColor != "#FF6B35" || len(list[0].Raw) == 0 {
		t.Fatalf("first automation %+v", list[0])
	}
	one, err := c.GetAutomation(ctx, list[1].Value.ID)
	if err != nil || one.Value.Name != "Reject privileged account access" || !strings.HasPrefix(string(one.Raw), `{"id":"f59ee3d9`) {
		t.Fatalf("get %+v %v", one, err)
	}

	a := veza.Automation{Name: "Flag dormant admins", Description: "d",
		AttachmentBehavior: veza.AutomationAttachmentBehavior{OptIn: true},
		Criteria:           veza.AutomationCriteria{Filter: `destination.name co "admin"`, MutableFilter: `previous.decision eq "RESULT_DECISION_ACCEPTED"`},
		Action:             veza.AutomationAction{DisplayStyle: "HIGHLIGHT", HighlightColor: "#00897B", DisplayText: "dormant admin"}}
	id, err := c.CreateAutomation(ctx, a)
	if err != nil || id == "" {
		t.Fatalf("create: %q %v", id, err)
	}
	got, err := c.GetAutomation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	a.ID = id
	if d := jsonOf(got.Value); d != jsonOf(a) {
		t.Fatalf("created\n%s\nwant\n%s", d, jsonOf(a))
	}
	// PUT takes the full object; numbers for enums are accepted and come
	// back as names.
	a.Action = veza.AutomationAction{Decision: "2", SignedOffState: "2", Notes: "ok"}
	if err := c.UpdateAutomation(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetAutomation(ctx, id)
	if got.Value.Action.Decision != "ACCEPTED" || got.Value.Action.SignedOffState != "SIGNED_OFF" || got.Value.Action.DisplayStyle != "" {
		t.Fatalf("after PUT %+v", got.Value.Action)
	}
	if err := c.DeleteAutomation(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetAutomation(ctx, id)
	var ae *veza.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != "NotFound" || ae.RequestID == "" || ae.Route != "get_automation" {
		t.Fatalf("get deleted: %#v", err)
	}
	if err := c.DeleteAutomation(ctx, id); !veza.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	ghost := a
	ghost.ID = "00000000-0000-4000-8000-00000000dead"
	if err := c.UpdateAutomation(ctx, ghost); !veza.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("PUT of an unknown id: %v", err)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestAutomationValidationErrorCarriesViolations(t *testing.T) {
	c, _ := emuClient(t)
	ctx := context.Background()
	_, err := c.CreateAutomation(ctx, veza.Automation{Name: "bad",
		Criteria: veza.AutomationCriteria{Filter: `joined_nodes.idp.x eq "1"`},
		Action:   veza.AutomationAction{DisplayStyle: "SUGGEST_ACCEPT", Decision: "ACCEPTED", HighlightColor: "red"}})
	var ae *veza.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code != "InvalidArgument" || ae.RequestID == "" {
		t.Fatalf("%#v", err)
	}
	fields := map[string]string{}
	for _, v := range veza.FieldViolations(err) {
		fields[v.Field] = v.Description
	}
	for _, f := range []string{"criteria.filter", "action.decision", "action.highlight_color"} {
		if fields[f] == "" {
			t.Errorf("no violation on %s: %v", f, fields)
		}
	}
	if !strings.Contains(err.Error(), "criteria.filter:") || strings.Contains(err.Error(), "auto-tok") {
		t.Errorf("error text %q", err)
	}
	if veza.FieldViolations(errors.New("x")) != nil {
		t.Error("violations from a plain error")
	}
}

func TestAttachDetachAgainstEmulator(t *testing.T) {
	c, emu := emuClient(t)
	ctx := context.Background()
	wfs := emu.ReviewWorkflows()
	id, err := c.CreateAutomation(ctx, veza.Automation{Name: "n", Action: veza.AutomationAction{Notes: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	attached := func(wf string) map[string]bool {
		t.Helper()
		l, err := c.AttachedAutomations(ctx, wf)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, a := range l {
			m[a.Automation.ID] = a.OptIn
		}
		return m
	}
	for _, opt := range []bool{false, true, true} { // idempotent, updates opt_in
		if err := c.AttachAutomation(ctx, veza.AttachRequest{ID: id, WorkflowID: wfs[1].ID, OptIn: opt}); err != nil {
			t.Fatal(err)
		}
		if o, on := attached(wfs[1].ID)[id]; !on || o != opt {
			t.Fatalf("opt_in %v: attached %v %v", opt, on, o)
		}
	}
	if err := c.AttachAutomation(ctx, veza.AttachRequest{ID: id, All: true}); err != nil {
		t.Fatal(err)
	}
	for _, wf := range wfs {
		if _, on := attached(wf.ID)[id]; !on {
			t.Fatalf("all: not attached to %s", wf.Name)
		}
	}
	if err := c.DetachAutomation(ctx, veza.DetachRequest{ID: id, WorkflowID: wfs[0].ID}); err != nil {
		t.Fatal(err)
	}
	if _, on := attached(wfs[0].ID)[id]; on {
		t.Fatal("still attached after detach")
	}
	if err := c.DetachAutomation(ctx, veza.DetachRequest{WorkflowID: wfs[2].ID, All: true}); err != nil {
		t.Fatal(err)
	}
	if n := len(attached(wfs[2].ID)); n != 0 {
		t.Fatalf("%d attached after detach all", n)
	}
	if _, err := c.AttachedAutomations(ctx, "nope"); !veza.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("unknown workflow: %v", err)
	}
	if err := c.AttachAutomation(ctx, veza.AttachRequest{ID: "nope", WorkflowID: wfs[0].ID}); !veza.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("unknown automation: %v", err)
	}
}

// TestAutomationWire pins methods, paths, envelopes and bodies against a
// recording server.
func TestAutomationWire(t *testing.T) {
	type hit struct{ method, path, body string }
	var mu sync.Mutex
	var hits []hit
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits = append(hits, hit{r.Method, r.URL.EscapedPath(), string(b)})
		mu.Unlock()
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/automations"):
			io.WriteString(w, `{"id":"new-1"}`)
		case r.Method == http.MethodGet && strings.Contains(r.URL.Path, ":attached/"):
			io.WriteString(w, `{"values":[{"automation":{"id":"a1","name":"x","action":{"decision":2}},"opt_in":true}]}`)
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/automations"):
			io.WriteString(w, `{"values":[]}`)
		case r.Method == http.MethodGet:
			io.WriteString(w, `{"value":{"id":"a b","name":"x","action":{"display_style":"HIGHLIGHT"}}}`)
		default:
			io.WriteString(w, `{}`)
		}
	}))
	defer srv.Close()
	c, err := veza.New(srv.URL, "tok-wire", veza.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list, err := c.ListAutomations(ctx)
	if err != nil || len(list) != 0 {
		t.Fatalf(`{"values":[]} is an empty list: %v %v`, list, err)
	}
	if _, err := c.GetAutomation(ctx, "a b"); err != nil {
		t.Fatal(err)
	}
	a := veza.Automation{ID: "ignored", Name: "n", Action: veza.AutomationAction{Decision: "3"}}
	if id, err := c.CreateAutomation(ctx, a); err != nil || id != "new-1" {
		t.Fatal(id, err)
	}
	a.ID = "a1"
	if err := c.UpdateAutomation(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAutomation(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if err := c.AttachAutomation(ctx, veza.AttachRequest{ID: "a1", WorkflowID: "w/1", OptIn: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.DetachAutomation(ctx, veza.DetachRequest{WorkflowID: "w1", All: true}); err != nil {
		t.Fatal(err)
	}
	att, err := c.AttachedAutomations(ctx, "w/1")
	if err != nil || len(att) != 1 || !att[0].OptIn || att[0].Automation.Action.Decision != "2" {
		t.Fatalf("%+v %v", att, err)
	}
	awf := "/api/preview/awf/automations"
	want := []hit{
		{"GET", awf, ""},
		{"GET", awf + "/a%20b", ""},
		{"POST", awf, `{"name":"n","description":"","priority":0,"attachment_behavior":{"attach_to_new_workflows":false,"opt_in":false},"criteria":{"filter":"","mutable_filter":""},"action":{"decision":3}}`},
		{"PUT", awf, `{"value":{"id":"a1","name":"n","description":"","priority":0,"attachment_behavior":{"attach_to_new_workflows":false,"opt_in":false},"criteria":{"filter":"","mutable_filter":""},"action":{"decision":3}}}`},
		{"DELETE", awf + "/a1", ""},
		{"POST", awf + ":attach", `{"id":"a1","workflow_id":"w/1","all":false,"opt_in":true}`},
		{"POST", awf + ":detach", `{"id":"","workflow_id":"w1","all":true}`},
		{"GET", awf + ":attached/w%2F1", ""},
	}
	if len(hits) != len(want) {
		t.Fatalf("%d requests: %+v", len(hits), hits)
	}
	for i, w := range want {
		if hits[i] != w {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, hits[i], w)
		}
	}
}

func TestAutomationArgumentsAndDecoding(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"something":"else"}`)
	}))
	defer srv.Close()
	c, err := veza.New(srv.URL, "tok-args", veza.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, err := range map[string]error{
		"update without id":   c.UpdateAutomation(ctx, veza.Automation{Name: "x"}),
		"delete empty id":     c.DeleteAutomation(ctx, ""),
		"get dot-dot":         func() error { _, err := c.GetAutomation(ctx, ".."); return err }(),
		"attach no workflow":  c.AttachAutomation(ctx, veza.AttachRequest{ID: "a"}),
		"attach all nothing":  c.AttachAutomation(ctx, veza.AttachRequest{All: true}),
		"detach no id":        c.DetachAutomation(ctx, veza.DetachRequest{WorkflowID: "w"}),
		"attached empty":      func() error { _, err := c.AttachedAutomations(ctx, ""); return err }(),
		"list not a list":     func() error { _, err := c.ListAutomations(ctx); return err }(),
		"create without id":   func() error { _, err := c.CreateAutomation(ctx, veza.Automation{Name: "x"}); return err }(),
		"attached not a list": func() error { _, err := c.AttachedAutomations(ctx, "w"); return err }(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	routes := c.Routes()
	for _, r := range []string{routes.Automations, routes.Automation, routes.AttachAutomation, routes.DetachAutomation, routes.AttachedAutomations} {
		if !strings.HasPrefix(r, "/api/preview/awf/automations") {
			t.Errorf("route %q", r)
		}
	}
	if !slices.Contains([]string{routes.Automation}, "/api/preview/awf/automations/{id}") {
		t.Error("get/delete route")
	}
}

// TestAutomationListNeedsValues: the automations sync replaces the whole
// cached set with the list it gets (and RefreshAttached a workflow's whole
// attachment set), so an answer that does not say "values" (a "{}" from a
// proxy, an error page's JSON, a null) is a malformed response, never "there
// are none": it must not empty the cache. An explicit empty array is none.
func TestAutomationListNeedsValues(t *testing.T) {
	for _, tc := range []struct {
		body string
		n    int // automations; -1 = an error
	}{
		{`{}`, -1},
		{` { } `, -1},
		{`{"values":null}`, -1},
		{`{"next_page_token":""}`, -1},
		{`{"value":[]}`, -1},
		{`{"values":[]}`, 0},
		{`{"values":[{"automation":{"id":"a1","name":"x"},"opt_in":true},{"id":"a1","name":"x"}]}`, 2},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, tc.body)
		}))
		c, err := veza.New(srv.URL, "tok-values", veza.Options{MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		list, err := c.ListAutomations(ctx)
		att, aerr := c.AttachedAutomations(ctx, "w1")
		srv.Close()
		for call, got := range map[string]struct {
			n   int
			err error
		}{"list": {len(list), err}, "attached": {len(att), aerr}} {
			switch {
			case tc.n < 0 && got.err == nil:
				t.Errorf("%s %s: no error (%d automations): a malformed answer would empty the cache", call, tc.body, got.n)
			case tc.n < 0 && !strings.Contains(got.err.Error(), `"values"`):
				t.Errorf("%s %s: error does not say what is missing: %v", call, tc.body, got.err)
			case tc.n >= 0 && (got.err != nil || got.n != tc.n):
				t.Errorf("%s %s: %d automations, %v; want %d", call, tc.body, got.n, got.err, tc.n)
			}
		}
	}
	// The emulator's empty set is an explicit empty array.
	c, _ := emuClient(t)
	ctx := context.Background()
	all, err := c.ListAutomations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range all {
		if err := c.DeleteAutomation(ctx, a.Value.ID); err != nil {
			t.Fatal(err)
		}
	}
	if all, err := c.ListAutomations(ctx); err != nil || len(all) != 0 {
		t.Fatalf("emulator with no automations: %d, %v", len(all), err)
	}
}
