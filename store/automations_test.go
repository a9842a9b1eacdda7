package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opsdeck/opsdeck/store/filter"
)

func autoRow(i int, kind string) AutomationRow {
	r := AutomationRow{
		ID:   fmt.Sprintf("a-%03d", i),
		Name: fmt.Sprintf("Automation %03d", i),
		Kind: kind, Filter: fmt.Sprintf(`source.n eq "%d"`, i),
		AttachToNewWorkflows: i%2 == 0, OptIn: i%3 == 0,
	}
	switch kind {
	case "MODIFICATION":
		r.Decision, r.Notes = "ACCEPTED", "n"
	default:
		r.DisplayStyle = kind
		if kind == "HIGHLIGHT" {
			r.HighlightColor = "#FF6B35"
		}
	}
	r.Raw = []byte(fmt.Sprintf(`{"id":%q,"name":%q}`, r.ID, r.Name))
	return r
}

func autoIDs(t *testing.T, s *Store, q Query) []string {
	t.Helper()
	var out []string
	var after *Key
	for {
		page, err := s.Automations(ctx, q, after, false, 3) // small pages: exercise the keyset
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if r.Raw != nil {
				t.Fatal("list rows carry raw")
			}
			out = append(out, r.ID)
		}
		if len(page) < 3 {
			return out
		}
		k := AutomationKey(q, page[len(page)-1])
		after = &k
	}
}

func TestAutomationColumnsMatchSchema(t *testing.T) {
	s := openTest(t)
	rows, err := s.r.Query("SELECT name FROM pragma_table_info('automations')")
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		have = append(have, n)
	}
	rows.Close()
	want := slices.Clone(automationCols)
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("table has %v\ncolumn list has %v", have, want)
	}
	var r AutomationRow
	if len(r.ptrs()) != len(automationCols) || len(r.args(0)) != len(automationCols)-1 {
		t.Error("ptrs/args do not match the column list")
	}
	for _, f := range filter.Automations.Fields {
		if !slices.Contains(automationCols, f.Column) {
			t.Errorf("filter field %s: no column %q", f.Name, f.Column)
		}
		if _, ok := r.Field(f.Name); !ok {
			t.Errorf("filter field %s: not a Field of AutomationRow", f.Name)
		}
	}
}

func TestWriteAutomationsReplacesTheSet(t *testing.T) {
	s := openTest(t)
	kinds := []string{"MODIFICATION", "HIGHLIGHT", "SUGGEST_ACCEPT", "SUGGEST_REJECT"}
	var all []AutomationRow
	for i := range 10 {
		all = append(all, autoRow(i, kinds[i%4]))
	}
	st, err := s.WriteAutomations(ctx, all, &Cursor{Source: "veza/automations", Value: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Inserted != 10 || st.Deleted != 0 {
		t.Fatalf("first write %+v", st)
	}
	if v, ok, _ := s.GetCursor(ctx, "veza/automations"); !ok || v != "x" {
		t.Fatal("cursor not written")
	}
	if err := s.SetAttachments(ctx, "wf-1", []Attachment{{AutomationID: "a-003", OptIn: true}, {AutomationID: "a-004"}}, 1000); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAttachments(ctx, "wf-2", []Attachment{{AutomationID: "a-003"}}, 2000); err != nil {
		t.Fatal(err)
	}

	// Re-sync the same set: nothing is rewritten.
	before, _ := s.Automation(ctx, "a-001")
	st, err = s.WriteAutomations(ctx, all, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unchanged != 10 || st.Inserted+st.Updated+st.Deleted != 0 {
		t.Fatalf("unchanged re-sync %+v", st)
	}
	if after, _ := s.Automation(ctx, "a-001"); after.SyncedAt != before.SyncedAt {
		t.Fatal("an unchanged row was rewritten")
	}

	// Upstream: a-003 deleted, a-001 changed, a-010 created.
	next := slices.DeleteFunc(slices.Clone(all), func(r AutomationRow) bool { return r.ID == "a-003" })
	next[1].Name = "Renamed"
	next[1].Raw = []byte(`{"id":"a-001","name":"Renamed"}`)
	next = append(next, autoRow(10, "HIGHLIGHT"))
	st, err = s.WriteAutomations(ctx, next, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Inserted != 1 || st.Updated != 1 || st.Unchanged != 8 || st.Deleted != 1 {
		t.Fatalf("delta %+v", st)
	}
	if _, err := s.Automation(ctx, "a-003"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted automation still cached: %v", err)
	}
	got, err := s.Automation(ctx, "a-001")
	if err != nil || got.Name != "Renamed" || string(got.Raw) != `{"id":"a-001","name":"Renamed"}` {
		t.Fatalf("%+v %v", got, err)
	}
	// The deleted automation's attachments went with it.
	if a, _ := s.Attachments(ctx, "a-003"); len(a) != 0 {
		t.Fatalf("attachments of a deleted automation: %+v", a)
	}
	wfs, err := s.Workflows(ctx)
	if err != nil || len(wfs) != 2 || wfs[0].ID != "wf-2" || wfs[0].Attached != 0 || wfs[1].Attached != 1 {
		t.Fatalf("workflows %+v %v", wfs, err)
	}
	ids := autoIDs(t, s, Query{})
	want := []string{"a-000", "a-001", "a-002", "a-004", "a-005", "a-006", "a-007", "a-008", "a-009", "a-010"}
	slices.Sort(ids)
	if !slices.Equal(ids, want) {
		t.Fatalf("cache holds %v", ids)
	}
	counts, err := s.StateCounts(ctx, EntityAutomations)
	if err != nil || counts["HIGHLIGHT"] != 4 || counts["MODIFICATION"] != 3 || counts["SUGGEST_ACCEPT"] != 2 || counts["SUGGEST_REJECT"] != 1 {
		t.Fatalf("kind counts %v %v", counts, err)
	}
	if n, err := s.Count(ctx, EntityAutomations, nil); err != nil || n != 10 {
		t.Fatalf("count %d %v", n, err)
	}

	// An empty list from upstream empties the cache.
	if st, err := s.WriteAutomations(ctx, nil, nil); err != nil || st.Deleted != 10 {
		t.Fatalf("%+v %v", st, err)
	}
	if n, _ := s.Count(ctx, EntityAutomations, nil); n != 0 {
		t.Fatalf("%d left", n)
	}
	if _, err := s.WriteAutomations(ctx, []AutomationRow{{Name: "no id"}}, nil); err == nil {
		t.Fatal("a row without id was accepted")
	}
}

func TestAutomationsQuery(t *testing.T) {
	s := openTest(t)
	var all []AutomationRow
	kinds := []string{"MODIFICATION", "HIGHLIGHT", "SUGGEST_REJECT"}
	for i := range 12 {
		r := autoRow(i, kinds[i%3])
		r.Name = fmt.Sprintf("%c automation", 'L'-i) // reverse of id order
		if i == 4 {
			r.Name = "h lower case" // sorts with H (case-insensitive), not after L
		}
		all = append(all, r)
	}
	if _, err := s.WriteAutomations(ctx, all, nil); err != nil {
		t.Fatal(err)
	}
	byName := autoIDs(t, s, Query{})
	if byName[0] != "a-011" || byName[7] != "a-004" || byName[len(byName)-1] != "a-000" {
		t.Fatalf("by name %v", byName)
	}
	where, err := filter.ParseFor(`kind eq "highlight" and highlight_color eq "#ff6b35"`, filter.Automations)
	if err != nil {
		t.Fatal(err)
	}
	got := autoIDs(t, s, Query{Where: where, Sort: "filter", Desc: true})
	if !slices.Equal(got, []string{"a-007", "a-004", "a-010", "a-001"}) { // filter text desc: "7" > "4" > "10" > "1"
		t.Fatalf("highlights by filter desc: %v", got)
	}
	if n, err := s.Count(ctx, EntityAutomations, where); err != nil || n != 4 {
		t.Fatalf("count %d %v", n, err)
	}
	for _, src := range []string{`opt_in eq true`, `attach_to_new_workflows eq false`, `decision eq "ACCEPTED"`, `name co "AUTOMATION"`, `not (display_style pr)`} {
		w, err := filter.ParseFor(src, filter.Automations)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		n, err := s.Count(ctx, EntityAutomations, w)
		if err != nil || n == 0 {
			t.Errorf("%s: %d %v", src, n, err)
		}
		if got := autoIDs(t, s, Query{Where: w, Sort: "opt_in"}); len(got) != n {
			t.Errorf("%s: listed %d, counted %d", src, len(got), n)
		}
	}
}

func TestAutomationWriteBack(t *testing.T) {
	s := openTest(t)
	if err := s.PutAutomation(ctx, autoRow(1, "HIGHLIGHT")); err != nil {
		t.Fatal(err)
	}
	r := autoRow(1, "MODIFICATION")
	if err := s.PutAutomation(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Automation(ctx, "a-001")
	if err != nil || got.Kind != "MODIFICATION" || got.Decision != "ACCEPTED" {
		t.Fatalf("%+v %v", got, err)
	}
	if c, _ := s.StateCounts(ctx, EntityAutomations); c["MODIFICATION"] != 1 || c["HIGHLIGHT"] != 0 {
		t.Fatalf("counts %v", c)
	}
	s.SetAttachments(ctx, "wf", []Attachment{{AutomationID: "a-001", OptIn: true}, {AutomationID: "a-001"}, {AutomationID: ""}}, 5)
	atts, _ := s.Attachments(ctx, "a-001")
	if len(atts) != 1 || atts[0].WorkflowID != "wf" || !atts[0].OptIn || atts[0].FetchedAt != 5 {
		t.Fatalf("%+v", atts)
	}
	// A later fetch of the same workflow replaces its answer.
	s.SetAttachments(ctx, "wf", nil, 9)
	if atts, _ := s.Attachments(ctx, "a-001"); len(atts) != 0 {
		t.Fatalf("%+v", atts)
	}
	if wfs, _ := s.Workflows(ctx); len(wfs) != 1 || wfs[0].FetchedAt != 9 || wfs[0].Attached != 0 {
		t.Fatalf("%+v", wfs)
	}
	s.SetAttachments(ctx, "wf", []Attachment{{AutomationID: "a-001"}}, 10)
	if err := s.DeleteAutomation(ctx, "a-001"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, EntityAutomations, nil); n != 0 {
		t.Fatal("not deleted")
	}
	if atts, _ := s.WorkflowAttachments(ctx, "wf"); len(atts) != 0 {
		t.Fatalf("%+v", atts)
	}
	if err := s.DeleteAutomation(ctx, "a-001"); err != nil {
		t.Fatal("deleting twice:", err)
	}

	// Drafts.
	if _, ok, err := s.GetAutomationDraft(ctx, "a-001"); ok || err != nil {
		t.Fatal(ok, err)
	}
	d := AutomationDraft{AutomationID: "a-001", Draft: []byte(`{"name":"x"}`), Reason: "offline"}
	if err := s.SaveAutomationDraft(ctx, d); err != nil {
		t.Fatal(err)
	}
	got2, ok, err := s.GetAutomationDraft(ctx, "a-001")
	if !ok || err != nil || string(got2.Draft) != `{"name":"x"}` || got2.Reason != "offline" || got2.SavedAt == 0 {
		t.Fatalf("%+v %v %v", got2, ok, err)
	}
	if err := s.DeleteAutomationDraft(ctx, "a-001"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.GetAutomationDraft(ctx, "a-001"); ok {
		t.Fatal("draft not deleted")
	}
}

func TestAutomationsReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteAutomations(ctx, []AutomationRow{autoRow(1, "HIGHLIGHT")}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Automation(ctx, "a-001"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		func() error { _, err := ro.WriteAutomations(ctx, nil, nil); return err }(),
		ro.PutAutomation(ctx, autoRow(2, "HIGHLIGHT")),
		ro.DeleteAutomation(ctx, "a-001"),
		ro.SetAttachments(ctx, "wf", nil, 1),
		ro.SaveAutomationDraft(ctx, AutomationDraft{}),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("read-only write: %v", err)
		}
	}
}
