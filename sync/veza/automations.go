package veza

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Access-review Automations (seed 003, API-CONTRACT.md §1.7): wire types and
// client calls. The rules an automation must follow (and the mapping between
// enum names and numbers) live in internal/automation; this file only moves
// objects on and off the wire.

// Automation is one automation rule as the API sends and takes it.
type Automation struct {
	ID                 string                       `json:"id,omitempty"`
	Name               string                       `json:"name"`
	Description        string                       `json:"description"`
	Priority           int                          `json:"priority"`
	AttachmentBehavior AutomationAttachmentBehavior `json:"attachment_behavior"`
	Criteria           AutomationCriteria           `json:"criteria"`
	Action             AutomationAction             `json:"action"`
}

// AutomationAttachmentBehavior says whether an automation is attached to new
// workflows by itself, and whether operators must opt in to it.
type AutomationAttachmentBehavior struct {
	AttachToNewWorkflows bool `json:"attach_to_new_workflows"`
	OptIn                bool `json:"opt_in"`
}

// AutomationCriteria: Filter is SCIM over source.*, destination.* or a
// joined node's alias (idp.*); MutableFilter is SCIM over previous.decision,
// previous.notes and previous.signed_off_state.
type AutomationCriteria struct {
	Filter        string `json:"filter"`
	MutableFilter string `json:"mutable_filter"`
}

// AutomationAction is either a modification (Decision, SignedOffState, Notes,
// ReviewerAssignment) or a display action (DisplayStyle, DisplayText,
// HighlightColor), never both.
type AutomationAction struct {
	Decision           EnumValue           `json:"decision,omitempty"`
	SignedOffState     EnumValue           `json:"signed_off_state,omitempty"`
	Notes              string              `json:"notes,omitempty"`
	ReviewerAssignment *ReviewerAssignment `json:"reviewer_assignment,omitempty"`
	DisplayStyle       EnumValue           `json:"display_style,omitempty"`
	DisplayText        string              `json:"display_text,omitempty"`
	HighlightColor     string              `json:"highlight_color,omitempty"`
}

// ReviewerAssignment is in seed 003's schema, but "the preview API does not
// currently support reviewer assignment".
type ReviewerAssignment struct {
	UsersManager                       bool       `json:"users_manager"`
	ResourceManagers                   bool       `json:"resource_managers"`
	Reviewers                          []Reviewer `json:"reviewers,omitempty"`
	FallbackReviewers                  []Reviewer `json:"fallback_reviewers,omitempty"`
	ReviewersManagersForApprovalLevels []int      `json:"reviewers_managers_for_approval_levels,omitempty"`
}

// IsZero reports an assignment that assigns nothing (a server may send the
// empty object for "unset").
func (r *ReviewerAssignment) IsZero() bool {
	return r == nil || (!r.UsersManager && !r.ResourceManagers && len(r.Reviewers) == 0 &&
		len(r.FallbackReviewers) == 0 && len(r.ReviewersManagersForApprovalLevels) == 0)
}

// Reviewer is one reviewer of a ReviewerAssignment.
type Reviewer struct {
	UserType       string `json:"user_type"`
	ID             string `json:"id"`
	Email          string `json:"email"`
	Name           string `json:"name"`
	AlternateEmail string `json:"alternate_email"`
}

// EnumValue is an enum as seed 003 shows it: a name ("ACCEPTED") in the
// prose and examples, an integer (2) in the schema. A number is kept as its
// decimal text and goes back out as a JSON number; a name goes out as a
// string. internal/automation maps between the two.
type EnumValue string

// IsNumber reports whether v holds a number rather than a name.
func (v EnumValue) IsNumber() bool {
	_, err := strconv.Atoi(string(v))
	return err == nil
}

func (v EnumValue) MarshalJSON() ([]byte, error) {
	if n, err := strconv.Atoi(string(v)); err == nil {
		return []byte(strconv.Itoa(n)), nil
	}
	return json.Marshal(string(v))
}

func (v *EnumValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*v = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = EnumValue(s)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("enum must be a name or an integer, got %.40s", b)
	}
	*v = EnumValue(strconv.FormatInt(n, 10))
	return nil
}

// AttachRequest is the body of POST …/automations:attach. With All and a
// WorkflowID, every automation is attached to that workflow; with All and an
// ID, that automation is attached to every workflow. Attaching again only
// updates OptIn (seed 003).
type AttachRequest struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	All        bool   `json:"all"`
	OptIn      bool   `json:"opt_in"`
}

// DetachRequest is the body of POST …/automations:detach.
type DetachRequest struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	All        bool   `json:"all"`
}

// AttachedAutomation is one entry of GET …/automations:attached/{workflow_id}.
type AttachedAutomation struct {
	Automation Automation `json:"automation"`
	OptIn      bool       `json:"opt_in"`
}

// AutomationCreated is the answer to POST …/automations.
type AutomationCreated struct {
	ID string `json:"id"`
}

// automationsWire is the list envelope of the automations endpoints: one
// page, no paging (the set is small).
type automationsWire[T any] struct {
	Values *[]T `json:"values"`
}

// errNoValues: an automations list answer without a "values" array.
var errNoValues = errors.New(`response has no "values" array`)

func decodeAutomationList[T any](c *Client, name string, body []byte) ([]T, error) {
	if !looksLikeObject(body) {
		return nil, c.decodeError(name, notObject(body))
	}
	var w automationsWire[T]
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, c.decodeError(name, err)
	}
	if w.Values == nil {
		// The answer replaces the whole cached set (every automation, or a
		// workflow's attachments): "{}" or a null from a proxy or a broken
		// gateway must not read as "there are none" and empty the cache.
		// Unlike a paged list's last page, none is said with "values": [].
		return nil, c.decodeError(name, errNoValues)
	}
	return *w.Values, nil
}

// ListAutomations returns every automation, each with the bytes it came as.
func (c *Client) ListAutomations(ctx context.Context) ([]Record[Automation], error) {
	body, err := c.get(ctx, "list_automations", c.routes.Automations, nil)
	if err != nil {
		return nil, err
	}
	return decodeAutomationList[Record[Automation]](c, "list_automations", body)
}

// GetAutomation fetches one automation ({"value": …}).
func (c *Client) GetAutomation(ctx context.Context, id string) (Record[Automation], error) {
	path, err := expand("get_automation", c.routes.Automation, "id", id)
	if err != nil {
		return Record[Automation]{}, err
	}
	return get[Record[Automation]](ctx, c, "get_automation", path)
}

// CreateAutomation creates a and returns the new id. a.ID is ignored (the
// server assigns one). A create is not idempotent: it is resent only when the
// server cannot have applied it (429, 503, failed dial).
func (c *Client) CreateAutomation(ctx context.Context, a Automation) (string, error) {
	a.ID = ""
	body, err := c.post(ctx, "create_automation", c.routes.Automations, a, false)
	if err != nil {
		return "", err
	}
	var out AutomationCreated
	if !looksLikeObject(body) {
		return "", c.decodeError("create_automation", notObject(body))
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", c.decodeError("create_automation", err)
	}
	if out.ID == "" {
		return "", c.decodeError("create_automation", errors.New(`response has no "id"`))
	}
	return out.ID, nil
}

// UpdateAutomation replaces the automation a.ID with a: the API takes the
// full object in a {"value": …} envelope, so a must be complete (start from
// GetAutomation). A PUT of the same object twice is harmless, so it is
// retried like a read.
func (c *Client) UpdateAutomation(ctx context.Context, a Automation) error {
	if a.ID == "" {
		return errors.New("veza update_automation: the automation has no id")
	}
	body, err := json.Marshal(ValueEnvelope[Automation]{Value: a})
	if err != nil {
		return fmt.Errorf("veza update_automation: encode body: %w", err)
	}
	_, err = c.do(ctx, &call{name: "update_automation", method: http.MethodPut, path: c.routes.Automations, body: body, idempotent: true})
	return err
}

// DeleteAutomation deletes one automation. It is not retried after the
// request may have reached the server: a second DELETE would answer 404 for
// an automation this call did delete.
func (c *Client) DeleteAutomation(ctx context.Context, id string) error {
	path, err := expand("delete_automation", c.routes.Automation, "id", id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, &call{name: "delete_automation", method: http.MethodDelete, path: path})
	return err
}

// AttachAutomation attaches an automation to a workflow (or, with All, see
// AttachRequest). Attaching twice is fine (seed 003), so it is retried.
func (c *Client) AttachAutomation(ctx context.Context, r AttachRequest) error {
	if err := checkAttach("attach_automation", r.ID, r.WorkflowID, r.All); err != nil {
		return err
	}
	_, err := c.post(ctx, "attach_automation", c.routes.AttachAutomation, r, true)
	return err
}

// DetachAutomation detaches one automation from a workflow, or with All every
// automation from the workflow (or the automation from every workflow).
func (c *Client) DetachAutomation(ctx context.Context, r DetachRequest) error {
	if err := checkAttach("detach_automation", r.ID, r.WorkflowID, r.All); err != nil {
		return err
	}
	_, err := c.post(ctx, "detach_automation", c.routes.DetachAutomation, r, true)
	return err
}

func checkAttach(name, id, wf string, all bool) error {
	switch {
	case all && id == "" && wf == "":
		return fmt.Errorf("veza %s: all needs an automation id or a workflow_id", name)
	case !all && (id == "" || wf == ""):
		return fmt.Errorf("veza %s: an automation id and a workflow_id are required", name)
	}
	return nil
}

// AttachedAutomations lists the automations eligible to run on a workflow's
// certifications, with their opt_in.
func (c *Client) AttachedAutomations(ctx context.Context, workflowID string) ([]AttachedAutomation, error) {
	path, err := expand("attached_automations", c.routes.AttachedAutomations, "workflow_id", workflowID)
	if err != nil {
		return nil, err
	}
	body, err := c.get(ctx, "attached_automations", path, nil)
	if err != nil {
		return nil, err
	}
	return decodeAutomationList[AttachedAutomation](c, "attached_automations", body)
}

// FieldViolations returns the server's field violations carried by err (an
// *APIError, possibly wrapped), or nil.
func FieldViolations(err error) []FieldViolation {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Violations
	}
	return nil
}
