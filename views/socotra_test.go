package views

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/socotra"
	"github.com/opsdeck/opsdeck/ui"
)

var socTestTypes = []string{"policy.quote.create", "policy.quote.issue", "policy.cancellation.create", "invoice.create", "payment.post", "policy.status.update"}

const hostileLocator = "EVIL0000000000000000000007"

// socotraTestStore holds n deterministic events (every 3 share a
// request; event 7 is hostile), 9 failed jobs and 5 scheduled events of
// policy POL1.
func socotraTestStore(t testing.TB, n int) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC).UnixMilli()
	var evs []store.SocotraEventRow
	for i := range n {
		e := store.SocotraEventRow{
			Locator: fmt.Sprintf("01JEV%021d", i), Timestamp: base + int64(i)*90_000, Type: socTestTypes[i%len(socTestTypes)],
			User: fmt.Sprintf("0000000%d-1111-4222-8333-444455556666", i%4), RequestID: fmt.Sprintf("req-%04d", i/3),
			Data: []byte(fmt.Sprintf(`{"policyLocator":"POL%d","accountLocator":"ACC%d","name":"Müller Bäckerei %d","premium":%d.5}`, i%3, i%5, i, 100+i)),
		}
		if i == 7 {
			e.Locator = hostileLocator
			e.Type = "policy.quote.issue\x1b]0;pwned\x07"
			e.User = "evil\x1b[2J\u202euser"
			e.Data = []byte(`{"policyLocator":"POL1","note":"boom \u001b]52;c;ZXZpbA==\u0007 \u009b31m"}`)
		}
		e.Raw = e.Data
		evs = append(evs, e)
	}
	ctx := context.Background()
	if _, err := st.WriteSocotraEvents(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	var failed []store.SocotraFailedRow
	for i := range 9 {
		g := fmt.Sprintf("policy:POL%d", i%3)
		if i%4 == 3 {
			g = "tenant:TENANT-1"
		}
		state, count := "queued", int64(1+i%3)
		if i%3 == 2 {
			state, count = "quit", int64(5+i)
		}
		name := fmt.Sprintf("renewal-POL%d-%d", i%3, i)
		if i == 4 {
			name = "autopay\x1b[31m-\u202eevil"
		}
		failed = append(failed, store.SocotraFailedRow{TriggerGroup: g, TriggerName: name, State: state, FailureCount: count,
			CreatedAt: base + int64(i)*3_600_000, UpdatedAt: base + int64(i)*3_600_000 + 600_000})
	}
	if _, _, err := st.ReplaceSocotraFailed(ctx, failed, nil); err != nil {
		t.Fatal(err)
	}
	var sched []store.SocotraScheduledRow
	for i, s := range []string{"NORMAL", "ERROR", "PAUSED", "COMPLETE", "BLOCKED"} {
		r := store.SocotraScheduledRow{PolicyLocator: "POL1", TransactionLocator: fmt.Sprintf("TXN%02d", i), CustomEventID: []string{"renewal", "autopay", "lapseNotice"}[i%3], TriggerState: s}
		if s == "NORMAL" || s == "PAUSED" || s == "BLOCKED" {
			r.NextEventTime = base + int64(i+1)*86_400_000
		}
		sched = append(sched, r)
	}
	if _, _, err := st.ReplaceSocotraScheduled(ctx, "POL1", sched); err != nil {
		t.Fatal(err)
	}
	return st
}

func socotraRoot(filterText string, setup func(*Common)) func(*Common) ui.View {
	return func(c *Common) ui.View {
		if setup != nil {
			setup(c)
		}
		v, err := NewSocotraEvents(c, filterText)
		if err != nil {
			panic(err)
		}
		return v
	}
}

func failedRoot(setup func(*Common)) func(*Common) ui.View {
	return func(c *Common) ui.View {
		if setup != nil {
			setup(c)
		}
		v, err := NewSocotraFailed(c, "")
		if err != nil {
			panic(err)
		}
		return v
	}
}

func TestSocotraEventsGolden(t *testing.T) {
	st := socotraTestStore(t, 40)
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		h := newHarness(t, st, socotraRoot("", nil), sz[0], sz[1])
		frame := h.view()
		checkFrame(t, frame, sz[0], sz[1])
		if !strings.Contains(frame, "2026-11-20 08:58:30 invoice.create") || !strings.Contains(frame, "socotra events 40") {
			t.Fatalf("newest event or counts missing:\n%s", frame)
		}
		golden(t, fmt.Sprintf("socotra_events_%dx%d", sz[0], sz[1]), frame)

		h.key("enter")
		frame = h.view()
		checkFrame(t, frame, sz[0], sz[1])
		if !strings.Contains(frame, "policyLocator") || !strings.Contains(frame, "Müller Bäckerei 39") || !strings.Contains(frame, "POL0") {
			t.Fatalf("event detail must show the data map:\n%s", frame)
		}
		golden(t, fmt.Sprintf("socotra_event_%dx%d", sz[0], sz[1]), frame)
	}
}

func TestSocotraFailedGolden(t *testing.T) {
	st := socotraTestStore(t, 10)
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		h := newHarness(t, st, failedRoot(nil), sz[0], sz[1])
		frame := h.view()
		checkFrame(t, frame, sz[0], sz[1])
		if !strings.Contains(frame, "failed jobs 9 │ queued 6  quit 3") || !strings.Contains(frame, "by group: policy:POL2 3") {
			t.Fatalf("header counts:\n%s", frame)
		}
		golden(t, fmt.Sprintf("socotra_failed_%dx%d", sz[0], sz[1]), frame)
	}
}

func TestSocotraSchedulesOffline(t *testing.T) {
	st := socotraTestStore(t, 10)
	h := newHarness(t, st, socotraRoot("", nil), 100, 30)
	// From an event of POL1 (event 1), p opens its policy's schedules.
	h.key("/")
	h.typeText(`locator eq "01JEV000000000000000000001"`)
	h.key("enter", "p")
	frame := h.view()
	checkFrame(t, frame, 100, 30)
	for _, want := range []string{"scheduled events of policy POL1 5", "! ERROR 1", "! BLOCKED 1", "! PAUSED 1", "NORMAL 1", "! ERROR", "TXN01", "lapseNotice"} {
		if !strings.Contains(frame, want) {
			t.Fatalf("schedules miss %q:\n%s", want, frame)
		}
	}
	golden(t, "socotra_schedules_100x30", frame)
	// The command line gets there too.
	h.key("esc", ":")
	h.typeText("schedules POL2")
	h.key("enter")
	if !strings.Contains(h.view(), "scheduled events of policy POL2 0") {
		t.Fatalf(":schedules POL2:\n%s", h.view())
	}
}

func TestSocotraEventsFilter(t *testing.T) {
	st := socotraTestStore(t, 60)
	h := newHarness(t, st, socotraRoot("", nil), 140, 30)
	h.key("/")
	h.typeText(`type sw "policy.quote"`)
	h.key("enter")
	// 60 events, two quote types in six: 20, the hostile one among them.
	if frame := h.view(); !strings.Contains(frame, "of 20") || strings.Contains(frame, "invoice.create") {
		t.Fatalf("type prefix filter:\n%s", frame)
	}
	h.key("/")
	for range len(`type sw "policy.quote"`) {
		h.key("backspace")
	}
	h.typeText(`timestamp ge "2026-11-20T08:30:00Z" and timestamp lt "2026-11-20T09:00:00Z"`)
	h.key("enter")
	if frame := h.view(); !strings.Contains(frame, "of 20") {
		t.Fatalf("time range (20 events 90 s apart):\n%s", frame)
	}
	// Free text searches the data map too, and becomes a real filter.
	h.key("/")
	for range 80 {
		h.key("backspace")
	}
	h.typeText("Bäckerei 42")
	h.key("enter")
	frame := h.view()
	if !strings.Contains(frame, "of 1") || !strings.Contains(frame, "01JEV000000000000000000042") || !strings.Contains(frame, `data co "Bäckerei 42"`) {
		t.Fatalf("free text:\n%s", frame)
	}
	// The command takes a filter inline.
	h.key(":")
	h.typeText(`socotra type eq "invoice.create"`)
	h.key("enter")
	if frame := h.view(); !strings.Contains(frame, "of 10") {
		t.Fatalf(":socotra with a filter:\n%s", frame)
	}
}

func TestSocotraHostileStringsNeverReachTheScreen(t *testing.T) {
	st := socotraTestStore(t, 20)
	for _, root := range []func(*Common) ui.View{socotraRoot("", nil), failedRoot(nil)} {
		h := newHarness(t, st, root, 160, 48)
		checkFrame(t, h.view(), 160, 48)
		h.key("G")
		checkFrame(t, h.view(), 160, 48)
	}
	h := newHarness(t, st, socotraRoot(`locator eq "`+hostileLocator+`"`, nil), 120, 40)
	frame := h.view()
	checkFrame(t, frame, 120, 40)
	if !strings.Contains(frame, "evil") {
		t.Fatalf("hostile row not shown:\n%s", frame)
	}
	h.key("enter")
	frame = h.view()
	checkFrame(t, frame, 120, 40)
	if !strings.Contains(frame, "boom") || strings.Contains(frame, "pwned\x07") {
		t.Fatalf("hostile detail:\n%s", frame)
	}
	h.key("E") // unfold everything
	checkFrame(t, h.view(), 120, 40)
	checkFrame(t, newHarness(t, st, socotraRoot("", nil), 24, 6).view(), 24, 6)
}

// onlineTenant is an emulator behind a client, its failed jobs and events
// synced into a fresh cache.
func onlineTenant(t *testing.T) (*store.Store, *socotra.Client, *emulator.Server) {
	t.Helper()
	emu := emulator.New(emulator.Options{Seed: 21, Scale: 1600})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cl, err := socotra.New(srv.URL, emu.SocotraTenant(), emulator.DefaultToken, socotra.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := socotra.NewSyncer(st, cl, socotra.Options{}).Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return st, cl, emu
}

func upstreamFailed(t *testing.T, cl *socotra.Client) map[string]bool {
	t.Helper()
	all, err := cl.AllFailedJobs(context.Background(), socotra.FailedList{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, r := range all {
		m[failedID(r.Value.TriggerGroup, r.Value.TriggerName)] = true
	}
	return m
}

func TestSocotraResumeMarkedRows(t *testing.T) {
	st, cl, _ := onlineTenant(t)
	before := upstreamFailed(t, cl)
	top, err := st.SocotraFailed(context.Background(), store.Query{Sort: "updated_at", Desc: true}, nil, false, 2)
	if err != nil || len(top) != 2 {
		t.Fatal(err)
	}
	h := newHarness(t, st, failedRoot(func(c *Common) { c.Socotra = cl }), 140, 36)
	h.key(" ", " ") // mark the first two rows
	if !strings.Contains(h.view(), "2 marked") {
		t.Fatalf("marks:\n%s", h.view())
	}
	h.key("R")
	frame := h.view()
	for _, want := range []string{"Resume 2 failed jobs?", top[0].TriggerName, top[1].TriggerName, top[0].TriggerGroup, top[1].TriggerGroup} {
		if !strings.Contains(frame, want) {
			t.Fatalf("confirmation misses %q:\n%s", want, frame)
		}
	}
	h.key("y")
	after := upstreamFailed(t, cl)
	for _, r := range top {
		id := failedID(r.TriggerGroup, r.TriggerName)
		if !before[id] || after[id] {
			t.Fatalf("%s: upstream before %v, after %v", id, before[id], after[id])
		}
		if _, err := st.SocotraFailedJob(context.Background(), r.TriggerGroup, r.TriggerName); err == nil {
			t.Fatalf("%s is still cached", id)
		}
	}
	if len(after) != len(before)-2 {
		t.Fatalf("upstream went from %d to %d", len(before), len(after))
	}
	frame = h.view()
	if !strings.Contains(frame, "resume: 2 failed jobs done") || strings.Contains(frame, top[0].TriggerName) ||
		!strings.Contains(frame, fmt.Sprintf("failed jobs %d", len(after))) || strings.Contains(frame, "marked") {
		t.Fatalf("after resume:\n%s", frame)
	}
}

func TestSocotraDeleteAsksAndDefaultsToNo(t *testing.T) {
	st, cl, _ := onlineTenant(t)
	before := upstreamFailed(t, cl)
	h := newHarness(t, st, failedRoot(func(c *Common) { c.Socotra = cl }), 120, 30)
	h.key("D")
	if !strings.Contains(h.view(), "Delete failed job ") {
		t.Fatalf("no confirmation:\n%s", h.view())
	}
	h.key("enter") // the default is No
	if got := upstreamFailed(t, cl); len(got) != len(before) {
		t.Fatal("enter on the default deleted a job")
	}
	h.key("D", "y")
	if got := upstreamFailed(t, cl); len(got) != len(before)-1 {
		t.Fatalf("delete: %d -> %d upstream", len(before), len(got))
	}
	if n, _ := st.Count(context.Background(), store.EntitySocotraFailed, nil); n != len(before)-1 {
		t.Fatalf("cache holds %d", n)
	}
	if !strings.Contains(h.view(), "delete: 1 failed job done") {
		t.Fatalf("flash:\n%s", h.view())
	}
}

func TestSocotraActionsDisabledWithReason(t *testing.T) {
	st, cl, _ := onlineTenant(t)
	n, _ := st.Count(context.Background(), store.EntitySocotraFailed, nil)
	for _, c := range []struct {
		setup func(*Common)
		why   string
	}{
		{func(c *Common) { c.Socotra, c.ReadOnly = cl, true }, "cannot resume: read-only mode"},
		{nil, "cannot resume: offline"},
	} {
		h := newHarness(t, st, failedRoot(c.setup), 120, 30)
		h.key(" ", "R")
		frame := h.view()
		if !strings.Contains(frame, c.why) || strings.Contains(frame, "Resume failed job") {
			t.Fatalf("want %q:\n%s", c.why, frame)
		}
	}
	if m, _ := st.Count(context.Background(), store.EntitySocotraFailed, nil); m != n || len(upstreamFailed(t, cl)) != n {
		t.Fatal("a disabled action changed something")
	}
}

func TestSocotraRequestEventsOnlineAndOffline(t *testing.T) {
	st, cl, _ := onlineTenant(t)
	// An event whose request has several events.
	rows, err := st.SocotraEvents(context.Background(), store.Query{Desc: true}, nil, false, 200)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, r := range rows {
		per[r.RequestID]++
	}
	var ev store.SocotraEventRow
	for _, r := range rows {
		if per[r.RequestID] >= 3 {
			ev = r
			break
		}
	}
	want, err := cl.RequestEvents(context.Background(), ev.RequestID)
	if err != nil || len(want) < 3 {
		t.Fatalf("%d events upstream: %v", len(want), err)
	}
	for _, online := range []bool{true, false} {
		setup := func(c *Common) {
			if online {
				c.Socotra = cl
			}
		}
		h := newHarness(t, st, socotraRoot(`locator eq "`+ev.Locator+`"`, setup), 140, 30)
		h.key("enter", "s") // from the detail view
		frame := h.view()
		if !strings.Contains(frame, "request "+shortID(ev.RequestID)) || !strings.Contains(frame, fmt.Sprintf("of %d", len(want))) {
			t.Fatalf("online=%v: want the %d events of the request:\n%s", online, len(want), frame)
		}
		for _, e := range want {
			if !strings.Contains(frame, e.Locator) {
				t.Fatalf("online=%v: %s missing:\n%s", online, e.Locator, frame)
			}
		}
		if fetched := strings.Contains(frame, "fresh from the API"); fetched != online {
			t.Fatalf("online=%v but fetched=%v:\n%s", online, fetched, frame)
		}
	}
}

func TestSocotraFreeTextFilterSQL(t *testing.T) {
	w := &socotraList{freeText: []string{"type", "data"}}
	for in, want := range map[string]string{
		"":                       "",
		`type sw "policy"`:       `type sw "policy"`,
		`Müller`:                 `type co "Müller" or data co "Müller"`,
		`type co "x`:             `type co "x`, // looks like SCIM: left for the error
		`say "hi"`:               `say "hi"`,
		`back\slash`:             `type co "back\\slash" or data co "back\\slash"`,
		`user eq "unknown field`: `user eq "unknown field`,
	} {
		if got := w.filterSQL(in, filter.SocotraEvents); got != want {
			t.Errorf("filterSQL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSocotraFailedAcknowledge(t *testing.T) {
	st := socotraTestStore(t, 10)
	h := newHarness(t, st, failedRoot(nil), 140, 30)
	row, ok := h.app.Top().(*socotraList).Selected()
	if !ok {
		t.Fatal("no failed job")
	}
	h.key("a")
	if !strings.Contains(h.view(), "note (optional") {
		t.Fatalf("a did not ask for a note:\n%s", h.view())
	}
	h.typeText("billing knows")
	h.key("enter")
	m, ok, err := st.Mark(context.Background(), store.MarkSocotraFailed, row.ID)
	if err != nil || !ok || m.Note != "billing knows" {
		t.Fatalf("failed job not acknowledged: %+v %v %v\n%s", m, ok, err, h.view())
	}
	if v := h.view(); !strings.Contains(v, "✓") || !strings.Contains(v, "not told") {
		t.Fatalf("acknowledged failed job not flagged:\n%s", v)
	}
}
