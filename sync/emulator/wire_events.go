package emulator

import "time"

// Wire types of the Veza system events API (seed 002, API-CONTRACT.md §1.6).
// They will move to sync/veza once the client speaks this API; until then
// the emulator owns them.

// SystemEvent is one Veza platform event. The field order follows the
// example objects of seed 002. Error is null when the event is no failure.
type SystemEvent struct {
	ID         string      `json:"id"`
	Timestamp  time.Time   `json:"timestamp"`
	Category   string      `json:"category"`    // SYSTEM INTEGRATIONS RULE TAG NOTIFICATION
	Severity   string      `json:"severity"`    // INFO WARNING ERROR
	Name       string      `json:"name"`        // title, e.g. "Data Source extracted"
	Message    string      `json:"message"`     // may hold anything a remote system said
	Entity     string      `json:"entity"`      // DATASOURCE PROVIDER RULE TAG NOTIFICATION USER ...
	EntityID   string      `json:"entity_id"`   // "" when none
	Error      *EventError `json:"error"`       // null unless the event reports a failure or warnings
	EntityName string      `json:"entity_name"` // may hold anything a remote system said
	EventType  string      `json:"event_type"`  // e.g. DATASOURCE_EXTRACTED (seed 002's examples say "OAA push")
	ProviderID string      `json:"provider_id"` // "" when none
}

// EventError is the error object of a system event.
type EventError struct {
	Reason     string            `json:"reason"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	Message    string            `json:"message"`
	Resolution string            `json:"resolution"`
	RequestID  string            `json:"request_id"`
}

// EventPage is a page of GET /api/preview/events: the list envelope of §1.1.
type EventPage struct {
	Values        []SystemEvent `json:"values"`
	HasMore       bool          `json:"has_more"`
	NextPageToken string        `json:"next_page_token"`
}

// EventExportPage is a page of GET /api/preview/events/export: seed 002's
// "events" and "next_page_token", which is always set and can be followed
// later for newer events (a tail cursor), plus has_more, false once the
// export has caught up.
type EventExportPage struct {
	Events        []SystemEvent `json:"events"`
	HasMore       bool          `json:"has_more"`
	NextPageToken string        `json:"next_page_token"`
}
