package cli

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/store"
)

// moreCache holds a few rows of every non-LCM table.
func moreCache(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "more.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = st.WriteEvents(ctx, []store.EventRow{
		{ID: "e-1", Timestamp: at(10), Severity: "ERROR", Category: "INTEGRATIONS", EventType: "EXTRACTION_FAILED", Name: "Extraction failed",
			Message: "Okta extraction failed: 401", Entity: "DATASOURCE", EntityID: "ds-1", EntityName: "Okta", Raw: []byte(`{"id":"e-1"}`)},
		{ID: "e-2", Timestamp: at(20), Severity: "INFO", Category: "SYSTEM", EventType: "LOGIN", Name: "Login", Message: "admin logged in",
			Raw: []byte(`{"id":"e-2"}`)},
	}, nil)
	must(err)
	_, err = st.WriteSocotraEvents(ctx, []store.SocotraEventRow{
		{Locator: "se-1", Timestamp: at(5), Type: "policy.quote.issue", User: "u-1", RequestID: "r-1", Data: []byte(`{"a":1}`), Raw: []byte(`{}`)},
		{Locator: "se-2", Timestamp: at(6), Type: "policy.cancellation.create", User: "u-2", RequestID: "r-2", Raw: []byte(`{}`)},
	}, nil)
	must(err)
	_, _, err = st.ReplaceSocotraFailed(ctx, []store.SocotraFailedRow{
		{TriggerGroup: "policy:p-9", TriggerName: "renewal-p-9", State: "quit", FailureCount: 3, CreatedAt: at(1), UpdatedAt: at(2), Raw: []byte(`{}`)},
	}, nil)
	must(err)
	_, _, err = st.ReplaceSocotraScheduled(ctx, "p-9", []store.SocotraScheduledRow{
		{PolicyLocator: "p-9", TransactionLocator: "tx-1", CustomEventID: "renewal", TriggerState: "ERROR", NextEventTime: at(100), Raw: []byte(`{}`)},
	})
	must(err)
	_, err = st.WriteAutomations(ctx, []store.AutomationRow{
		{ID: "a-1", Name: "Flag admins", Kind: "HIGHLIGHT", DisplayStyle: "HIGHLIGHT", HighlightColor: "#FF0000", Filter: `source.is_admin eq true`, Priority: 1, Raw: []byte(`{"id":"a-1"}`)},
	}, nil)
	must(err)
	return path
}

func TestMoreSources(t *testing.T) {
	h := newHarness(t, moreCache(t))
	for _, tc := range []struct {
		args  []string
		field string
		want  []string
	}{
		{[]string{"events"}, "id", []string{"e-2", "e-1"}},
		{[]string{"events", "--filter", `severity eq "ERROR"`}, "id", []string{"e-1"}},
		{[]string{"events", "--search", "okta"}, "id", []string{"e-1"}},
		{[]string{"socotra-events", "--filter", `type_prefix eq "policy.quote"`}, "locator", []string{"se-1"}},
		{[]string{"socotra-events", "--search", "cancellation"}, "locator", []string{"se-2"}},
		{[]string{"socotra-failed", "--filter", `state eq "quit"`}, "trigger_name", []string{"renewal-p-9"}},
		{[]string{"socotra-scheduled"}, "custom_event_id", []string{"renewal"}},
		{[]string{"automations", "--search", "admins"}, "id", []string{"a-1"}},
	} {
		out := h.mustRun(append([]string{"query", "-o", "jsonl"}, tc.args...)...)
		if got := decodeJSONL(t, out, tc.field); !slices.Equal(got, tc.want) {
			t.Errorf("%v: %v, want %v", tc.args, got, tc.want)
		}
	}
	if out := h.mustRun("query", "events", "-o", "jsonl", "--details", "--limit", "1"); !strings.Contains(out, `"raw":{"id":"e-2"}`) {
		t.Errorf("event details: %s", out)
	}
	if out := h.mustRun("query", "socotra-events", "-o", "jsonl", "--details", "--filter", `locator eq "se-1"`); !strings.Contains(out, `"data":{"a":1}`) {
		t.Errorf("socotra details: %s", out)
	}
}

// Every field a source declares is one its rows really have.
func TestSourcesFieldsResolve(t *testing.T) {
	ctx := context.Background()
	for _, path := range []string{fixtureCache(t), moreCache(t)} {
		st, err := store.OpenReadOnly(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, src := range sources {
			rows, err := src.Page(ctx, st, store.Query{Sort: src.Sort, Desc: src.Desc}, nil, 1)
			if err != nil {
				t.Fatalf("%s: %v", src.Name, err)
			}
			if len(rows) == 0 {
				continue
			}
			for _, f := range src.Fields {
				if _, ok := src.get(rows[0], f.name); !ok {
					t.Errorf("%s: field %s does not resolve", src.Name, f.name)
				}
			}
			for _, n := range src.Table {
				if _, ok := src.field(n); !ok {
					t.Errorf("%s: table column %s is not a field", src.Name, n)
				}
			}
			if src.Sort != "" {
				if _, ok := src.Schema.Field(src.Sort); !ok {
					t.Errorf("%s: default sort %s is not in the schema", src.Name, src.Sort)
				}
			}
		}
		st.Close()
	}
}
