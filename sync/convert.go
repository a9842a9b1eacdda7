package sync

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// Conversions from wire objects to store rows. They run on the fetch
// goroutine, so everything derivable (times, error message) is done here and
// the single writer only writes.

func ms(t *time.Time) int64 {
	if t == nil || t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// payload is a request/result member: nil when absent or null, so the store
// keeps the payload it already has (a list without details sends none).
func payload(b json.RawMessage) []byte {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}

// firstError is result.error_messages[0], or "".
func firstError(result []byte) string {
	key := []byte(`"error_messages"`)
	i := bytes.Index(result, key)
	if i < 0 {
		return ""
	}
	if i == bytes.LastIndex(result, key) && emptyArrayAt(result, i+len(key)) {
		return "" // the common case, no decode needed
	}
	var r struct {
		ErrorMessages []string `json:"error_messages"`
	}
	if json.Unmarshal(result, &r) != nil || len(r.ErrorMessages) == 0 {
		return ""
	}
	return r.ErrorMessages[0]
}

// emptyArrayAt reports whether b[i:] is `: []` give or take whitespace.
func emptyArrayAt(b []byte, i int) bool {
	want := []byte{':', '[', ']'}
	for _, c := range b[i:] {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case c == want[0]:
			want = want[1:]
			if len(want) == 0 {
				return true
			}
		default:
			return false
		}
	}
	return false
}

func jobRow(r veza.Record[veza.Job]) store.JobRow {
	j := &r.Value
	row := store.JobRow{
		JobID:               j.JobID,
		State:               j.State,
		PolicyTask:          j.PolicyTask,
		ActionName:          j.ActionName,
		ActionType:          j.ActionType,
		PolicyID:            j.PolicyID,
		WorkflowName:        j.WorkflowName,
		IdentityID:          j.IdentityID,
		IdentityName:        j.IdentityName,
		EventSource:         j.EventSource,
		EventSourceID:       j.EventSourceID,
		ExtractionEvent:     j.ExtractionEvent,
		ExtractionEventType: j.ExtractionEventType,
		StartedAt:           ms(j.StartedAt),
		CompletedAt:         ms(j.CompletedAt),
		CreatedAt:           ms(j.CreatedAt),
		AnyChanges:          j.AnyChanges,
		EventsCreated:       int64(j.EventsCreated),
		Request:             payload(j.Request),
		Result:              payload(j.Result),
		Raw:                 r.Raw,
	}
	row.ErrorMessage = firstError(row.Result)
	row.Prepare() // here, on the fetcher's goroutine, not in the writer's transaction
	return row
}

func actionRow(r veza.Record[veza.Action]) store.ActionRow {
	a := &r.Value
	return store.ActionRow{
		State:           a.State,
		PolicyTask:      a.PolicyTask,
		ActionName:      a.ActionName,
		ActionType:      a.ActionType,
		PolicyID:        a.PolicyID,
		WorkflowName:    a.WorkflowName,
		IdentityID:      a.IdentityID,
		IdentityName:    a.IdentityName,
		StartedAt:       ms(a.StartedAt),
		CompletedAt:     ms(a.CompletedAt),
		AnyChanges:      a.AnyChanges,
		ExtractionEvent: a.ExtractionEvent,
		JobsStarted:     int64(a.JobsStarted),
		ErrorMessage:    a.ErrorMessage,
		Raw:             r.Raw,
	}
}

func taskRow(r veza.Record[veza.Task]) store.TaskRow {
	t := &r.Value
	row := store.TaskRow{
		ID:                        t.ID,
		PolicyID:                  t.PolicyID,
		PolicyVersionNumber:       int64(t.PolicyVersionNumber),
		Workflow:                  t.Workflow,
		EntityType:                t.EntityType,
		EntityID:                  t.EntityID,
		IdentityID:                t.IdentityID,
		IdentityName:              t.IdentityName,
		IdentityStatus:            t.IdentityStatus,
		State:                     t.State,
		DryRun:                    t.DryRun,
		ExtractionEvent:           t.ExtractionEvent,
		PreviousTaskID:            t.PreviousTaskID,
		ScheduledAt:               ms(t.ScheduledAt),
		StartedAt:                 ms(t.StartedAt),
		CompletedAt:               ms(t.CompletedAt),
		AnyChanges:                t.AnyChanges,
		HighPriority:              t.HighPriority,
		Priority:                  int64(t.Priority),
		Reason:                    t.Reason,
		ManuallyTriggered:         t.ManuallyTriggered,
		ManuallyTriggeredBy:       t.ManuallyTriggeredBy,
		RuntimeChangeLimitReached: t.RuntimeChangeLimitReached,
		DisregardChangeLimit:      t.DisregardChangeLimit,
		Messages:                  t.Messages,
		TCreatedAt:                ms(t.TCreatedAt),
		TUpdatedAt:                ms(t.TUpdatedAt),
		Raw:                       r.Raw,
	}
	if len(t.Messages) > 0 {
		row.ErrorMessage = t.Messages[0]
	}
	return row
}

// JobRow converts an API job (as fetched with GetJob or a list) to its cache
// row; TaskRow and ActionRow likewise. Views and the CLI use them to write
// back what an action changed.
func JobRow(r veza.Record[veza.Job]) store.JobRow          { return jobRow(r) }
func TaskRow(r veza.Record[veza.Task]) store.TaskRow       { return taskRow(r) }
func ActionRow(r veza.Record[veza.Action]) store.ActionRow { return actionRow(r) }
