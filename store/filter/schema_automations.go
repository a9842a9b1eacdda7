package filter

// Automations: the cached access-review Automations (seed 003,
// API-CONTRACT.md §1.7), as the Automations list filters and sorts them.
// These are local fields, not an API filter: the API lists automations
// without one. kind is MODIFICATION or the display style; enum fields hold
// canonical names (internal/automation), "" when unset: test with pr.
var Automations = &Schema{Entity: "automations", Fields: []Field{
	folded(field("name", KindString, []Op{OpEq, OpNe, OpCo, OpSw, OpEw})),
	{Name: "kind", Column: "kind", Kind: KindEnum, Ops: opsEqNe, Fold: true,
		Values: []string{"MODIFICATION", "HIGHLIGHT", "SUGGEST_ACCEPT", "SUGGEST_REJECT"}},
	folded(field("filter", KindString, opsText)),
	folded(field("mutable_filter", KindString, opsText)),
	field("attach_to_new_workflows", KindBool, opsEq),
	field("opt_in", KindBool, opsEq),
	{Name: "decision", Column: "decision", Kind: KindEnum, Ops: opsEqNe, Fold: true,
		Values: []string{"NONE", "ACCEPTED", "REJECTED", "FIXED"}},
	{Name: "signed_off_state", Column: "signed_off_state", Kind: KindEnum, Ops: opsEqNe, Fold: true,
		Values: []string{"NOT_SIGNED_OFF", "SIGNED_OFF"}},
	{Name: "display_style", Column: "display_style", Kind: KindEnum, Ops: opsEqNe, Fold: true,
		Values: []string{"HIGHLIGHT", "SUGGEST_ACCEPT", "SUGGEST_REJECT"}},
	folded(field("notes", KindString, opsEqCo)),
	folded(field("display_text", KindString, opsEqCo)),
	folded(field("highlight_color", KindString, opsEq)),
	folded(field("description", KindString, opsEqCo)),
	field("id", KindString, opsEqCo),
	field("priority", KindInt, opsNumeric),
	field("created_at", KindTime, opsRange),
	field("updated_at", KindTime, opsRange),
}}
