package emulator

import "github.com/opsdeck/opsdeck/sync/veza"

// Wire types of the Veza access-review Automations API (seed 003,
// API-CONTRACT.md §1.7) are the client's (sync/veza/automations.go): the
// emulator and the client cannot disagree on a field. The aliases keep the
// emulator's own names.
//
// Enums go out as names: decision UNKNOWN NONE ACCEPTED REJECTED FIXED,
// signed_off_state UNKNOWN_SIGNED_OFF NOT_SIGNED_OFF SIGNED_OFF, display_style
// HIGHLIGHT SUGGEST_ACCEPT SUGGEST_REJECT. Requests may give decision and
// signed_off_state as names or numbers (seed 003 shows both).
type (
	Automation                   = veza.Automation
	AutomationAttachmentBehavior = veza.AutomationAttachmentBehavior
	AutomationCriteria           = veza.AutomationCriteria
	AutomationAction             = veza.AutomationAction
	ReviewerAssignment           = veza.ReviewerAssignment
	Reviewer                     = veza.Reviewer
	AutomationCreated            = veza.AutomationCreated
	AttachRequest                = veza.AttachRequest
	DetachRequest                = veza.DetachRequest
	AttachedAutomation           = veza.AttachedAutomation
)

// AutomationList is the answer to GET /api/preview/awf/automations.
type AutomationList struct {
	Values []Automation `json:"values"`
}

// AutomationUpdate is the body of PUT /api/preview/awf/automations.
type AutomationUpdate struct {
	Value Automation `json:"value"`
}

// AttachedAutomationList is the answer to GET …/automations:attached/{workflow_id}.
type AttachedAutomationList struct {
	Values []AttachedAutomation `json:"values"`
}
