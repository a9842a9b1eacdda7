// Package wire holds the wire types of the Socotra events API (seed 004,
// API-CONTRACT.md §2): what the client (sync/socotra) decodes and the
// emulator (sync/emulator, which aliases them) encodes. It imports nothing
// of opsdeck, so both may depend on it.
package wire

import "time"

// Event is seed 004's EventResponse.
type Event struct {
	Locator     string         `json:"locator"`
	UserLocator string         `json:"userLocator"`
	RequestID   string         `json:"requestId"` // the API request that caused the event
	Timestamp   time.Time      `json:"timestamp"`
	Type        string         `json:"type"` // e.g. policy.quote.issue
	Data        map[string]any `json:"data"`
}

// EventStream is seed 004's EventStreamResponse: events in stream
// (completion) order and a paging token that is always set and can be
// polled later for newer events. The events key comes last so that the
// token is readable before the page is.
type EventStream struct {
	PagingToken string  `json:"pagingToken"`
	Events      []Event `json:"events"`
}

// ScheduledPolicyEvent is seed 004's ScheduledPolicyEvent.
type ScheduledPolicyEvent struct {
	PolicyLocator      string     `json:"policyLocator"`
	TransactionLocator string     `json:"transactionLocator"`
	TriggerState       string     `json:"triggerState"` // BLOCKED COMPLETE ERROR NONE NORMAL PAUSED
	CustomEventID      string     `json:"customEventId"`
	NextEventTime      *time.Time `json:"nextEventTime,omitempty"`
}

// TriggerStates are the triggerState values of seed 004.
var TriggerStates = []string{"BLOCKED", "COMPLETE", "ERROR", "NONE", "NORMAL", "PAUSED"}

// FailedJobDetails is seed 004's FailedJobDetails.
type FailedJobDetails struct {
	TriggerName    string    `json:"triggerName"`
	FailedJobState string    `json:"failedJobState"` // queued quit
	FailureCount   int       `json:"failureCount"`
	TriggerGroup   string    `json:"triggerGroup"`
	UpdatedAt      time.Time `json:"updatedAt"`
	CreatedAt      time.Time `json:"createdAt"`
}

// Failed job states (failedJobState), the two lists the API keeps.
const (
	FailedQueued = "queued"
	FailedQuit   = "quit"
)

// FailedJobRequest is the body of the resume and delete calls.
type FailedJobRequest struct {
	TriggerName  string `json:"triggerName"`
	TriggerGroup string `json:"triggerGroup"`
}

// ErrorBody is the error envelope [assumed: seed 004 documents none; this
// is the Spring Boot shape the emulator answers with].
type ErrorBody struct {
	HTTPStatus int    `json:"httpStatus"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	Path       string `json:"path"`
	RequestID  string `json:"requestId"`
}
