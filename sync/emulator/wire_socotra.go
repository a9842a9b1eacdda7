package emulator

import "time"

// Wire types of the Socotra events API (seed 004, API-CONTRACT.md §2). They
// will move to sync/socotra once the client exists; until then the emulator
// owns them.

// SocotraEvent is seed 004's EventResponse.
type SocotraEvent struct {
	Locator     string         `json:"locator"`
	UserLocator string         `json:"userLocator"`
	RequestID   string         `json:"requestId"` // the API request that caused the event
	Timestamp   time.Time      `json:"timestamp"`
	Type        string         `json:"type"` // e.g. policy.quote.issue
	Data        map[string]any `json:"data"`
}

// SocotraEventStream is seed 004's EventStreamResponse: events in stream
// (completion) order and a paging token that is always set and can be
// polled later for newer events. The events key comes last so that the
// token is readable before the page is.
type SocotraEventStream struct {
	PagingToken string         `json:"pagingToken"`
	Events      []SocotraEvent `json:"events"`
}

// ScheduledPolicyEvent is seed 004's ScheduledPolicyEvent.
type ScheduledPolicyEvent struct {
	PolicyLocator      string     `json:"policyLocator"`
	TransactionLocator string     `json:"transactionLocator"`
	TriggerState       string     `json:"triggerState"` // BLOCKED COMPLETE ERROR NONE NORMAL PAUSED
	CustomEventID      string     `json:"customEventId"`
	NextEventTime      *time.Time `json:"nextEventTime,omitempty"`
}

// FailedJobDetails is seed 004's FailedJobDetails.
type FailedJobDetails struct {
	TriggerName    string    `json:"triggerName"`
	FailedJobState string    `json:"failedJobState"` // queued quit
	FailureCount   int       `json:"failureCount"`
	TriggerGroup   string    `json:"triggerGroup"`
	UpdatedAt      time.Time `json:"updatedAt"`
	CreatedAt      time.Time `json:"createdAt"`
}

// FailedJobRequest is the body of the resume and delete calls.
type FailedJobRequest struct {
	TriggerName  string `json:"triggerName"`
	TriggerGroup string `json:"triggerGroup"`
}

// SocotraError is the error body [assumed: seed 004 documents none].
type SocotraError struct {
	HTTPStatus int    `json:"httpStatus"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	Path       string `json:"path"`
	RequestID  string `json:"requestId"`
}
