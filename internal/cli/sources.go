package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
)

// record is one cached row; store rows (JobRow, TaskRow, ...) are records
// through their Field method.
type record interface {
	Field(name string) (any, bool)
}

// valueKind says how a field is printed.
type valueKind int

const (
	kString valueKind = iota
	kInt              // int64
	kBool             // bool
	kTime             // int64 unix ms, 0 = unset
	kList             // []string
)

type fieldSpec struct {
	name string
	kind valueKind
	// local marks cache bookkeeping (synced_at) rather than server data:
	// output only when asked for with --fields.
	local bool
}

// source is one thing "opsdeck query" reads: a cached table seen through
// its filter schema. Sources register themselves (registerSource), so a new
// table needs one var in its own file.
type source struct {
	Name    string
	Summary string
	Entity  string         // store entity name (Count)
	Schema  *filter.Schema // --filter fields and operators, as in the TUI
	// Base is ANDed to every filter ("errors" is jobs that ERRORED).
	Base string
	// Sort and Desc are the default order ("" = the store's default).
	Sort string
	Desc bool
	// Fields are every output field, in output order; Table are the
	// default table columns, most important first (the first to go when
	// the terminal is narrow are the last).
	Fields []fieldSpec
	Table  []string
	// StoreText says the store searches this entity itself (Query.Text:
	// a trigram index for jobs); otherwise --search is an "or" of "co"
	// comparisons over Search.
	StoreText bool
	// Search are the text fields --search looks in without StoreText.
	Search []string
	// Page returns up to n rows in q's order after the key (nil: first).
	Page func(ctx context.Context, st *store.Store, q store.Query, after *store.Key, n int) ([]record, error)
	// Key is a row's position in q's order.
	Key func(q store.Query, r record) store.Key
	// Get overrides record.Field for fields the row type does not expose.
	Get func(r record, name string) (any, bool)
	// Access, when set, reads a field without boxing it (the json
	// outputs' fast path, stream.go); it must agree with get.
	Access func(name string) (accessor, bool)
	// Details adds payload members for --details (name, raw JSON).
	Details func(ctx context.Context, st *store.Store, r record) ([]rawMember, error)
}

type rawMember struct {
	name string
	raw  []byte
}

var sources []*source

func registerSource(s *source) *source {
	if sourceByName(s.Name) != nil {
		panic("cli: source registered twice: " + s.Name)
	}
	sources = append(sources, s)
	return s
}

func sourceByName(name string) *source {
	for _, s := range sources {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func sourceNames() []string {
	var names []string
	for _, s := range sources {
		names = append(names, s.Name)
	}
	return names
}

func (s *source) field(name string) (fieldSpec, bool) {
	for _, f := range s.Fields {
		if f.name == name {
			return f, true
		}
	}
	return fieldSpec{}, false
}

func (s *source) fieldNames() []string {
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.name
	}
	return names
}

// defaultFields are the fields json, jsonl and csv carry without --fields:
// everything the server sent.
func (s *source) defaultFields() []string {
	var names []string
	for _, f := range s.Fields {
		if !f.local {
			names = append(names, f.name)
		}
	}
	return names
}

func (s *source) get(r record, name string) (any, bool) {
	if s.Get != nil {
		if v, ok := s.Get(r, name); ok {
			return v, true
		}
	}
	return r.Field(name)
}

// pick resolves --fields (or the defaults) to field specs; an unknown name
// is a usage error listing the valid ones.
func (s *source) pick(names []string, defaults []string) ([]fieldSpec, error) {
	if len(names) == 0 {
		names = defaults
	}
	out := make([]fieldSpec, 0, len(names))
	for _, n := range names {
		f, ok := s.field(n)
		if !ok {
			return nil, usagef("unknown field %q for %s (fields: %s)", n, s.Name, strings.Join(s.fieldNames(), ", "))
		}
		out = append(out, f)
	}
	return out, nil
}

// pager adapts a typed store list to source.Page and source.Key.
func pager[T any, P interface {
	*T
	record
}](list func(*store.Store, context.Context, store.Query, *store.Key, bool, int) ([]T, error), key func(store.Query, T) store.Key) (
	func(context.Context, *store.Store, store.Query, *store.Key, int) ([]record, error), func(store.Query, record) store.Key) {
	page := func(ctx context.Context, st *store.Store, q store.Query, after *store.Key, n int) ([]record, error) {
		rows, err := list(st, ctx, q, after, false, n)
		if err != nil {
			return nil, err
		}
		out := make([]record, len(rows))
		for i := range rows {
			out[i] = P(&rows[i])
		}
		return out, nil
	}
	keyOf := func(q store.Query, r record) store.Key { return key(q, *any(r).(P)) }
	return page, keyOf
}

// fieldsOf lists fields in order; the kind of each comes from the filter
// schema when it has the field, else from extra.
func fieldsOf(schema *filter.Schema, names []string, extra map[string]valueKind) []fieldSpec {
	out := make([]fieldSpec, 0, len(names))
	for _, n := range names {
		k, ok := extra[n]
		if !ok {
			f, found := schema.Field(n)
			if !found {
				panic(fmt.Sprintf("cli: field %s: not in the %s schema and no kind given", n, schema.Entity))
			}
			switch f.Kind {
			case filter.KindInt:
				k = kInt
			case filter.KindBool:
				k = kBool
			case filter.KindTime:
				k = kTime
			default:
				k = kString
			}
		}
		out = append(out, fieldSpec{name: n, kind: k, local: n == "synced_at"})
	}
	return out
}

var (
	jobsPage, jobsKey       = pager[store.JobRow]((*store.Store).Jobs, store.JobKey)
	tasksPage, tasksKey     = pager[store.TaskRow]((*store.Store).Tasks, store.TaskKey)
	actionsPage, actionsKey = pager[store.ActionRow]((*store.Store).Actions, store.ActionKey)

	jobFields = fieldsOf(filter.Jobs, []string{
		"job_id", "state", "policy_task", "action_name", "action_type", "policy_id", "workflow_name",
		"identity_id", "identity_name", "event_source", "event_source_id", "extraction_event",
		"extraction_event_type", "started_at", "completed_at", "created_at", "any_changes",
		"events_created", "error_message", "error_signature", "synced_at",
	}, map[string]valueKind{"synced_at": kTime})

	taskFields = fieldsOf(filter.Tasks, []string{
		"id", "state", "workflow", "policy_id", "policy_version_number", "entity_type", "entity_id",
		"identity_id", "identity_name", "identity_status", "dry_run", "extraction_event",
		"previous_task_id", "scheduled_at", "started_at", "completed_at", "any_changes",
		"high_priority", "priority", "reason", "manually_triggered", "manually_triggered_by",
		"runtime_change_limit_reached", "disregard_change_limit", "messages", "t_created_at",
		"t_updated_at", "error_message", "error_signature", "synced_at",
	}, map[string]valueKind{
		"policy_version_number": kInt, "entity_type": kString, "entity_id": kString, "identity_status": kString,
		"extraction_event": kString, "previous_task_id": kString, "high_priority": kBool, "reason": kString,
		"manually_triggered": kBool, "manually_triggered_by": kString, "runtime_change_limit_reached": kBool,
		"disregard_change_limit": kBool, "messages": kList, "synced_at": kTime,
	})

	actionFields = fieldsOf(filter.Actions, []string{
		"policy_task", "action_name", "state", "action_type", "policy_id", "workflow_name",
		"identity_id", "identity_name", "started_at", "completed_at", "any_changes",
		"extraction_event", "jobs_started", "error_message", "synced_at",
	}, map[string]valueKind{"synced_at": kTime})
)

// rawDetail is the server object as received, for --details on tasks and
// actions.
func rawDetail(raw []byte) []rawMember {
	if len(raw) == 0 {
		return nil
	}
	return []rawMember{{"raw", raw}}
}

var (
	jobsSource = registerSource(&source{
		Name: "jobs", Summary: "integration jobs (action job events)", Entity: store.EntityJobs, Schema: filter.Jobs,
		Fields:    jobFields,
		Table:     []string{"job_id", "state", "completed_at", "action_type", "identity_name", "error_message", "action_name", "workflow_name"},
		StoreText: true, Search: []string{"identity_name", "action_name", "workflow_name", "error_message", "job_id"},
		Page: jobsPage, Key: jobsKey, Access: jobAccess,
		Details: func(ctx context.Context, st *store.Store, r record) ([]rawMember, error) {
			j, err := st.Job(ctx, r.(*store.JobRow).JobID)
			if err != nil {
				return nil, err
			}
			return []rawMember{{"request", j.Request}, {"result", j.Result}}, nil
		},
	})

	_ = registerSource(&source{
		Name: "errors", Summary: "jobs that ERRORED, newest first", Entity: store.EntityJobs, Schema: filter.Jobs,
		Base: `state eq "ERRORED"`, Sort: "created_at", Desc: true, // indexed by (state, created_at)
		Fields:    jobFields,
		Table:     []string{"job_id", "completed_at", "action_type", "identity_name", "error_message", "workflow_name"},
		StoreText: true, Search: jobsSource.Search,
		Page: jobsPage, Key: jobsKey, Access: jobAccess,
		Details: jobsSource.Details,
	})

	tasksSource = registerSource(&source{
		Name: "tasks", Summary: "workflow tasks (triggered workflows)", Entity: store.EntityTasks, Schema: filter.Tasks,
		Fields:    taskFields,
		Table:     []string{"id", "state", "started_at", "workflow", "identity_name", "error_message", "reason"},
		StoreText: true, Search: []string{"identity_name", "workflow", "error_message", "id"},
		Page: tasksPage, Key: tasksKey,
		Get: func(r record, name string) (any, bool) {
			if name == "messages" {
				return r.(*store.TaskRow).Messages, true
			}
			return nil, false
		},
		Details: func(ctx context.Context, st *store.Store, r record) ([]rawMember, error) {
			t, err := st.Task(ctx, r.(*store.TaskRow).ID)
			if err != nil {
				return nil, err
			}
			return rawDetail(t.Raw), nil
		},
	})

	actionsSource = registerSource(&source{
		Name: "actions", Summary: "workflow actions (action events)", Entity: store.EntityActions, Schema: filter.Actions,
		Fields:    actionFields,
		Table:     []string{"policy_task", "action_name", "state", "action_type", "started_at", "jobs_started", "error_message"},
		StoreText: true, Search: []string{"identity_name", "action_name", "workflow_name", "error_message"},
		Page: actionsPage, Key: actionsKey,
		Details: func(ctx context.Context, st *store.Store, r record) ([]rawMember, error) {
			a := r.(*store.ActionRow)
			full, err := st.Action(ctx, a.PolicyTask, a.ActionName)
			if err != nil {
				return nil, err
			}
			return rawDetail(full.Raw), nil
		},
	})
)
