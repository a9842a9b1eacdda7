package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// Access-review Automations (seed 003, API-CONTRACT.md §1.7): the one
// mutable part of the emulated tenant. The store starts with seed 003's two
// example automations and a score of realistic ones, attached to a handful
// of review workflows; the API creates, updates, deletes, attaches and
// detaches them, with the server-side validation seed 003 describes.

// reviewWorkflows are the access-review workflows automations attach to
// (the API has no endpoint that lists them; ReviewWorkflows does).
var reviewWorkflows = []string{
	"Quarterly Okta Admin Access Review",
	"Salesforce Permission Set Certification",
	"AWS Production IAM Review",
	"GitHub Organization Owners Review",
	"Workday HR Admin Certification",
	"Active Directory Privileged Groups Review",
}

// ReviewWorkflow is an access-review workflow of the emulated tenant.
type ReviewWorkflow struct {
	ID   string
	Name string
}

// ReviewWorkflows returns the workflows automations can be attached to.
func (s *Server) ReviewWorkflows() []ReviewWorkflow {
	out := make([]ReviewWorkflow, len(reviewWorkflows))
	for i, n := range reviewWorkflows {
		out[i] = ReviewWorkflow{ID: s.g.ids.uuid(kindReviewFlow, i), Name: n}
	}
	return out
}

type automationStore struct {
	mu        sync.Mutex
	g         *gen
	order     []string // ids, oldest first
	byID      map[string]*Automation
	attached  map[string]map[string]bool // workflow id -> automation id -> opt_in
	workflows []string
	next      int // index of the next generated id
}

// seedAutomations are the automations a new tenant has: seed 003's two
// examples first, verbatim.
var seedAutomations = []Automation{
	{ID: "e48dd2c8-3633-463b-a477-0177a942b5a6", Name: "Highlight inactive sources", Description: "Highlight rows where the source account is inactive",
		AttachmentBehavior: AutomationAttachmentBehavior{AttachToNewWorkflows: true, OptIn: true},
		Criteria:           AutomationCriteria{Filter: "source.is_active eq false"},
		Action:             AutomationAction{DisplayStyle: "HIGHLIGHT", DisplayText: "Source account is inactive", HighlightColor: "#FF6B35"}},
	{ID: "f59ee3d9-4744-574c-b588-1288b0942c7c", Name: "Reject privileged account access", Description: "Suggest reject for admin or root accounts",
		AttachmentBehavior: AutomationAttachmentBehavior{AttachToNewWorkflows: true, OptIn: true},
		Criteria:           AutomationCriteria{Filter: `(destination.name eq "admin") OR (source.name eq "root")`},
		Action:             AutomationAction{DisplayStyle: "SUGGEST_REJECT", DisplayText: "Privileged account detected - review carefully"}},
	{Name: "Approve unchanged access approved last cycle", Description: "Re-approve rows that were accepted in the previous certification and are still active",
		AttachmentBehavior: AutomationAttachmentBehavior{AttachToNewWorkflows: true},
		Criteria:           AutomationCriteria{Filter: "source.is_active eq true", MutableFilter: `previous.decision eq "RESULT_DECISION_ACCEPTED"`},
		Action:             AutomationAction{Decision: "ACCEPTED", Notes: "Auto-approved: accepted in the previous cycle and unchanged"}},
	{Name: "Reject access of terminated employees", Description: "HR says the person has left; nobody should keep this access",
		Criteria: AutomationCriteria{Filter: `hris.employment_status eq "Terminated"`},
		Action:   AutomationAction{Decision: "REJECTED", Notes: "Rejected automatically: terminated in Workday"}},
	{Name: "Highlight accounts without MFA", Description: "Accounts that can sign in without a second factor",
		AttachmentBehavior: AutomationAttachmentBehavior{AttachToNewWorkflows: true, OptIn: true},
		Criteria:           AutomationCriteria{Filter: "source.mfa_enabled eq false"},
		Action:             AutomationAction{DisplayStyle: "HIGHLIGHT", DisplayText: "No MFA on this account", HighlightColor: "#FFC107"}},
	{Name: "Suggest reject for dormant accounts", Description: "No sign-in for more than 90 days",
		Criteria: AutomationCriteria{Filter: `source.last_login_at lt "2025-10-01T00:00:00Z"`},
		Action:   AutomationAction{DisplayStyle: "SUGGEST_REJECT", DisplayText: "Dormant: no login in 90+ days"}},
	{Name: "Suggest accept for read-only roles", Description: "Read-only roles are low risk",
		AttachmentBehavior: AutomationAttachmentBehavior{OptIn: true},
		Criteria:           AutomationCriteria{Filter: `destination.name sw "ReadOnly" or destination.name ew "-readonly"`},
		Action:             AutomationAction{DisplayStyle: "SUGGEST_ACCEPT", DisplayText: "Read-only access"}},
	{Name: "Flag contractor access to production", Description: "Contractors should not hold production roles without an exception",
		Criteria: AutomationCriteria{Filter: `idp.employee_type eq "Contractor" and destination.environment eq "production"`},
		Action:   AutomationAction{DisplayStyle: "HIGHLIGHT", DisplayText: "Contractor with production access", HighlightColor: "#D32F2F"}},
	{Name: "Carry reviewer notes forward", Description: "Keep the context reviewers wrote last time",
		AttachmentBehavior: AutomationAttachmentBehavior{AttachToNewWorkflows: true},
		Criteria:           AutomationCriteria{MutableFilter: `previous.notes pr and not (previous.notes eq "")`},
		Action:             AutomationAction{Notes: "See the notes of the previous certification"}},
	{Name: "Sign off rows signed off last cycle", Description: "Rows that were accepted and signed off last time",
		Criteria: AutomationCriteria{Filter: "source.is_active eq true", MutableFilter: `previous.signed_off_state eq "SIGNED_OFF" and previous.decision eq "RESULT_DECISION_ACCEPTED"`},
		Action:   AutomationAction{Decision: "ACCEPTED", SignedOffState: "SIGNED_OFF"}},
	{Name: "Highlight service accounts", Description: "Non-human accounts need an owner",
		AttachmentBehavior: AutomationAttachmentBehavior{AttachToNewWorkflows: true, OptIn: true},
		Criteria:           AutomationCriteria{Filter: `source.name sw "svc-" or source.name sw "svc_" or source.type eq "ServiceAccount"`},
		Action:             AutomationAction{DisplayStyle: "HIGHLIGHT", DisplayText: "Service account", HighlightColor: "#6A1B9A"}},
	{Name: "Suggest reject for orphaned accounts", Description: "No matching identity in the IdP",
		Criteria: AutomationCriteria{Filter: `not (idp.id pr)`},
		Action:   AutomationAction{DisplayStyle: "SUGGEST_REJECT", DisplayText: "Orphaned: no Okta identity"}},
	{Name: "Admin roles outside IT", Description: "Administrative roles held by people outside IT",
		Criteria: AutomationCriteria{Filter: `destination.name co "Admin" and not (hris.department eq "IT")`},
		Action:   AutomationAction{DisplayStyle: "SUGGEST_REJECT", DisplayText: "Admin role outside IT"}},
	{Name: "Keep fixes from last cycle", Description: "Rows fixed last time stay fixed",
		Criteria: AutomationCriteria{MutableFilter: `previous.decision eq "RESULT_DECISION_FIXED"`},
		Action:   AutomationAction{Decision: "FIXED", Notes: "Fixed in the previous cycle"}},
	{Name: "Highlight access granted this quarter", Description: "New grants deserve a closer look",
		Criteria: AutomationCriteria{Filter: `destination.created_at gt "2025-10-01T00:00:00Z"`},
		Action:   AutomationAction{DisplayStyle: "HIGHLIGHT", DisplayText: "Granted this quarter"}},
	{Name: "Suggest accept for birthright groups", Description: "Everyone gets these on day one",
		AttachmentBehavior: AutomationAttachmentBehavior{AttachToNewWorkflows: true, OptIn: true},
		Criteria:           AutomationCriteria{Filter: `destination.name eq "Okta-Everyone" or destination.name eq "VPN-Users" or destination.name eq "Slack-All-Hands"`},
		Action:             AutomationAction{DisplayStyle: "SUGGEST_ACCEPT", DisplayText: "Birthright access"}},
	{Name: "Reject shared accounts", Description: "Shared credentials are not allowed by policy SEC-014",
		Criteria: AutomationCriteria{Filter: "source.is_shared eq true"},
		Action:   AutomationAction{Decision: "REJECTED", Notes: "Shared accounts violate SEC-014"}},
	{Name: "Note low-risk access", Description: "Tell reviewers what the risk engine thinks",
		Criteria: AutomationCriteria{Filter: "source.risk_score le 20"},
		Action:   AutomationAction{Notes: "Low risk (score 20 or less)"}},
	{Name: "Highlight cross-region access", Description: "EMEA staff with access to US-only systems",
		Criteria: AutomationCriteria{Filter: `hris.region eq "EMEA" and destination.data_residency eq "US"`},
		Action:   AutomationAction{DisplayStyle: "HIGHLIGHT", DisplayText: "Data residency mismatch", HighlightColor: "#1976D2"}},
	{Name: "GitHub org owners", Description: "Owners can change everything in the organization",
		Criteria: AutomationCriteria{Filter: `destination.name eq "owners" and destination.type eq "GitHubTeam"`},
		Action:   AutomationAction{DisplayStyle: "SUGGEST_REJECT", DisplayText: "Organization owner: justify or remove"}},
	{Name: "Reset decisions of changed rows", Description: "A row that changed since last time needs a fresh look",
		Criteria: AutomationCriteria{Filter: `source.updated_at gt "2025-12-01T00:00:00Z"`, MutableFilter: `previous.decision ne "RESULT_DECISION_NONE"`},
		Action:   AutomationAction{Decision: "NONE", SignedOffState: "NOT_SIGNED_OFF", Notes: "Changed since the last review"}},
	{Name: "Überprüfung: 管理者アクセス", Description: "Zugriff für Administratoren prüfen — 管理者の権限を確認してください 🔐",
		Criteria: AutomationCriteria{Filter: `destination.name co "管理者" or destination.name co "Administrateur"`},
		Action:   AutomationAction{DisplayStyle: "HIGHLIGHT", DisplayText: "Administrator / 管理者", HighlightColor: "#00897B"}},
}

func newAutomationStore(g *gen) *automationStore {
	st := &automationStore{g: g, byID: map[string]*Automation{}, attached: map[string]map[string]bool{}}
	for i := range reviewWorkflows {
		wf := g.ids.uuid(kindReviewFlow, i)
		st.workflows = append(st.workflows, wf)
		st.attached[wf] = map[string]bool{}
	}
	r := newRNG(g.seed, streamAutomation, 0)
	for _, a := range seedAutomations {
		a := a
		if a.ID == "" {
			a.ID = st.newID()
		}
		st.add(&a)
		if !a.AttachmentBehavior.AttachToNewWorkflows {
			for _, k := range []int{r.intn(len(st.workflows)), r.intn(len(st.workflows))} {
				st.attached[st.workflows[k]][a.ID] = a.AttachmentBehavior.OptIn
			}
		}
	}
	return st
}

func (st *automationStore) newID() string {
	id := st.g.ids.uuid(kindAutomation, st.next)
	st.next++
	return id
}

// add stores a and, if it asks to, attaches it to every workflow.
func (st *automationStore) add(a *Automation) {
	st.order = append(st.order, a.ID)
	st.byID[a.ID] = a
	if a.AttachmentBehavior.AttachToNewWorkflows {
		for _, wf := range st.workflows {
			st.attached[wf][a.ID] = a.AttachmentBehavior.OptIn
		}
	}
}

// Validation.

var (
	decisionNames  = []string{"UNKNOWN", "NONE", "ACCEPTED", "REJECTED", "FIXED"}
	signedOffNames = []string{"UNKNOWN_SIGNED_OFF", "NOT_SIGNED_OFF", "SIGNED_OFF"}
	displayStyles  = []string{"HIGHLIGHT", "SUGGEST_ACCEPT", "SUGGEST_REJECT"}
	hexColor       = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)
	aliasName      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// mutableSchema is what criteria.mutable_filter may refer to.
var mutableSchema = &filter.Schema{Entity: "previous results", Fields: []filter.Field{
	{Name: "previous.decision", Column: "decision", Kind: filter.KindEnum, Ops: []filter.Op{filter.OpEq, filter.OpNe}, Fold: true,
		Values: []string{"RESULT_DECISION_UNKNOWN", "RESULT_DECISION_NONE", "RESULT_DECISION_ACCEPTED", "RESULT_DECISION_REJECTED", "RESULT_DECISION_FIXED"}},
	{Name: "previous.notes", Column: "notes", Kind: filter.KindString, Ops: []filter.Op{filter.OpEq, filter.OpNe, filter.OpCo, filter.OpSw, filter.OpEw}},
	{Name: "previous.signed_off_state", Column: "signed_off_state", Kind: filter.KindEnum, Ops: []filter.Op{filter.OpEq, filter.OpNe}, Fold: true,
		Values: []string{"UNKNOWN", "NOT_SIGNED_OFF", "SIGNED_OFF"}},
}}

// automationIn is an automation as a client sends it: enums may be names
// or numbers.
type automationIn struct {
	ID                 string                       `json:"id"`
	Name               string                       `json:"name"`
	Description        string                       `json:"description"`
	Priority           int                          `json:"priority"`
	AttachmentBehavior AutomationAttachmentBehavior `json:"attachment_behavior"`
	Criteria           AutomationCriteria           `json:"criteria"`
	Action             struct {
		Decision           json.RawMessage `json:"decision"`
		SignedOffState     json.RawMessage `json:"signed_off_state"`
		Notes              string          `json:"notes"`
		ReviewerAssignment json.RawMessage `json:"reviewer_assignment"`
		DisplayStyle       json.RawMessage `json:"display_style"`
		DisplayText        string          `json:"display_text"`
		HighlightColor     string          `json:"highlight_color"`
	} `json:"action"`
}

// enumValue reads an enum given as a name (with an optional prefix) or a
// number; 0 and absent mean unset ("").
func enumValue(raw json.RawMessage, names []string, prefix string, numbers bool, aliases map[string]int) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		switch {
		case n == 0:
			return "", nil
		case !numbers:
			return "", fmt.Errorf("numeric values are not published; use one of %s", strings.Join(names, ", "))
		case n < 0 || n >= len(names):
			return "", fmt.Errorf("%d is not a valid value (0-%d or one of %s)", n, len(names)-1, strings.Join(names, ", "))
		}
		return names[n], nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("must be a name or a number, got %s", raw)
	}
	up := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), prefix)
	if k, ok := aliases[up]; ok {
		up = names[k]
	}
	k := slices.Index(names, up)
	if k < 0 {
		return "", fmt.Errorf("%q is not one of %s", s, strings.Join(names, ", "))
	}
	if k == 0 {
		return "", nil
	}
	return names[k], nil
}

// validate checks an incoming automation and returns its canonical form.
func validateAutomation(in *automationIn) (Automation, []veza.FieldViolation) {
	var fv []veza.FieldViolation
	bad := func(field, format string, args ...any) {
		fv = append(fv, veza.FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
	}
	a := Automation{ID: in.ID, Name: strings.TrimSpace(in.Name), Description: in.Description, Priority: in.Priority,
		AttachmentBehavior: in.AttachmentBehavior, Criteria: in.Criteria}
	if a.Name == "" {
		bad("name", "name is required")
	} else if len(a.Name) > 256 {
		bad("name", "name is longer than 256 bytes")
	}
	if err := checkCriteriaFilter(in.Criteria.Filter); err != nil {
		bad("criteria.filter", "%v", err)
	}
	if _, err := filter.ParseFor(in.Criteria.MutableFilter, mutableSchema); err != nil {
		bad("criteria.mutable_filter", "%v (previous.decision, previous.notes and previous.signed_off_state only)", err)
	}
	act := &in.Action
	var err error
	if a.Action.Decision, err = enumValue(act.Decision, decisionNames, "RESULT_DECISION_", true, nil); err != nil {
		bad("action.decision", "decision: %v", err)
	}
	if a.Action.SignedOffState, err = enumValue(act.SignedOffState, signedOffNames, "", true, map[string]int{"UNKNOWN": 0}); err != nil {
		bad("action.signed_off_state", "signed_off_state: %v", err)
	}
	if a.Action.DisplayStyle, err = enumValue(act.DisplayStyle, append([]string{"UNSPECIFIED"}, displayStyles...), "DISPLAY_STYLE_", false, nil); err != nil {
		bad("action.display_style", "display_style: %v", err)
	}
	a.Action.Notes, a.Action.DisplayText, a.Action.HighlightColor = act.Notes, act.DisplayText, act.HighlightColor
	if ra := bytes.TrimSpace(act.ReviewerAssignment); len(ra) > 0 && string(ra) != "null" {
		bad("action.reviewer_assignment", "reviewer assignment is not supported by the preview API")
	}
	modification := a.Action.Decision != "" || a.Action.SignedOffState != "" || a.Action.Notes != ""
	display := a.Action.DisplayStyle != ""
	switch {
	case modification && display:
		bad("action.display_style", "a display action (display_style) cannot also set decision, signed_off_state, notes or reviewer_assignment")
	case !modification && !display && len(fv) == 0:
		bad("action", "set a modification (decision, signed_off_state, notes) or a display action (display_style)")
	}
	if !display && a.Action.DisplayText != "" {
		bad("action.display_text", "display_text needs a display_style")
	}
	if c := a.Action.HighlightColor; c != "" {
		if !hexColor.MatchString(c) {
			bad("action.highlight_color", "highlight_color must be a 6-digit hex color #RRGGBB, got %q", c)
		} else if a.Action.DisplayStyle != "HIGHLIGHT" {
			bad("action.highlight_color", "highlight_color only applies to display_style HIGHLIGHT")
		}
	}
	return a, fv
}

// checkCriteriaFilter parses a criteria filter and checks that it only
// names source.*, destination.* or joined-node aliases (idp.*).
func checkCriteriaFilter(src string) error {
	n, err := filter.Parse(src)
	if err != nil {
		return err
	}
	var walk func(n filter.Node) error
	walk = func(n filter.Node) error {
		switch n := n.(type) {
		case *filter.Logical:
			if err := walk(n.Left); err != nil {
				return err
			}
			return walk(n.Right)
		case *filter.Not:
			return walk(n.X)
		case *filter.Compare:
			prefix, attr, ok := strings.Cut(n.Attr, ".")
			switch p := strings.ToLower(prefix); {
			case !ok || attr == "" || !aliasName.MatchString(prefix):
				return fmt.Errorf("col %d: %q must be source.<attribute>, destination.<attribute> or <alias>.<attribute>", n.Pos+1, n.Attr)
			case p == "previous":
				return fmt.Errorf("col %d: %q: previous.* belongs in criteria.mutable_filter", n.Pos+1, n.Attr)
			case p == "joined_nodes":
				return fmt.Errorf("col %d: %q: refer to a joined node by its alias (e.g. idp.%s), not joined_nodes.<alias>", n.Pos+1, n.Attr, attr)
			}
		}
		return nil
	}
	return walk(n)
}

// Handlers.

// decodeBody decodes a JSON body strictly: unknown fields are an error, as
// with the API's protobuf decoding.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New("empty request body")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

func (s *Server) invalid(w http.ResponseWriter, r *http.Request, fv []veza.FieldViolation) {
	msg := "invalid automation: " + fv[0].Description
	if len(fv) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(fv)-1)
	}
	s.writeError(w, r, http.StatusBadRequest, "InvalidArgument", msg, fv...)
}

func listAutomations(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	st := s.autos
	st.mu.Lock()
	out := AutomationList{Values: make([]Automation, 0, len(st.order))}
	for _, id := range st.order {
		out.Values = append(out.Values, *st.byID[id])
	}
	st.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func getAutomation(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	st := s.autos
	st.mu.Lock()
	a, ok := st.byID[args[0]]
	var v Automation
	if ok {
		v = *a
	}
	st.mu.Unlock()
	if !ok {
		s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("automation %q not found", args[0]))
		return
	}
	writeJSON(w, http.StatusOK, veza.ValueEnvelope[Automation]{Value: v})
}

func createAutomation(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	var in automationIn
	if err := decodeBody(r, &in); err != nil {
		s.badRequest(w, r, "body", err.Error())
		return
	}
	a, fv := validateAutomation(&in)
	if len(fv) > 0 {
		s.invalid(w, r, fv)
		return
	}
	st := s.autos
	st.mu.Lock()
	a.ID = st.newID()
	st.add(&a)
	st.mu.Unlock()
	writeJSON(w, http.StatusOK, AutomationCreated{ID: a.ID})
}

func updateAutomation(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	var body struct {
		Value automationIn `json:"value"`
	}
	if err := decodeBody(r, &body); err != nil {
		s.badRequest(w, r, "body", err.Error())
		return
	}
	if body.Value.ID == "" {
		s.badRequest(w, r, "value.id", "the full automation, with its id, is required")
		return
	}
	a, fv := validateAutomation(&body.Value)
	if len(fv) > 0 {
		s.invalid(w, r, fv)
		return
	}
	st := s.autos
	st.mu.Lock()
	old, ok := st.byID[a.ID]
	if ok {
		attachNow := a.AttachmentBehavior.AttachToNewWorkflows && !old.AttachmentBehavior.AttachToNewWorkflows
		*old = a
		if attachNow {
			for _, wf := range st.workflows {
				st.attached[wf][a.ID] = a.AttachmentBehavior.OptIn
			}
		}
	}
	st.mu.Unlock()
	if !ok {
		s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("automation %q not found", a.ID))
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func deleteAutomation(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	st := s.autos
	st.mu.Lock()
	_, ok := st.byID[args[0]]
	if ok {
		delete(st.byID, args[0])
		st.order = slices.DeleteFunc(st.order, func(id string) bool { return id == args[0] })
		for _, m := range st.attached {
			delete(m, args[0])
		}
	}
	st.mu.Unlock()
	if !ok {
		s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("automation %q not found", args[0]))
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// pairs resolves the (workflow, automation) pairs an attach or detach
// request names; the caller holds st.mu. On error it returns the status,
// field and description.
func (st *automationStore) pairs(id, wf string, all bool) (out [][2]string, status int, field, desc string) {
	if wf != "" && st.attached[wf] == nil {
		return nil, http.StatusNotFound, "workflow_id", fmt.Sprintf("workflow %q not found", wf)
	}
	if id != "" && st.byID[id] == nil {
		return nil, http.StatusNotFound, "id", fmt.Sprintf("automation %q not found", id)
	}
	switch {
	case all && id != "" && wf != "":
		return nil, http.StatusBadRequest, "all", "with all, give either id (every workflow) or workflow_id (every automation), not both"
	case all && wf != "":
		for _, a := range st.order {
			out = append(out, [2]string{wf, a})
		}
	case all && id != "":
		for _, w := range st.workflows {
			out = append(out, [2]string{w, id})
		}
	case all:
		return nil, http.StatusBadRequest, "all", "with all, give id or workflow_id"
	case id == "" || wf == "":
		f := "id"
		if wf == "" {
			f = "workflow_id"
		}
		return nil, http.StatusBadRequest, f, "id and workflow_id are required unless all is set"
	default:
		out = append(out, [2]string{wf, id})
	}
	return out, 0, "", ""
}

func attachAutomation(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	var req AttachRequest
	if err := decodeBody(r, &req); err != nil {
		s.badRequest(w, r, "body", err.Error())
		return
	}
	st := s.autos
	st.mu.Lock()
	pairs, status, field, desc := st.pairs(req.ID, req.WorkflowID, req.All)
	for _, p := range pairs {
		st.attached[p[0]][p[1]] = req.OptIn // attaching again only updates opt_in
	}
	st.mu.Unlock()
	s.attachAnswer(w, r, status, field, desc)
}

func detachAutomation(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	var req DetachRequest
	if err := decodeBody(r, &req); err != nil {
		s.badRequest(w, r, "body", err.Error())
		return
	}
	st := s.autos
	st.mu.Lock()
	pairs, status, field, desc := st.pairs(req.ID, req.WorkflowID, req.All)
	for _, p := range pairs {
		delete(st.attached[p[0]], p[1])
	}
	st.mu.Unlock()
	s.attachAnswer(w, r, status, field, desc)
}

func (s *Server) attachAnswer(w http.ResponseWriter, r *http.Request, status int, field, desc string) {
	switch status {
	case 0:
		writeJSON(w, http.StatusOK, struct{}{})
	case http.StatusNotFound:
		s.writeError(w, r, status, "NotFound", desc)
	default:
		s.badRequest(w, r, field, desc)
	}
}

func attachedAutomations(s *Server, w http.ResponseWriter, r *http.Request, args []string) {
	st := s.autos
	st.mu.Lock()
	m, ok := st.attached[args[0]]
	out := AttachedAutomationList{Values: []AttachedAutomation{}}
	if ok {
		for _, id := range st.order {
			if optIn, on := m[id]; on {
				out.Values = append(out.Values, AttachedAutomation{Automation: *st.byID[id], OptIn: optIn})
			}
		}
	}
	st.mu.Unlock()
	if !ok {
		s.writeError(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("workflow %q not found", args[0]))
		return
	}
	writeJSON(w, http.StatusOK, out)
}
