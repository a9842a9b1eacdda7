package store

import "unsafe"

// Row types mirror the API objects of API-CONTRACT.md §1.2-1.4 field for
// field, with times as unix milliseconds (0 = unset) and the arrays stored as
// JSON text. The column lists below are the single place that maps a field to
// its column; rows_test.go checks them against the migrated schema.

// TaskRow is a workflow task ("triggered workflow").
type TaskRow struct {
	RowID                     int64 // filled on reads
	ID                        string
	PolicyID                  string
	PolicyVersionNumber       int64
	Workflow                  string
	EntityType                string
	EntityID                  string
	IdentityID                string
	IdentityName              string
	IdentityStatus            string
	State                     string
	DryRun                    bool
	ExtractionEvent           string
	PreviousTaskID            string
	ScheduledAt               int64
	StartedAt                 int64
	CompletedAt               int64
	AnyChanges                bool
	HighPriority              bool
	Priority                  int64
	Reason                    string
	ManuallyTriggered         bool
	ManuallyTriggeredBy       string
	RuntimeChangeLimitReached bool
	DisregardChangeLimit      bool
	Messages                  []string
	TCreatedAt                int64
	TUpdatedAt                int64
	// ErrorMessage is the first of Messages; the store derives it when empty.
	ErrorMessage string
	// ErrorSignature is ErrorMessage normalised (internal/signature); the
	// store computes it on write (a value given to a write is ignored).
	ErrorSignature string
	// Raw is the task object as received. Only detail reads fill it.
	Raw      []byte
	SyncedAt int64 // when the row last changed in the cache; set by writes
}

// ActionRow is a workflow action event, keyed by (PolicyTask, ActionName).
type ActionRow struct {
	RowID           int64
	State           string
	PolicyTask      string
	ActionName      string
	ActionType      string
	PolicyID        string
	WorkflowName    string
	IdentityID      string
	IdentityName    string
	StartedAt       int64
	CompletedAt     int64
	AnyChanges      bool
	ExtractionEvent string
	JobsStarted     int64
	ErrorMessage    string
	Raw             []byte
	SyncedAt        int64
}

// JobRow is an integration job (action job event).
type JobRow struct {
	RowID               int64
	JobID               string
	State               string
	PolicyTask          string
	ActionName          string
	ActionType          string
	PolicyID            string
	WorkflowName        string
	IdentityID          string
	IdentityName        string
	EventSource         string
	EventSourceID       string
	ExtractionEvent     string
	ExtractionEventType string
	StartedAt           int64
	CompletedAt         int64
	CreatedAt           int64
	AnyChanges          bool
	EventsCreated       int64
	// ErrorMessage is the first of Result's error_messages; the store derives
	// it from Result when empty.
	ErrorMessage string
	// ErrorSignature is ErrorMessage normalised (internal/signature); the
	// store computes it on write (a value given to a write is ignored).
	ErrorSignature string
	// Request and Result are nil when the job was listed without details. A
	// write with nil payloads keeps whatever payloads the cache already has.
	Request []byte
	Result  []byte
	// Raw is the job object as received. Request and result members are
	// moved out of it into their own columns on write, so a detailed fetch
	// and a plain list of an unchanged job store the same Raw.
	Raw      []byte
	SyncedAt int64

	// prepared: Prepare has split Raw and derived the error message and
	// signature already (the write uses them as they are).
	prepared bool
}

// Prepare does, ahead of a write and on the caller's goroutine, the
// per-row work a write of r would otherwise do inside its transaction:
// request and result are moved out of Raw into their own fields, and the
// error message and its signature are derived. A sync calls it as it
// converts a page, so that this work overlaps the writing of the page
// before (the writer is the slower side).
func (r *JobRow) Prepare() {
	raw, req, res := splitJobRaw(r.Raw, r.Request, r.Result)
	if r.Request == nil {
		r.Request = req
	}
	if r.Result == nil {
		r.Result = res
	}
	r.Raw = raw
	if r.ErrorMessage == "" && r.Result != nil {
		r.ErrorMessage = firstErrorMessage(r.Result)
	}
	r.ErrorSignature = errorSignature(r.ErrorMessage)
	r.prepared = true
}

// Column lists, in the order of the ptrs methods below. Every list starts
// with rowid and ends with the payload columns that only detail reads fetch.
// The args methods give the values of cols[1:], in the same order.

var taskCols = []string{
	"rowid", "id", "policy_id", "policy_version_number", "workflow", "entity_type", "entity_id",
	"identity_id", "identity_name", "identity_status", "state", "dry_run", "extraction_event",
	"previous_task_id", "scheduled_at", "started_at", "completed_at", "any_changes",
	"high_priority", "priority", "reason", "manually_triggered", "manually_triggered_by",
	"runtime_change_limit_reached", "disregard_change_limit", "messages", "t_created_at",
	"t_updated_at", "error_message", "error_signature", "synced_at",
	"raw",
}

const taskPayloadCols = 1

// messages is scanned as text and decoded by the caller.
func (r *TaskRow) ptrs(messages *string) []any {
	return []any{
		&r.RowID, &r.ID, &r.PolicyID, &r.PolicyVersionNumber, &r.Workflow, &r.EntityType, &r.EntityID,
		&r.IdentityID, &r.IdentityName, &r.IdentityStatus, &r.State, &r.DryRun, &r.ExtractionEvent,
		&r.PreviousTaskID, &r.ScheduledAt, &r.StartedAt, &r.CompletedAt, &r.AnyChanges,
		&r.HighPriority, &r.Priority, &r.Reason, &r.ManuallyTriggered, &r.ManuallyTriggeredBy,
		&r.RuntimeChangeLimitReached, &r.DisregardChangeLimit, messages, &r.TCreatedAt,
		&r.TUpdatedAt, &r.ErrorMessage, &r.ErrorSignature, &r.SyncedAt,
		&r.Raw,
	}
}

// args are the values for taskCols[1:].
func (r *TaskRow) args(syncedAt int64, messages, errorMessage, errorSignature string) []any {
	return []any{
		r.ID, r.PolicyID, r.PolicyVersionNumber, r.Workflow, r.EntityType, r.EntityID,
		r.IdentityID, r.IdentityName, r.IdentityStatus, r.State, b2i(r.DryRun), r.ExtractionEvent,
		r.PreviousTaskID, r.ScheduledAt, r.StartedAt, r.CompletedAt, b2i(r.AnyChanges),
		b2i(r.HighPriority), r.Priority, r.Reason, b2i(r.ManuallyTriggered), r.ManuallyTriggeredBy,
		b2i(r.RuntimeChangeLimitReached), b2i(r.DisregardChangeLimit), messages, r.TCreatedAt,
		r.TUpdatedAt, errorMessage, errorSignature, syncedAt,
		textOrDefault(r.Raw, "{}"),
	}
}

var actionCols = []string{
	"rowid", "state", "policy_task", "action_name", "action_type", "policy_id", "workflow_name",
	"identity_id", "identity_name", "started_at", "completed_at", "any_changes",
	"extraction_event", "jobs_started", "error_message", "synced_at",
	"raw",
}

const actionPayloadCols = 1

func (r *ActionRow) ptrs() []any {
	return []any{
		&r.RowID, &r.State, &r.PolicyTask, &r.ActionName, &r.ActionType, &r.PolicyID, &r.WorkflowName,
		&r.IdentityID, &r.IdentityName, &r.StartedAt, &r.CompletedAt, &r.AnyChanges,
		&r.ExtractionEvent, &r.JobsStarted, &r.ErrorMessage, &r.SyncedAt,
		&r.Raw,
	}
}

func (r *ActionRow) args(syncedAt int64) []any {
	return []any{
		r.State, r.PolicyTask, r.ActionName, r.ActionType, r.PolicyID, r.WorkflowName,
		r.IdentityID, r.IdentityName, r.StartedAt, r.CompletedAt, b2i(r.AnyChanges),
		r.ExtractionEvent, r.JobsStarted, r.ErrorMessage, syncedAt,
		textOrDefault(r.Raw, "{}"),
	}
}

var jobCols = []string{
	"rowid", "job_id", "state", "policy_task", "action_name", "action_type", "policy_id",
	"workflow_name", "identity_id", "identity_name", "event_source", "event_source_id",
	"extraction_event", "extraction_event_type", "started_at", "completed_at", "created_at",
	"any_changes", "events_created", "error_message", "error_signature", "synced_at",
	"request", "result", "raw",
}

const jobPayloadCols = 3

func (r *JobRow) ptrs() []any {
	return []any{
		&r.RowID, &r.JobID, &r.State, &r.PolicyTask, &r.ActionName, &r.ActionType, &r.PolicyID,
		&r.WorkflowName, &r.IdentityID, &r.IdentityName, &r.EventSource, &r.EventSourceID,
		&r.ExtractionEvent, &r.ExtractionEventType, &r.StartedAt, &r.CompletedAt, &r.CreatedAt,
		&r.AnyChanges, &r.EventsCreated, &r.ErrorMessage, &r.ErrorSignature, &r.SyncedAt,
		&r.Request, &r.Result, &r.Raw,
	}
}

// args takes the derived error message and signature and the split
// payloads (splitJobRaw).
func (r *JobRow) args(syncedAt int64, errorMessage, errorSignature string, request, result, raw any) []any {
	return []any{
		r.JobID, r.State, r.PolicyTask, r.ActionName, r.ActionType, r.PolicyID,
		r.WorkflowName, r.IdentityID, r.IdentityName, r.EventSource, r.EventSourceID,
		r.ExtractionEvent, r.ExtractionEventType, r.StartedAt, r.CompletedAt, r.CreatedAt,
		b2i(r.AnyChanges), r.EventsCreated, errorMessage, errorSignature, syncedAt,
		request, result, raw,
	}
}

// Field returns the value of the filter field name (the API's JSON name):
// string for text, int64 for numbers and times (unix ms), bool for booleans.
// It is what Key and an in-memory filter predicate read.
func (r *JobRow) Field(name string) (any, bool) {
	switch name {
	case "job_id":
		return r.JobID, true
	case "state":
		return r.State, true
	case "policy_task":
		return r.PolicyTask, true
	case "action_name":
		return r.ActionName, true
	case "action_type":
		return r.ActionType, true
	case "policy_id":
		return r.PolicyID, true
	case "workflow_name":
		return r.WorkflowName, true
	case "identity_id":
		return r.IdentityID, true
	case "identity_name":
		return r.IdentityName, true
	case "event_source":
		return r.EventSource, true
	case "event_source_id":
		return r.EventSourceID, true
	case "extraction_event":
		return r.ExtractionEvent, true
	case "extraction_event_type":
		return r.ExtractionEventType, true
	case "started_at":
		return r.StartedAt, true
	case "completed_at":
		return r.CompletedAt, true
	case "created_at":
		return r.CreatedAt, true
	case "any_changes":
		return r.AnyChanges, true
	case "events_created":
		return r.EventsCreated, true
	case "error_message":
		return r.ErrorMessage, true
	case "error_signature":
		return r.ErrorSignature, true
	case "synced_at":
		return r.SyncedAt, true
	}
	return nil, false
}

// Field: see JobRow.Field.
func (r *TaskRow) Field(name string) (any, bool) {
	switch name {
	case "id":
		return r.ID, true
	case "policy_id":
		return r.PolicyID, true
	case "policy_version_number":
		return r.PolicyVersionNumber, true
	case "workflow":
		return r.Workflow, true
	case "entity_type":
		return r.EntityType, true
	case "entity_id":
		return r.EntityID, true
	case "identity_id":
		return r.IdentityID, true
	case "identity_name":
		return r.IdentityName, true
	case "identity_status":
		return r.IdentityStatus, true
	case "state":
		return r.State, true
	case "dry_run":
		return r.DryRun, true
	case "extraction_event":
		return r.ExtractionEvent, true
	case "previous_task_id":
		return r.PreviousTaskID, true
	case "scheduled_at":
		return r.ScheduledAt, true
	case "started_at":
		return r.StartedAt, true
	case "completed_at":
		return r.CompletedAt, true
	case "any_changes":
		return r.AnyChanges, true
	case "high_priority":
		return r.HighPriority, true
	case "priority":
		return r.Priority, true
	case "reason":
		return r.Reason, true
	case "manually_triggered":
		return r.ManuallyTriggered, true
	case "manually_triggered_by":
		return r.ManuallyTriggeredBy, true
	case "runtime_change_limit_reached":
		return r.RuntimeChangeLimitReached, true
	case "disregard_change_limit":
		return r.DisregardChangeLimit, true
	case "t_created_at":
		return r.TCreatedAt, true
	case "t_updated_at":
		return r.TUpdatedAt, true
	case "error_message":
		return r.ErrorMessage, true
	case "error_signature":
		return r.ErrorSignature, true
	case "synced_at":
		return r.SyncedAt, true
	}
	return nil, false
}

// Field: see JobRow.Field.
func (r *ActionRow) Field(name string) (any, bool) {
	switch name {
	case "state":
		return r.State, true
	case "policy_task":
		return r.PolicyTask, true
	case "action_name":
		return r.ActionName, true
	case "action_type":
		return r.ActionType, true
	case "policy_id":
		return r.PolicyID, true
	case "workflow_name":
		return r.WorkflowName, true
	case "identity_id":
		return r.IdentityID, true
	case "identity_name":
		return r.IdentityName, true
	case "started_at":
		return r.StartedAt, true
	case "completed_at":
		return r.CompletedAt, true
	case "any_changes":
		return r.AnyChanges, true
	case "extraction_event":
		return r.ExtractionEvent, true
	case "jobs_started":
		return r.JobsStarted, true
	case "error_message":
		return r.ErrorMessage, true
	case "synced_at":
		return r.SyncedAt, true
	}
	return nil, false
}

func (r *JobRow) rowID() int64    { return r.RowID }
func (r *TaskRow) rowID() int64   { return r.RowID }
func (r *ActionRow) rowID() int64 { return r.RowID }

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// textOrDefault binds b as TEXT (never BLOB: SQLite's JSON functions read a
// BLOB as JSONB) and def when b is empty. The string shares b's memory: the
// driver copies it into SQLite before the write returns, and nothing writes
// to b meanwhile (payloads are kilobytes; copying them twice showed up in
// profiles).
func textOrDefault(b []byte, def string) string {
	if len(b) == 0 {
		return def
	}
	return unsafe.String(&b[0], len(b))
}

// nullableText binds b as TEXT (see textOrDefault), or NULL when b is nil.
func nullableText(b []byte) any {
	if b == nil {
		return nil
	}
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
