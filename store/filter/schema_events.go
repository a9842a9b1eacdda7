package filter

// Veza system events (seed 002, API-CONTRACT.md §1.6) as the cache filters
// them. The API itself filters on category, severity and timestamp (and the
// export on persisted_at); the cache filters on every column, and the
// error_* and metadata fields are its own.

// Enum values of seed 002's event schema. Copied from the seed, not from
// sync/veza: store must not import sync.
var (
	eventSeverityValues = []string{"INFO", "WARNING", "ERROR"}
	eventCategoryValues = []string{"SYSTEM", "INTEGRATIONS", "RULE", "TAG", "NOTIFICATION"}
)

var opsEqNeText = []Op{OpEq, OpNe, OpCo, OpSw, OpEw}

func enumOps(name string, values []string, ops []Op) Field {
	f := enum(name, values)
	f.Ops = append([]Op(nil), ops...)
	return f
}

// Events: system events. event_type is text, not an enum: seed 002's own
// example objects carry titles ("OAA push") where its table lists constants
// (OAA_PUSH), so both must be filterable.
var Events = &Schema{Entity: "events", Fields: []Field{
	enumOps("severity", eventSeverityValues, opsEqNe),
	enumOps("category", eventCategoryValues, opsEqNe),
	folded(field("event_type", KindString, opsEqNeText)),
	field("timestamp", KindTime, opsRange),
	field("persisted_at", KindTime, opsRange),
	folded(field("name", KindString, opsEqNeText)),
	folded(field("message", KindString, opsText)),
	folded(field("entity", KindString, opsEqNe)),
	field("entity_id", KindString, opsEq),
	folded(field("entity_name", KindString, opsText)),
	field("provider_id", KindString, opsEq),
	field("id", KindString, opsEqCo),
	folded(field("error_reason", KindString, opsEqNeText)),
	folded(field("error_message", KindString, opsEqCo)),
	folded(field("metadata", KindString, []Op{OpCo})),
}}
