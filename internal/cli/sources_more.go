package cli

import (
	"context"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
)

// The sources beyond Lifecycle Management: system events, access-review
// automations and Socotra. None has a store-side text index, so --search
// is an "or" of "co" comparisons over their text fields.

var (
	eventsPage, eventsKey             = pager[store.EventRow]((*store.Store).Events, store.EventKey)
	automationsPage, automationsKey   = pager[store.AutomationRow]((*store.Store).Automations, store.AutomationKey)
	socotraEventsPage, socotraEvKey   = pager[store.SocotraEventRow]((*store.Store).SocotraEvents, store.SocotraEventKey)
	socotraFailedPage, socotraFailKey = pager[store.SocotraFailedRow]((*store.Store).SocotraFailed, store.SocotraFailedKey)
	socotraSchedPage, socotraSchedKey = pager[store.SocotraScheduledRow]((*store.Store).SocotraScheduled, store.SocotraScheduledKey)

	local = map[string]valueKind{"synced_at": kTime}

	_ = registerSource(&source{
		Name: "events", Summary: "Veza system events, newest first", Entity: store.EntityEvents, Schema: filter.Events,
		Sort: "timestamp", Desc: true,
		Fields: fieldsOf(filter.Events, []string{
			"id", "timestamp", "persisted_at", "severity", "category", "event_type", "name", "message",
			"entity", "entity_id", "entity_name", "provider_id", "error_reason", "error_message", "synced_at",
		}, local),
		Table:  []string{"timestamp", "severity", "category", "event_type", "entity_name", "message", "id"},
		Search: []string{"message", "name", "event_type", "entity_name", "error_message"},
		Page:   eventsPage, Key: eventsKey,
		Details: func(ctx context.Context, st *store.Store, r record) ([]rawMember, error) {
			e, err := st.Event(ctx, r.(*store.EventRow).ID)
			if err != nil {
				return nil, err
			}
			return []rawMember{{"error", e.Error}, {"metadata", e.Metadata}, {"raw", e.Raw}}, nil
		},
	})

	_ = registerSource(&source{
		Name: "automations", Summary: "access-review automations", Entity: store.EntityAutomations, Schema: filter.Automations,
		Fields: fieldsOf(filter.Automations, []string{
			"id", "name", "description", "priority", "kind", "decision", "signed_off_state", "notes",
			"display_style", "display_text", "highlight_color", "filter", "mutable_filter",
			"attach_to_new_workflows", "opt_in", "created_at", "updated_at", "synced_at",
		}, local),
		Table:  []string{"id", "name", "kind", "priority", "filter", "description"},
		Search: []string{"name", "description", "filter", "notes", "display_text"},
		Page:   automationsPage, Key: automationsKey,
		Details: func(ctx context.Context, st *store.Store, r record) ([]rawMember, error) {
			a, err := st.Automation(ctx, r.(*store.AutomationRow).ID)
			if err != nil {
				return nil, err
			}
			return rawDetail(a.Raw), nil
		},
	})

	_ = registerSource(&source{
		Name: "socotra-events", Summary: "Socotra events, newest first", Entity: store.EntitySocotraEvents, Schema: filter.SocotraEvents,
		Sort: "timestamp", Desc: true,
		Fields: fieldsOf(filter.SocotraEvents, []string{"locator", "timestamp", "type", "type_prefix", "user", "request_id", "synced_at"}, local),
		Table:  []string{"timestamp", "type", "locator", "request_id", "user"},
		Search: []string{"type", "locator", "request_id", "user"},
		Page:   socotraEventsPage, Key: socotraEvKey,
		Details: func(ctx context.Context, st *store.Store, r record) ([]rawMember, error) {
			e, err := st.SocotraEvent(ctx, r.(*store.SocotraEventRow).Locator)
			if err != nil {
				return nil, err
			}
			return []rawMember{{"data", e.Data}, {"raw", e.Raw}}, nil
		},
	})

	_ = registerSource(&source{
		Name: "socotra-failed", Summary: "Socotra failed scheduled jobs", Entity: store.EntitySocotraFailed, Schema: filter.SocotraFailed,
		Sort: "updated_at", Desc: true,
		Fields: fieldsOf(filter.SocotraFailed, []string{
			"trigger_group", "trigger_name", "state", "failure_count", "created_at", "updated_at", "policy_locator", "synced_at",
		}, local),
		Table:  []string{"trigger_name", "trigger_group", "state", "failure_count", "updated_at"},
		Search: []string{"trigger_name", "trigger_group"},
		Page:   socotraFailedPage, Key: socotraFailKey,
		Details: func(ctx context.Context, st *store.Store, r record) ([]rawMember, error) {
			f := r.(*store.SocotraFailedRow)
			full, err := st.SocotraFailedJob(ctx, f.TriggerGroup, f.TriggerName)
			if err != nil {
				return nil, err
			}
			return rawDetail(full.Raw), nil
		},
	})

	_ = registerSource(&source{
		Name: "socotra-scheduled", Summary: "Socotra scheduled policy events", Entity: store.EntitySocotraScheduled, Schema: filter.SocotraScheduled,
		Fields: fieldsOf(filter.SocotraScheduled, []string{
			"policy_locator", "transaction_locator", "custom_event_id", "trigger_state", "next_event_time", "synced_at",
		}, local),
		Table:  []string{"policy_locator", "custom_event_id", "trigger_state", "next_event_time", "transaction_locator"},
		Search: []string{"transaction_locator", "custom_event_id"},
		Page:   socotraSchedPage, Key: socotraSchedKey,
	})
)
