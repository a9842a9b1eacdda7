// Package veza is the REST client for Veza's Lifecycle Management activity
// log (and, later, system events and automations). The wire types in this file
// are shared with the emulator so both sides of the contract agree.
package veza

import (
	"encoding/json"
	"time"
)

// The nine states shared by tasks, actions and jobs (API-CONTRACT.md §1.2).
var States = []string{"INITIAL", "RUNNING", "COMPLETED", "ERRORED", "SKIPPED", "SCHEDULED", "PENDING", "BLOCKED", "ABANDONED"}

// The fifteen action types (API-CONTRACT.md §1.3).
var ActionTypes = []string{"NONE", "SYNC_IDENTITIES", "MANAGE_RELATIONSHIPS", "CREATE_EMAIL", "DEPROVISION_IDENTITY", "ACCESS_PLAN",
	"WRITE_BACK_EMAIL", "PAUSE", "SEND_NOTIFICATION", "CUSTOM_ACTION", "CREATE_ENTITLEMENT",
	"CREATE_ACCESS_REVIEW", "RESET_PASSWORD", "DELETE_IDENTITY", "SEND_REST_PAYLOAD"}

// Task is a workflow task ("triggered workflow"), API-CONTRACT.md §1.2.
// Timestamps are pointers: the API omits them or sends null when unset.
type Task struct {
	ID                        string     `json:"id"`
	PolicyID                  string     `json:"policy_id"`
	PolicyVersionNumber       int        `json:"policy_version_number"`
	Workflow                  string     `json:"workflow"`
	EntityType                string     `json:"entity_type"`
	EntityID                  string     `json:"entity_id"`
	IdentityID                string     `json:"identity_id"`
	IdentityName              string     `json:"identity_name"`
	IdentityStatus            string     `json:"identity_status"`
	State                     string     `json:"state"`
	DryRun                    bool       `json:"dry_run"`
	ExtractionEvent           string     `json:"extraction_event"`
	PreviousTaskID            string     `json:"previous_task_id,omitempty"`
	ScheduledAt               *time.Time `json:"scheduled_at,omitempty"`
	StartedAt                 *time.Time `json:"started_at,omitempty"`
	CompletedAt               *time.Time `json:"completed_at,omitempty"`
	AnyChanges                bool       `json:"any_changes"`
	HighPriority              bool       `json:"high_priority"`
	Priority                  int        `json:"priority"`
	Reason                    string     `json:"reason,omitempty"`
	ManuallyTriggered         bool       `json:"manually_triggered"`
	ManuallyTriggeredBy       string     `json:"manually_triggered_by,omitempty"`
	RuntimeChangeLimitReached bool       `json:"runtime_change_limit_reached"`
	DisregardChangeLimit      bool       `json:"disregard_change_limit"`
	Messages                  []string   `json:"messages,omitempty"`
	TCreatedAt                *time.Time `json:"t_created_at,omitempty"`
	TUpdatedAt                *time.Time `json:"t_updated_at,omitempty"`
}

// Action is a workflow action event, keyed by (PolicyTask, ActionName), §1.3.
type Action struct {
	State           string     `json:"state"`
	PolicyTask      string     `json:"policy_task"`
	ActionName      string     `json:"action_name"`
	ActionType      string     `json:"action_type"`
	PolicyID        string     `json:"policy_id"`
	WorkflowName    string     `json:"workflow_name"`
	IdentityID      string     `json:"identity_id"`
	IdentityName    string     `json:"identity_name"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	CompletedAt     *time.Time `json:"completed_at,omitempty"`
	AnyChanges      bool       `json:"any_changes"`
	ExtractionEvent string     `json:"extraction_event"`
	JobsStarted     int        `json:"jobs_started"`
	ErrorMessage    string     `json:"error_message,omitempty"`
}

// Job is an integration job (action job event), §1.4. Request and Result are
// only present with details=true or on a single GET; they are kept raw because
// they may hold anything a remote system sent back.
type Job struct {
	JobID               string          `json:"job_id"`
	State               string          `json:"state"`
	PolicyTask          string          `json:"policy_task"`
	ActionName          string          `json:"action_name"`
	ActionType          string          `json:"action_type"`
	PolicyID            string          `json:"policy_id"`
	WorkflowName        string          `json:"workflow_name"`
	IdentityID          string          `json:"identity_id"`
	IdentityName        string          `json:"identity_name"`
	EventSource         string          `json:"event_source"`
	EventSourceID       string          `json:"event_source_id"`
	ExtractionEvent     string          `json:"extraction_event"`
	ExtractionEventType string          `json:"extraction_event_type"`
	StartedAt           *time.Time      `json:"started_at,omitempty"`
	CompletedAt         *time.Time      `json:"completed_at,omitempty"`
	CreatedAt           *time.Time      `json:"created_at,omitempty"`
	AnyChanges          bool            `json:"any_changes"`
	EventsCreated       int             `json:"events_created"`
	Request             json.RawMessage `json:"request,omitempty"`
	Result              json.RawMessage `json:"result,omitempty"`
}

// JobRequest and JobResult are the assumed payload shapes (§1.4). The emulator
// produces them; the client never needs more than the error messages.
type JobRequest struct {
	DataSource    DataSource     `json:"data_source"`
	InputEntities []Entity       `json:"input_entities"`
	ActionType    string         `json:"action_type"`
	ActionConfig  map[string]any `json:"action_config"`
}

type DataSource struct {
	ID     string         `json:"id"`
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Config map[string]any `json:"config"`
}

type Entity struct {
	EntityType string         `json:"entity_type"`
	EntityID   string         `json:"entity_id"`
	Attributes map[string]any `json:"attributes"`
}

type JobResult struct {
	OutputEntities []Entity `json:"output_entities"`
	ErrorMessages  []string `json:"error_messages"`
	AnyChanges     bool     `json:"any_changes"`
	AnyCreated     bool     `json:"any_created"`
}

// ListPage is the list envelope (§1.1). Stop on HasMore == false, never on an
// empty token; a page may be empty while HasMore is true.
type ListPage[T any] struct {
	Values        []T    `json:"values"`
	HasMore       bool   `json:"has_more"`
	NextPageToken string `json:"next_page_token"`
}

// ValueEnvelope wraps a single object (§1.1).
type ValueEnvelope[T any] struct {
	Value T `json:"value"`
}

// ErrorBody is the error envelope (§1.1).
type ErrorBody struct {
	Code      string        `json:"code"`
	Message   string        `json:"message"`
	RequestID string        `json:"request_id"`
	Timestamp string        `json:"timestamp,omitempty"`
	Details   []ErrorDetail `json:"details,omitempty"`
}

type ErrorDetail struct {
	Type            string           `json:"@type"`
	FieldViolations []FieldViolation `json:"field_violations,omitempty"`
}

type FieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}
