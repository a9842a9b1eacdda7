package filter

import (
	"slices"
	"strconv"
	"strings"
)

// Kind is the type of a filterable field; it decides which literals a field
// accepts and how they are compared.
type Kind int

const (
	KindString Kind = iota // quoted string
	KindEnum               // quoted string from Field.Values, any letter case
	KindBool               // true/false; stored as INTEGER 1/0
	KindInt                // integral number; stored as INTEGER
	KindTime               // quoted RFC 3339 time; stored as INTEGER unix ms, 0 = unset
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindEnum:
		return "enum"
	case KindBool:
		return "bool"
	case KindInt:
		return "integer"
	case KindTime:
		return "time"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Field is one filterable attribute. Column is the SQL column ToSQL emits;
// it is trusted schema data, never user input. Ops lists the operators the
// API allows; "pr" is allowed on every field in addition (RFC 7644). Fold
// makes comparisons case-insensitive (ASCII letters). Values lists the valid
// values of a KindEnum field in canonical (upper) case; enums always fold.
type Field struct {
	Name, Column string
	Kind         Kind
	Ops          []Op
	Fold         bool
	Values       []string
}

// Allows reports whether the field accepts op ("pr" is always accepted).
func (f Field) Allows(op Op) bool { return op == OpPr || slices.Contains(f.Ops, op) }

// fold reports whether string comparisons on f ignore ASCII letter case.
func (f Field) fold() bool { return f.Fold || f.Kind == KindEnum }

// Schema is the set of filterable fields of one entity.
type Schema struct {
	Entity string
	Fields []Field
}

// Field returns the field called name; an exact match wins, otherwise the
// name is matched ignoring case (SCIM attribute names are case-insensitive).
func (s *Schema) Field(name string) (Field, bool) {
	if s == nil {
		return Field{}, false
	}
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	for _, f := range s.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Field{}, false
}

// Names returns the field names, sorted, for completion and help.
func (s *Schema) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.Name
	}
	slices.Sort(names)
	return names
}

// Enum values, copied from sync/veza/types.go (store must not import sync).
var (
	stateValues = []string{"INITIAL", "RUNNING", "COMPLETED", "ERRORED", "SKIPPED",
		"SCHEDULED", "PENDING", "BLOCKED", "ABANDONED"}
	actionTypeValues = []string{"NONE", "SYNC_IDENTITIES", "MANAGE_RELATIONSHIPS",
		"CREATE_EMAIL", "DEPROVISION_IDENTITY", "ACCESS_PLAN", "WRITE_BACK_EMAIL", "PAUSE",
		"SEND_NOTIFICATION", "CUSTOM_ACTION", "CREATE_ENTITLEMENT", "CREATE_ACCESS_REVIEW",
		"RESET_PASSWORD", "DELETE_IDENTITY", "SEND_REST_PAYLOAD"}
	eventSourceValues = []string{"POLICY", "ACCESS_PLAN"}
)

// Operator sets used by the schemas below.
var (
	opsEq      = []Op{OpEq}
	opsEqCo    = []Op{OpEq, OpCo}
	opsEqNe    = []Op{OpEq, OpNe}
	opsEqNeCo  = []Op{OpEq, OpNe, OpCo}
	opsText    = []Op{OpEq, OpCo, OpSw, OpEw}
	opsRange   = []Op{OpGt, OpGe, OpLt, OpLe}
	opsNumeric = []Op{OpEq, OpNe, OpGt, OpGe, OpLt, OpLe}
)

// field builds a Field whose Column equals its Name.
func field(name string, kind Kind, ops []Op) Field {
	return Field{Name: name, Column: name, Kind: kind, Ops: slices.Clone(ops)}
}

func folded(f Field) Field { f.Fold = true; return f }

func enum(name string, values []string) Field {
	f := field(name, KindEnum, opsEq)
	f.Fold = true
	f.Values = values
	return f
}

// ackedField is the local-only `acked eq true|false`: whether the row or its
// error group carries a triage mark (store migration 0006). Its Column is a
// computed expression, so it filters but cannot sort.
func ackedField(table, key string) Field {
	f := field("acked", KindBool, opsEq)
	f.Column = "(EXISTS (SELECT 1 FROM marks WHERE marks.entity = '" + table + "' AND marks.key = " + table + "." + key + ")" +
		" OR EXISTS (SELECT 1 FROM marks WHERE marks.entity = 'group' AND marks.key = " + table + ".error_signature))"
	return f
}

// Tasks: workflow tasks, API-CONTRACT.md §1.2, plus local-only id,
// error_message (the joined messages of an ERRORED task), error_signature
// (its normalised form) and acked (a local triage mark).
var Tasks = &Schema{Entity: "tasks", Fields: []Field{
	enum("state", stateValues),
	field("policy_id", KindString, opsEq),
	field("workflow", KindString, opsEqNeCo),
	field("identity_id", KindString, opsText),
	folded(field("identity_name", KindString, opsText)),
	field("started_at", KindTime, opsRange),
	field("completed_at", KindTime, opsRange),
	field("scheduled_at", KindTime, opsRange),
	field("t_created_at", KindTime, opsRange),
	field("t_updated_at", KindTime, opsRange),
	field("any_changes", KindBool, opsEq),
	field("dry_run", KindBool, opsEq),
	field("priority", KindInt, opsNumeric),
	field("id", KindString, opsEqCo),
	folded(field("error_message", KindString, opsEqCo)),
	field("error_signature", KindString, opsEqNeCo),
	ackedField("tasks", "id"),
}}

// Actions: workflow action events, seed 001 / API-CONTRACT.md §1.3, plus
// local-only error_message.
var Actions = &Schema{Entity: "actions", Fields: []Field{
	enum("state", stateValues),
	field("policy_task", KindString, opsEq),
	folded(field("action_name", KindString, opsEqCo)),
	enum("action_type", actionTypeValues),
	field("policy_id", KindString, opsEq),
	field("workflow_name", KindString, opsEqCo),
	field("identity_id", KindString, opsText),
	folded(field("identity_name", KindString, opsText)),
	field("started_at", KindTime, opsRange),
	field("completed_at", KindTime, opsRange),
	field("any_changes", KindBool, opsEq),
	field("extraction_event", KindString, opsEq),
	field("jobs_started", KindInt, opsEq),
	folded(field("error_message", KindString, opsEqCo)),
}}

// Jobs: integration job events, seed 000 / API-CONTRACT.md §1.4, plus
// local-only error_message, error_signature and acked (see Tasks).
var Jobs = &Schema{Entity: "jobs", Fields: []Field{
	enum("state", stateValues),
	field("job_id", KindString, opsEqCo),
	field("policy_task", KindString, opsEq),
	folded(field("action_name", KindString, opsEqCo)),
	enum("action_type", actionTypeValues),
	field("policy_id", KindString, opsEq),
	field("workflow_name", KindString, opsEqCo),
	field("identity_id", KindString, opsText),
	folded(field("identity_name", KindString, opsText)),
	enum("event_source", eventSourceValues),
	field("event_source_id", KindString, opsEq),
	field("extraction_event", KindString, opsEq),
	folded(field("extraction_event_type", KindString, opsEqNe)),
	field("started_at", KindTime, opsRange),
	field("completed_at", KindTime, opsRange),
	field("created_at", KindTime, opsRange),
	field("any_changes", KindBool, opsEq),
	field("events_created", KindInt, opsEq),
	folded(field("error_message", KindString, opsEqCo)),
	field("error_signature", KindString, opsEqNeCo),
	ackedField("jobs", "job_id"),
}}
