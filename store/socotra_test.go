package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/store/filter"
)

func TestSocotraColumnListsMatchSchema(t *testing.T) {
	s := openTest(t)
	for _, c := range []struct {
		table      string
		cols       []string
		ptrs, args int
		schema     *filter.Schema
		row        fielder
	}{
		{"socotra_events", socotraEventCols, len((&SocotraEventRow{}).ptrs()), len((&SocotraEventRow{}).args(0, "")), filter.SocotraEvents, &SocotraEventRow{}},
		{"socotra_scheduled", socotraScheduledCols, len((&SocotraScheduledRow{}).ptrs()), len((&SocotraScheduledRow{}).args(0)), filter.SocotraScheduled, &SocotraScheduledRow{}},
		{"socotra_failed", socotraFailedCols, len((&SocotraFailedRow{}).ptrs()), len((&SocotraFailedRow{}).args(0, "")), filter.SocotraFailed, &SocotraFailedRow{}},
	} {
		var names string
		if err := s.r.QueryRow("SELECT group_concat(name, ' ') FROM (SELECT name FROM pragma_table_info(?) ORDER BY name)", c.table).Scan(&names); err != nil {
			t.Fatal(err)
		}
		want := slices.Sorted(slices.Values(c.cols))
		if have := strings.Fields(names); !slices.Equal(have, want) {
			t.Errorf("%s: table has %v\ncolumn list has %v", c.table, have, want)
		}
		if c.ptrs != len(c.cols) || c.args != len(c.cols)-1 {
			t.Errorf("%s: %d columns, %d scan targets, %d args", c.table, len(c.cols), c.ptrs, c.args)
		}
		if c.schema.Entity != c.table {
			t.Errorf("schema %s for table %s", c.schema.Entity, c.table)
		}
		for _, f := range c.schema.Fields {
			if !slices.Contains(c.cols, f.Column) {
				t.Errorf("%s.%s: no column %q", c.table, f.Name, f.Column)
			}
			if _, ok := c.row.Field(f.Name); !ok {
				t.Errorf("%s.%s: not a Field of %T", c.table, f.Name, c.row)
			}
		}
	}
}

func TestSocotraTypePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"policy.quote.issue": "policy.quote", "invoice.create": "invoice", "custom.policy.riskScoreUpdated": "custom.policy",
		"ping": "ping", "": "", ".x": ".x",
	} {
		if got := SocotraTypePrefix(in); got != want {
			t.Errorf("SocotraTypePrefix(%q) = %q, want %q", in, got, want)
		}
	}
	if SocotraGroupPolicy("policy:ABC") != "ABC" || SocotraGroupPolicy("tenant:x") != "" {
		t.Fatal("SocotraGroupPolicy")
	}
}

var socTypes = []string{"policy.quote.create", "policy.quote.issue", "policy.cancellation.create", "invoice.create", "payment.post"}

func socEvents(from, n int) []SocotraEventRow {
	out := make([]SocotraEventRow, n)
	for i := range out {
		k := from + i
		out[i] = SocotraEventRow{
			Locator:   fmt.Sprintf("EV%024d", k),
			Timestamp: 1_767_000_000_000 + int64(k)*1000,
			Type:      socTypes[k%len(socTypes)],
			User:      fmt.Sprintf("user-%d", k%3),
			RequestID: fmt.Sprintf("req-%d", k/4),
			Data:      []byte(fmt.Sprintf(`{"policyLocator":"POL%d","name":"Müller %d"}`, k%7, k)),
			Raw:       []byte(fmt.Sprintf(`{"locator":"EV%024d"}`, k)),
		}
	}
	return out
}

func TestSocotraEventsWriteAndList(t *testing.T) {
	s := openTest(t)
	evs := socEvents(0, 250)
	st, err := s.WriteSocotraEvents(ctx, evs[:200], &Cursor{Source: "socotra/events", Value: "tok-1"})
	if err != nil || st.Inserted != 200 {
		t.Fatalf("write: %+v %v", st, err)
	}
	if v, ok, _ := s.GetCursor(ctx, "socotra/events"); !ok || v != "tok-1" {
		t.Fatalf("cursor %q %v", v, ok)
	}
	// The overlap is unchanged, the rest new.
	st, err = s.WriteSocotraEvents(ctx, evs[150:], &Cursor{Source: "socotra/events", Value: "tok-2"})
	if err != nil || st.Inserted != 50 || st.Unchanged != 50 || st.Updated != 0 {
		t.Fatalf("second write: %+v %v", st, err)
	}
	if n, _ := s.Count(ctx, EntitySocotraEvents, nil); n != 250 {
		t.Fatalf("count %d", n)
	}
	counts, err := s.StateCounts(ctx, EntitySocotraEvents)
	if err != nil || counts["policy.quote"] != 100 || counts["invoice"] != 50 || counts["policy.cancellation"] != 50 {
		t.Fatalf("prefix counts %v %v", counts, err)
	}

	// Newest first, in keyset pages that join up exactly.
	q := Query{Desc: true}
	var all []SocotraEventRow
	var after *Key
	for {
		p, err := s.SocotraEvents(ctx, q, after, false, 40)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p...)
		if len(p) < 40 {
			break
		}
		k := SocotraEventKey(q, p[len(p)-1])
		after = &k
	}
	if len(all) != 250 || all[0].Locator != evs[249].Locator || all[249].Locator != evs[0].Locator {
		t.Fatalf("%d rows, first %s", len(all), all[0].Locator)
	}
	if all[0].Data != nil || all[0].TypePrefix != "payment" {
		t.Fatalf("list row %+v", all[0])
	}

	// Filters: type prefix, time range, request, free text in data.
	for _, c := range []struct {
		f    string
		want int
	}{
		{`type sw "policy.quote"`, 100},
		{`type sw "POLICY.QUOTE."`, 100},
		{`type_prefix eq "policy.cancellation"`, 50},
		{`timestamp ge "2025-12-29T09:20:00Z" and timestamp lt "2025-12-29T09:21:40Z"`, 100},
		{`request_id eq "req-3"`, 4},
		{`data co "müller 12"`, 11}, // 12 and 120-129; LIKE folds ASCII only, ü matches itself
	} {
		n, err := s.Count(ctx, EntitySocotraEvents, mustFilter(t, c.f, filter.SocotraEvents))
		if err != nil || n != c.want {
			t.Errorf("%s: %d rows, want %d (%v)", c.f, n, c.want, err)
		}
	}

	e, err := s.SocotraEvent(ctx, evs[12].Locator)
	if err != nil || string(e.Data) != string(evs[12].Data) || string(e.Raw) != string(evs[12].Raw) || e.TypePrefix != "policy.cancellation" {
		t.Fatalf("get: %+v %v", e, err)
	}
	if _, err := s.SocotraEvent(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing event: %v", err)
	}

	// A changed event is an update; a bad row fails the whole batch.
	evs[0].Type = "invoice.create"
	if st, err := s.WriteSocotraEvents(ctx, evs[:1], nil); err != nil || st.Updated != 1 {
		t.Fatalf("update: %+v %v", st, err)
	}
	if c, _ := s.StateCounts(ctx, EntitySocotraEvents); c["policy.quote"] != 99 || c["invoice"] != 51 {
		t.Fatalf("counts after a type change: %v", c)
	}
	bad := socEvents(1000, 3)
	bad[2].Locator = ""
	if _, err := s.WriteSocotraEvents(ctx, bad, &Cursor{Source: "socotra/events", Value: "tok-3"}); err == nil {
		t.Fatal("empty locator accepted")
	}
	if v, _, _ := s.GetCursor(ctx, "socotra/events"); v != "tok-2" {
		t.Fatalf("a failed write moved the cursor to %q", v)
	}
	if n, _ := s.Count(ctx, EntitySocotraEvents, nil); n != 250 {
		t.Fatalf("a failed write left rows: %d", n)
	}
}

func failedRows(names ...string) []SocotraFailedRow {
	var out []SocotraFailedRow
	for i, n := range names {
		group := "policy:POL" + fmt.Sprint(i%2)
		if i%3 == 2 {
			group = "tenant:T1"
		}
		state := "queued"
		if i%2 == 1 {
			state = "quit"
		}
		out = append(out, SocotraFailedRow{TriggerGroup: group, TriggerName: n, State: state, FailureCount: int64(i + 1),
			CreatedAt: 1_767_000_000_000 + int64(i)*60_000, UpdatedAt: 1_767_000_100_000 + int64(i)*60_000,
			Raw: []byte(fmt.Sprintf(`{"triggerName":%q}`, n))})
	}
	return out
}

func TestSocotraFailedSnapshot(t *testing.T) {
	s := openTest(t)
	rows := failedRows("a", "b", "c", "d", "e")
	st, del, err := s.ReplaceSocotraFailed(ctx, rows, &Cursor{Source: "socotra/failed", Value: "x"})
	if err != nil || st.Inserted != 5 || del != 0 {
		t.Fatalf("first snapshot: %+v %d %v", st, del, err)
	}
	if c, _ := s.StateCounts(ctx, EntitySocotraFailed); c["queued"] != 3 || c["quit"] != 2 {
		t.Fatalf("counts %v", c)
	}
	got, err := s.SocotraFailedJob(ctx, "policy:POL0", "a")
	if err != nil || got.PolicyLocator != "POL0" || got.FailureCount != 1 || string(got.Raw) != `{"triggerName":"a"}` {
		t.Fatalf("get: %+v %v", got, err)
	}
	if g, _ := s.SocotraFailedJob(ctx, "tenant:T1", "c"); g.PolicyLocator != "" {
		t.Fatalf("tenant job has policy %q", g.PolicyLocator)
	}

	// b and d stop failing, a fails once more, f is new.
	next := failedRows("a", "b", "c", "d", "e", "f")
	next[0].FailureCount = 9
	next = slices.Delete(next, 3, 4) // d
	next = slices.Delete(next, 1, 2) // b
	st, del, err = s.ReplaceSocotraFailed(ctx, next, nil)
	if err != nil || st.Inserted != 1 || st.Updated != 1 || st.Unchanged != 2 || del != 2 {
		t.Fatalf("second snapshot: %+v deleted %d %v", st, del, err)
	}
	var names []string
	q := Query{Sort: "trigger_name"}
	p, err := s.SocotraFailed(ctx, q, nil, false, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p {
		names = append(names, r.TriggerName)
	}
	if !slices.Equal(names, []string{"a", "c", "e", "f"}) {
		t.Fatalf("cached %v", names)
	}
	c, _ := s.StateCounts(ctx, EntitySocotraFailed)
	if c["queued"] != 3 || c["quit"] != 1 {
		t.Fatalf("counts after snapshot %v", c)
	}
	if n, _ := s.Count(ctx, EntitySocotraFailed, mustFilter(t, `state eq "QUIT"`, filter.SocotraFailed)); n != 1 {
		t.Fatalf("quit count %d", n)
	}
	groups, err := s.SocotraFailedGroups(ctx, 10)
	if err != nil || len(groups) != 2 || groups[0] != (GroupCount{"policy:POL0", 2}) || groups[1] != (GroupCount{"tenant:T1", 2}) {
		t.Fatalf("groups %v %v", groups, err)
	}

	// One job resumed upstream.
	if ok, err := s.DeleteSocotraFailed(ctx, "policy:POL0", "a"); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if ok, _ := s.DeleteSocotraFailed(ctx, "policy:POL0", "a"); ok {
		t.Fatal("deleted twice")
	}
	if n, _ := s.Count(ctx, EntitySocotraFailed, nil); n != 3 {
		t.Fatalf("%d left", n)
	}
	// An empty snapshot empties the list.
	if _, del, err := s.ReplaceSocotraFailed(ctx, nil, nil); err != nil || del != 3 {
		t.Fatalf("empty snapshot deleted %d: %v", del, err)
	}
	if c, _ := s.StateCounts(ctx, EntitySocotraFailed); len(c) != 0 {
		t.Fatalf("counts of an empty list: %v", c)
	}
}

func TestSocotraScheduledReplacePerPolicy(t *testing.T) {
	s := openTest(t)
	mk := func(pol string, n int, state string) []SocotraScheduledRow {
		var out []SocotraScheduledRow
		for i := range n {
			out = append(out, SocotraScheduledRow{PolicyLocator: pol, TransactionLocator: fmt.Sprintf("%s-T%d", pol, i),
				CustomEventID: "renewal", TriggerState: state, NextEventTime: int64(1000 + i)})
		}
		return out
	}
	if _, _, err := s.ReplaceSocotraScheduled(ctx, "P1", mk("P1", 3, "NORMAL")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ReplaceSocotraScheduled(ctx, "P2", mk("P2", 2, "ERROR")); err != nil {
		t.Fatal(err)
	}
	st, del, err := s.ReplaceSocotraScheduled(ctx, "P1", mk("P1", 1, "PAUSED"))
	if err != nil || st.Updated != 1 || del != 2 {
		t.Fatalf("replace: %+v %d %v", st, del, err)
	}
	if n, _ := s.Count(ctx, EntitySocotraScheduled, mustFilter(t, `policy_locator eq "P2"`, filter.SocotraScheduled)); n != 2 {
		t.Fatalf("another policy's rows changed: %d", n)
	}
	c, _ := s.StateCounts(ctx, EntitySocotraScheduled)
	if c["PAUSED"] != 1 || c["ERROR"] != 2 || c["NORMAL"] != 0 {
		t.Fatalf("counts %v", c)
	}
	rows, err := s.SocotraScheduled(ctx, Query{Where: mustFilter(t, `trigger_state eq "paused"`, filter.SocotraScheduled)}, nil, false, 10)
	if err != nil || len(rows) != 1 || rows[0].TransactionLocator != "P1-T0" {
		t.Fatalf("paused: %+v %v", rows, err)
	}
	if m, err := s.SocotraScheduledStates(ctx, "P2"); err != nil || len(m) != 1 || m["ERROR"] != 2 {
		t.Fatalf("states of P2: %v %v", m, err)
	}
	if _, _, err := s.ReplaceSocotraScheduled(ctx, "P1", mk("P2", 1, "NORMAL")); err == nil {
		t.Fatal("a row of another policy accepted")
	}
}

func TestSocotraReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteSocotraEvents(ctx, socEvents(0, 3), nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.WriteSocotraEvents(ctx, socEvents(5, 1), nil); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("events: %v", err)
	}
	if _, _, err := ro.ReplaceSocotraFailed(ctx, nil, nil); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("failed: %v", err)
	}
	if _, err := ro.DeleteSocotraFailed(ctx, "g", "n"); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("delete: %v", err)
	}
	if n, err := ro.Count(ctx, EntitySocotraEvents, nil); n != 3 || err != nil {
		t.Fatalf("read-only count %d %v", n, err)
	}
}

func mustFilter(t testing.TB, src string, s *filter.Schema) filter.Node {
	t.Helper()
	n, err := filter.ParseFor(src, s)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return n
}
