package views

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/ui"
)

var evBase = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

var evTypes = []struct{ typ, name, cat, entity string }{
	{"DATASOURCE_EXTRACTED", "Data Source extracted", "INTEGRATIONS", "DATASOURCE"},
	{"USER_LOGIN", "User login", "SYSTEM", "USER"},
	{"RULE_NOTIFICATION_FAILED", "Rule notification failed", "RULE", "RULE"},
	{"EMAIL_SENT", "Email sent", "NOTIFICATION", "NOTIFICATION"},
	{"INSIGHT_POINT_DEGRADED", "Insight Point degraded", "INTEGRATIONS", "INSIGHT_POINT"},
}

// testEvent is event i of a deterministic log, one a minute from evBase:
// every 7th an ERROR with an error object, every 3rd a WARNING.
func testEvent(i int) store.EventRow {
	et := evTypes[i%len(evTypes)]
	sev := "INFO"
	r := store.EventRow{
		ID:        fmt.Sprintf("00000000-0000-4000-9000-%012d", i),
		Timestamp: evBase.Add(time.Duration(i) * time.Minute).UnixMilli(),
		Category:  et.cat, EventType: et.typ, Name: et.name, Entity: et.entity,
		EntityID: fmt.Sprintf("ent-%d", i%4), EntityName: fmt.Sprintf("okta-prod-%d", i%4), ProviderID: "prov-1",
		Message: fmt.Sprintf("%s #%d for okta-prod-%d", et.name, i, i%4),
	}
	switch {
	case i%7 == 0:
		sev = "ERROR"
		r.ErrorReason, r.ErrorMessage = "PERMISSION_DENIED", fmt.Sprintf("403 Forbidden on page %d", i)
		r.Metadata = []byte(fmt.Sprintf(`{"attempt":"%d","phase":"extraction"}`, i%3+1))
		r.Error = []byte(fmt.Sprintf(`{"reason":"PERMISSION_DENIED","metadata":%s,"message":%q,"resolution":"Grant the Veza service account read access and retry.","request_id":"%032d"}`, r.Metadata, r.ErrorMessage, i))
	case i%3 == 0:
		sev = "WARNING"
	}
	r.Severity = sev
	r.Raw = []byte(fmt.Sprintf(`{"id":%q,"severity":%q,"message":%q}`, r.ID, sev, r.Message))
	return r
}

// seedEvent is seed 002's first example object, the newest event of the
// test log when added.
func seedEvent(ts time.Time) store.EventRow {
	meta := `{"0":"Cannot find identity by names (values: CN=Domain Admins,CN=Users,DC=evergreentrucks,DC=local)","1":"Cannot find identity by names (values: CN=Domain Users,CN=Users,DC=evergreentrucks,DC=local)","2":"Empty permissions field","3":"Empty identity_to_permissions field"}`
	errObj := `{"reason":"OAA_PUSH_WARNINGS","metadata":` + meta + `,"message":"OAA push had warnings.","resolution":"Address the warnings and push the datasource again.","request_id":"be920721634911577b8223f36f06ff1e"}`
	return store.EventRow{
		ID: "e1560da1-bb88-4ef0-8d7f-e220fa2b33ca", Timestamp: ts.UnixMilli(), Category: "INTEGRATIONS", Severity: "WARNING",
		Name: "OAA push", Message: `OAA data source pushed "VEZAFILESERVER"`, Entity: "DATASOURCE",
		EntityID: "b408b41f-a73b-4a73-90dc-013111d3b2d2", EntityName: "VEZAFILESERVER", EventType: "OAA push",
		ProviderID: "cbb69418-e9de-422a-945c-7e62ba3ae1ac", ErrorReason: "OAA_PUSH_WARNINGS", ErrorMessage: "OAA push had warnings.",
		Error: []byte(errObj), Metadata: []byte(meta),
		Raw: []byte(`{"id":"e1560da1-bb88-4ef0-8d7f-e220fa2b33ca","timestamp":"` + ts.Format(time.RFC3339Nano) + `","category":"INTEGRATIONS","severity":"WARNING","name":"OAA push","message":"OAA data source pushed \"VEZAFILESERVER\"","entity":"DATASOURCE","entity_id":"b408b41f-a73b-4a73-90dc-013111d3b2d2","error":` + errObj + `,"entity_name":"VEZAFILESERVER","event_type":"OAA push","provider_id":"cbb69418-e9de-422a-945c-7e62ba3ae1ac"}`),
	}
}

const hostileID = "00000000-0000-4000-9000-hostile00001"

func hostileEvent(ts time.Time) store.EventRow {
	meta := `{"\u001b[2Jkey":"v\u001b]52;c;ZXZpbA==\u0007al","0":"line\nbreak \u009b31m"}`
	return store.EventRow{
		ID: hostileID, Timestamp: ts.UnixMilli(), Severity: "ERROR", Category: "SYSTEM",
		EventType: "USER_LOGIN\x1b[31m", Name: "User login\x1b]0;pwned\x07", Entity: "USER",
		EntityName: "evil\x1b]0;pwned\x07\u202ename", Message: "boom \x1b]52;c;ZXZpbA==\x07 \x1b[2J done\r\noverwrite",
		ErrorReason: "X\x1b[5m", ErrorMessage: "bad\x07",
		Error:    []byte(`{"reason":"X\u001b[5m","message":"bad\u0007","resolution":"\u001b[?1049h","request_id":"r","metadata":` + meta + `}`),
		Metadata: []byte(meta),
		Raw:      []byte(`{"id":"` + hostileID + `","message":"boom \u001b]52;c;ZXZpbA==\u0007"}`),
	}
}

// eventsStore holds n test events plus, when extra is set, seed 002's
// example (newest) and a hostile event.
func eventsStore(t testing.TB, n int, extra bool) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "ev.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rows := make([]store.EventRow, 0, n+2)
	for i := range n {
		rows = append(rows, testEvent(i))
	}
	if extra {
		rows = append(rows, hostileEvent(evBase.Add(time.Duration(n)*time.Minute)),
			seedEvent(evBase.Add(time.Duration(n+1)*time.Minute+27111*time.Millisecond)))
	}
	if _, err := st.WriteEvents(context.Background(), rows, nil); err != nil {
		t.Fatal(err)
	}
	return st
}

func eventsRoot(filterText string, out **Events) func(*Common) ui.View {
	return func(c *Common) ui.View {
		v, err := NewEvents(c, filterText)
		if err != nil {
			panic(err)
		}
		if out != nil {
			*out = v
		}
		return v
	}
}

func TestEventsGolden(t *testing.T) {
	st := eventsStore(t, 200, true)
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		h := newHarness(t, st, eventsRoot(`severity ne "INFO"`, nil), sz[0], sz[1])
		frame := h.view()
		checkFrame(t, frame, sz[0], sz[1])
		if !strings.Contains(frame, "OAA push") || !strings.Contains(frame, "ERROR 30") || !strings.Contains(frame, "WARNING") {
			t.Fatalf("events list:\n%s", frame)
		}
		golden(t, fmt.Sprintf("events_%dx%d", sz[0], sz[1]), frame)

		h.key("enter") // the newest: seed 002's OAA push with warnings
		frame = h.view()
		checkFrame(t, frame, sz[0], sz[1])
		for _, want := range []string{"OAA_PUSH_WARNINGS", "resolution", "Address the warnings", "be920721634911577b8223f36f06ff1e", "Empty permissions field", "VEZAFILESERVER"} {
			if !strings.Contains(frame, want) {
				t.Fatalf("event detail lacks %q:\n%s", want, frame)
			}
		}
		golden(t, fmt.Sprintf("eventdetail_%dx%d", sz[0], sz[1]), frame)
	}
}

func TestEventsFilter(t *testing.T) {
	st := eventsStore(t, 100, true)
	h := newHarness(t, st, eventsRoot("", nil), 140, 30)
	if !strings.Contains(h.view(), "row 1 of 102") {
		t.Fatalf("unfiltered:\n%s", h.view())
	}
	h.key("/")
	h.typeText(`severity co "ERR"`)
	if !strings.Contains(h.view(), `does not allow operator "co"`) {
		t.Fatalf("operator error not shown while typing:\n%s", h.view())
	}
	h.key("enter")
	if !strings.Contains(h.view(), "row 1 of 102") {
		t.Fatalf("an invalid filter must not change the list:\n%s", h.view())
	}
	for range len(`co "ERR"`) {
		h.key("backspace")
	}
	h.typeText(`eq "error" and category eq "SYSTEM"`)
	h.key("enter")
	frame := h.view()
	// ERRORs are i%7==0 (and the hostile one); SYSTEM is i%5==1.
	want := 1
	for i := range 100 {
		if i%7 == 0 && i%5 == 1 {
			want++
		}
	}
	if !strings.Contains(frame, fmt.Sprintf("of %d", want)) || strings.Contains(frame, "INTEGRATIONS") {
		t.Fatalf("want %d SYSTEM ERRORs:\n%s", want, frame)
	}

	// Free text searches message, name, entity and error.
	h.key("/")
	for range 60 {
		h.key("backspace")
	}
	h.typeText("VEZAFILESERVER")
	h.key("enter")
	frame = h.view()
	if !strings.Contains(frame, "row 1 of 1") || !strings.Contains(frame, "OAA push") || !strings.Contains(frame, "/VEZAFILESERVER") {
		t.Fatalf("free text:\n%s", frame)
	}
	h.key("/")
	for range 20 {
		h.key("backspace")
	}
	h.typeText("403 Forbidden on page 49")
	h.key("enter")
	if frame := h.view(); !strings.Contains(frame, "row 1 of 1") || !strings.Contains(frame, "2026-11-20 08:49:00 ERROR") {
		t.Fatalf("free text in the error message:\n%s", frame)
	}
}

func TestEventsCommand(t *testing.T) {
	st := eventsStore(t, 50, false)
	h := newHarness(t, st, jobsRoot(""), 120, 30)
	h.key(":")
	h.typeText(`events severity eq "WARNING"`)
	h.key("enter")
	frame := h.view()
	want := 0
	for i := range 50 {
		if i%7 != 0 && i%3 == 0 {
			want++
		}
	}
	rows := 0
	for _, l := range strings.Split(frame, "\n") {
		if strings.Contains(l, " 2026-11-20 ") {
			rows++
			if !strings.Contains(l, "WARNING") {
				t.Fatalf("row %q is no WARNING", l)
			}
		}
	}
	if !strings.Contains(frame, "Events") || !strings.Contains(frame, fmt.Sprintf("of %d", want)) || rows != want {
		t.Fatalf(":events with a filter:\n%s", frame)
	}
	if _, err := NewEvents(h.common, `severity eq "FATAL"`); err == nil {
		t.Fatal("an unknown severity was accepted")
	}
}

func selectedID(v *Events) string {
	r, _ := v.table.Selected()
	return r.ID
}

// addEvents writes events first..first+n-1 and tells the view a sync
// landed them; the reload is forced past the throttle's timer, which the
// harness never fires.
func addEvents(t *testing.T, h *harness, st *store.Store, v *Events, first, n int) {
	t.Helper()
	rows := make([]store.EventRow, n)
	for i := range rows {
		rows[i] = testEvent(first + i)
	}
	if _, err := st.WriteEvents(context.Background(), rows, nil); err != nil {
		t.Fatal(err)
	}
	h.send(SyncedMsg{Entity: "events", Rows: n})
	h.send(reloadTick{id: v.List.id})
}

// TestEventsFollow: F sticks the cursor to the newest event as syncs land;
// a cursor move pauses following and says so; F resumes at the newest.
func TestEventsFollow(t *testing.T) {
	st := eventsStore(t, 300, false)
	var v *Events
	h := newHarness(t, st, eventsRoot("", &v), 140, 30)
	h.key("j", "j", "j")
	if selectedID(v) != testEvent(296).ID {
		t.Fatalf("setup: on %s", selectedID(v))
	}
	h.key("F")
	if !v.Following() || selectedID(v) != testEvent(299).ID || !strings.Contains(h.app.View(), "FOLLOWING") {
		t.Fatalf("F did not go to the newest event and follow: %s\n%s", selectedID(v), h.view())
	}
	addEvents(t, h, st, v, 300, 5)
	if selectedID(v) != testEvent(304).ID || !strings.Contains(h.view(), "row 1 of 305") {
		t.Fatalf("following: cursor on %s after a sync\n%s", selectedID(v), h.view())
	}
	addEvents(t, h, st, v, 305, 40) // more than a screen at once
	if selectedID(v) != testEvent(344).ID {
		t.Fatalf("following: cursor on %s after a big sync", selectedID(v))
	}

	// A cursor move pauses: the cursor then stays on its event.
	h.key("j")
	if v.Following() || selectedID(v) != testEvent(343).ID || !strings.Contains(h.view(), "follow paused") {
		t.Fatalf("j did not pause following: %v %s\n%s", v.Following(), selectedID(v), h.view())
	}
	addEvents(t, h, st, v, 345, 3)
	if selectedID(v) != testEvent(343).ID || !strings.Contains(h.view(), "row 5 of 348") {
		t.Fatalf("paused: cursor moved with the sync to %s\n%s", selectedID(v), h.view())
	}

	// F resumes at the newest; a new sort pauses again.
	h.key("F")
	if !v.Following() || selectedID(v) != testEvent(347).ID {
		t.Fatalf("F did not resume: %s", selectedID(v))
	}
	h.key("2") // sort by severity
	if v.Following() || !strings.Contains(h.view(), "follow paused") {
		t.Fatalf("a new order must pause following:\n%s", h.view())
	}
	// F restores newest-first.
	h.key("F")
	if !v.Following() || selectedID(v) != testEvent(347).ID || !strings.Contains(h.view(), "sort: timestamp ▼") {
		t.Fatalf("F did not restore newest first: %s\n%s", selectedID(v), h.view())
	}
	// A filter while following: still on the newest matching event.
	h.key("/")
	h.typeText(`severity eq "ERROR"`)
	h.key("enter")
	if !v.Following() || selectedID(v) != testEvent(343).ID {
		t.Fatalf("filter while following: on %s", selectedID(v))
	}
	addEvents(t, h, st, v, 348, 10) // 350 and 357 are ERRORs
	if selectedID(v) != testEvent(357).ID {
		t.Fatalf("filtered follow: on %s", selectedID(v))
	}
	// F again turns it off without moving.
	h.key("F")
	if v.Following() || strings.Contains(h.view(), "FOLLOWING") || selectedID(v) != testEvent(357).ID {
		t.Fatalf("F did not turn following off:\n%s", h.view())
	}
}

func TestEventsHostileStringsNeverReachTheScreen(t *testing.T) {
	st := eventsStore(t, 10, true)
	for _, sz := range [][2]int{{160, 48}, {80, 24}, {40, 10}} {
		h := newHarness(t, st, eventsRoot("", nil), sz[0], sz[1])
		checkFrame(t, h.view(), sz[0], sz[1])
		h.key("/")
		h.typeText(`id eq "` + hostileID + `"`)
		h.key("enter")
		frame := h.view()
		checkFrame(t, frame, sz[0], sz[1])
		if sz[0] >= 80 && !strings.Contains(frame, "boom") || sz[0] >= 160 && !strings.Contains(frame, "evilname") {
			t.Fatalf("hostile row not listed:\n%s", frame)
		}
		h.key("enter")
		frame = h.view()
		checkFrame(t, frame, sz[0], sz[1])
		if sz[0] >= 80 && (!strings.Contains(frame, "boom") || strings.Contains(frame, "pwned\x07")) {
			t.Fatalf("hostile event detail:\n%s", frame)
		}
		if sz[0] == 160 {
			for _, want := range []string{"message      boom   done⏎overwrite", "error        X\n", "  message    bad\n", "  resolution —", "    key  val", "line⏎break", "entity       USER  evilname"} {
				if !strings.Contains(frame, want) {
					t.Fatalf("hostile event detail lacks %q (sanitized):\n%s", want, frame)
				}
			}
		}
	}
}

func TestEventDetailCopyAndMissing(t *testing.T) {
	st := eventsStore(t, 20, true)
	h := newHarness(t, st, eventsRoot("", nil), 120, 40)
	h.key("enter")
	h.key("y", "y")
	if len(h.copied) != 1 || !strings.Contains(h.copied[0], `"OAA_PUSH_WARNINGS"`) || !strings.Contains(h.copied[0], "\n  ") {
		t.Fatalf("yy copied %q", h.copied)
	}
	h.key("esc")
	if !strings.Contains(h.view(), "row 1 of 22") {
		t.Fatalf("esc must return to the list:\n%s", h.view())
	}
	h2 := newHarness(t, st, func(c *Common) ui.View { return NewEventDetail(c, "no-such-event") }, 80, 24)
	if frame := h2.view(); !strings.Contains(frame, "not in the cache") {
		t.Fatalf("missing event:\n%s", frame)
	}
	checkFrame(t, h2.view(), 80, 24)
}

func TestEventsTinyTerminal(t *testing.T) {
	st := eventsStore(t, 30, true)
	for _, sz := range [][2]int{{40, 10}, {12, 3}, {30, 6}} {
		h := newHarness(t, st, eventsRoot("", nil), sz[0], sz[1])
		checkFrame(t, h.view(), sz[0], sz[1])
		h.key("enter")
		checkFrame(t, h.view(), sz[0], sz[1])
		h.send(tea.WindowSizeMsg{Width: sz[0] + 1, Height: sz[1] + 1})
		checkFrame(t, h.view(), sz[0]+1, sz[1]+1)
	}
}
