package filter

// Socotra (seed 004, API-CONTRACT.md §2). The API filters nothing but
// startTimestamp/endTimestamp/type, so these schemas are the cache's own:
// field names are the store's columns.

// Enum values of seed 004.
var (
	socotraTriggerStates   = []string{"BLOCKED", "COMPLETE", "ERROR", "NONE", "NORMAL", "PAUSED"}
	socotraFailedJobStates = []string{"queued", "quit"}
)

// SocotraEvents: the event stream. type_prefix is the type without its last
// segment (policy.quote.issue -> policy.quote); user is the userLocator;
// data is the event's data map as JSON text (free-text search looks in it).
var SocotraEvents = &Schema{Entity: "socotra_events", Fields: []Field{
	field("locator", KindString, opsEqCo),
	field("timestamp", KindTime, opsRange),
	folded(field("type", KindString, []Op{OpEq, OpNe, OpCo, OpSw, OpEw})),
	folded(field("type_prefix", KindString, []Op{OpEq, OpNe, OpSw})),
	field("user", KindString, opsEqCo),
	field("request_id", KindString, opsEqCo),
	folded(field("data", KindString, []Op{OpCo})),
}}

// SocotraScheduled: scheduled policy events.
var SocotraScheduled = &Schema{Entity: "socotra_scheduled", Fields: []Field{
	field("policy_locator", KindString, opsEq),
	field("transaction_locator", KindString, opsEqCo),
	folded(field("custom_event_id", KindString, opsEqNeCo)),
	enum("trigger_state", socotraTriggerStates),
	field("next_event_time", KindTime, opsRange),
}}

// SocotraFailed: failed scheduled jobs; state is the failedJobState.
var SocotraFailed = &Schema{Entity: "socotra_failed", Fields: []Field{
	enum("state", socotraFailedJobStates),
	folded(field("trigger_name", KindString, opsText)),
	field("trigger_group", KindString, opsText),
	field("failure_count", KindInt, opsNumeric),
	field("created_at", KindTime, opsRange),
	field("updated_at", KindTime, opsRange),
	field("policy_locator", KindString, opsEq),
}}
