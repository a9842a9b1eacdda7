package emulator

// Wire types of the Veza access-review Automations API (seed 003,
// API-CONTRACT.md §1.7). They will move to sync/veza once the client speaks
// this API; until then the emulator owns them.
//
// Enums go out as names: decision UNKNOWN NONE ACCEPTED REJECTED FIXED,
// signed_off_state UNKNOWN_SIGNED_OFF NOT_SIGNED_OFF SIGNED_OFF, display_style
// HIGHLIGHT SUGGEST_ACCEPT SUGGEST_REJECT. Requests may give decision and
// signed_off_state as names or numbers (seed 003 shows both).

// Automation is one automation rule.
type Automation struct {
	ID                 string                       `json:"id"`
	Name               string                       `json:"name"`
	Description        string                       `json:"description"`
	Priority           int                          `json:"priority"`
	AttachmentBehavior AutomationAttachmentBehavior `json:"attachment_behavior"`
	Criteria           AutomationCriteria           `json:"criteria"`
	Action             AutomationAction             `json:"action"`
}

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

// AutomationAction is either a modification (Decision, SignedOffState,
// Notes, ReviewerAssignment) or a display action (DisplayStyle, DisplayText,
// HighlightColor), never both.
type AutomationAction struct {
	Decision           string              `json:"decision,omitempty"`
	SignedOffState     string              `json:"signed_off_state,omitempty"`
	Notes              string              `json:"notes,omitempty"`
	ReviewerAssignment *ReviewerAssignment `json:"reviewer_assignment,omitempty"`
	DisplayStyle       string              `json:"display_style,omitempty"`
	DisplayText        string              `json:"display_text,omitempty"`
	HighlightColor     string              `json:"highlight_color,omitempty"`
}

// ReviewerAssignment is in the schema of seed 003, but "the preview API
// does not currently support reviewer assignment": the emulator refuses it.
type ReviewerAssignment struct {
	UsersManager                       bool       `json:"users_manager"`
	ResourceManagers                   bool       `json:"resource_managers"`
	Reviewers                          []Reviewer `json:"reviewers,omitempty"`
	FallbackReviewers                  []Reviewer `json:"fallback_reviewers,omitempty"`
	ReviewersManagersForApprovalLevels []int      `json:"reviewers_managers_for_approval_levels,omitempty"`
}

type Reviewer struct {
	UserType       string `json:"user_type"`
	ID             string `json:"id"`
	Email          string `json:"email"`
	Name           string `json:"name"`
	AlternateEmail string `json:"alternate_email"`
}

// AutomationList is the answer to GET /api/preview/awf/automations.
type AutomationList struct {
	Values []Automation `json:"values"`
}

// AutomationUpdate is the body of PUT /api/preview/awf/automations.
type AutomationUpdate struct {
	Value Automation `json:"value"`
}

// AutomationCreated is the answer to POST /api/preview/awf/automations.
type AutomationCreated struct {
	ID string `json:"id"`
}

// AttachRequest is the body of POST .../automations:attach. With All and a
// WorkflowID, every automation is attached to that workflow; with All and
// an ID, that automation is attached to every workflow (seed 003 says both).
type AttachRequest struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	All        bool   `json:"all"`
	OptIn      bool   `json:"opt_in"`
}

// DetachRequest is the body of POST .../automations:detach.
type DetachRequest struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	All        bool   `json:"all"`
}

// AttachedAutomation is one entry of GET .../automations:attached/{workflow_id}.
type AttachedAutomation struct {
	Automation Automation `json:"automation"`
	OptIn      bool       `json:"opt_in"`
}

type AttachedAutomationList struct {
	Values []AttachedAutomation `json:"values"`
}
