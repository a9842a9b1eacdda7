package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/opsdeck/opsdeck/internal/automation"
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

// Validation: the rules are internal/automation's, the same ones the
// editor applies as the user types, so the emulator and the client cannot
// drift apart.

// validateAutomation checks an incoming automation and returns its
// canonical form (enum names, trimmed name).
func validateAutomation(in *Automation) (Automation, []veza.FieldViolation) {
	return automation.Normalize(*in)
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
	var in Automation
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
		Value Automation `json:"value"`
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
