package views

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/ui"
)

var names = []string{"Jane Smith", "Amir Khan", "José Müller", "王芳", "Zoë O'Brien", "John Smithson"}
var types = []string{"SYNC_IDENTITIES", "MANAGE_RELATIONSHIPS", "CREATE_EMAIL", "DEPROVISION_IDENTITY"}

// testStore holds n deterministic jobs; every 5th is ERRORED and job 7 is
// hostile (escape sequences in its strings and payload).
func testStore(t testing.TB, n int) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC).UnixMilli()
	rows := make([]store.JobRow, 0, n)
	for i := range n {
		state, errMsg := "COMPLETED", ""
		if i%5 == 0 {
			state = "ERRORED"
			errMsg = fmt.Sprintf("user u%d not found in group 'Sales-EMEA'", i)
		}
		name := names[i%len(names)]
		req := fmt.Sprintf(`{"data_source":{"id":"ds-%d","type":"OKTA","name":"Okta"},"input_entities":[{"entity_type":"User","entity_id":"u%d","attributes":{"email":"u%d@example.com","first name":"N%d"}}],"action_type":%q}`, i%3, i, i, i, types[i%len(types)])
		res := fmt.Sprintf(`{"output_entities":[],"error_messages":[%q],"any_changes":false,"any_created":false}`, errMsg)
		if i == 7 {
			name = "evil\x1b]0;pwned\x07\x1b[2J\u202ename"
			state, errMsg = "ERRORED", "boom \x1b]52;c;ZXZpbA==\x07 \u009b31m"
			req = `{"data_source":{"id":"x","type":"\u001b]0;title\u0007","name":"n"},"input_entities":[]}`
		}
		rows = append(rows, store.JobRow{
			JobID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), State: state,
			PolicyTask: fmt.Sprintf("task-%d", i/3), ActionName: "Sync Okta " + fmt.Sprint(i%4), ActionType: types[i%len(types)],
			PolicyID: "pol-1", WorkflowName: "Joiner", IdentityID: fmt.Sprintf("id-%d", i), IdentityName: name,
			EventSource: "POLICY", EventSourceID: "pol-1", ExtractionEvent: "ev-1", ExtractionEventType: "SCHEDULED",
			CreatedAt: base + int64(i)*60_000, StartedAt: base + int64(i)*60_000 + 1000, CompletedAt: base + int64(i)*60_000 + 5000,
			ErrorMessage: errMsg, Request: []byte(req), Result: []byte(res),
			Raw: []byte(fmt.Sprintf(`{"job_id":"00000000-0000-4000-8000-%012d","state":%q}`, i, state)),
		})
	}
	for i := 0; i < len(rows); i += 100 {
		if _, err := st.WriteJobs(context.Background(), rows[i:min(i+100, len(rows))], nil); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func jobsRoot(filterText string) func(*Common) ui.View {
	return func(c *Common) ui.View {
		v, err := NewJobs(c, filterText)
		if err != nil {
			panic(err)
		}
		return v
	}
}

func TestJobsGolden(t *testing.T) {
	st := testStore(t, 300)
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		h := newHarness(t, st, jobsRoot(`state eq "ERRORED"`), sz[0], sz[1])
		frame := h.view()
		checkFrame(t, frame, sz[0], sz[1])
		if !strings.Contains(frame, "ERRORED") || strings.Contains(frame, "COMPLETED  ") {
			t.Fatalf("ERRORED filter not applied:\n%s", frame)
		}
		golden(t, fmt.Sprintf("jobs_errored_%dx%d", sz[0], sz[1]), frame)

		h.key("enter")
		frame = h.view()
		checkFrame(t, frame, sz[0], sz[1])
		if !strings.Contains(frame, "request") || !strings.Contains(frame, "data_source") {
			t.Fatalf("job detail must show the request payload:\n%s", frame)
		}
		golden(t, fmt.Sprintf("jobdetail_%dx%d", sz[0], sz[1]), frame)
	}
}

func TestJobsNewestFirstAndScroll(t *testing.T) {
	st := testStore(t, 1000)
	h := newHarness(t, st, jobsRoot(""), 120, 30)
	frame := h.view()
	// Newest first: job 999 was created last.
	if !strings.Contains(frame, time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC).Add(999*time.Minute).Format("2006-01-02 15:04")) {
		t.Fatalf("newest job not first:\n%s", frame)
	}
	h.key("G")
	if !strings.Contains(h.view(), "row 1,000 of 1,000") {
		t.Fatalf("G should reach the last row:\n%s", h.view())
	}
	h.key("g")
	for range 250 {
		h.key("j")
	}
	if !strings.Contains(h.view(), "row 251 of 1,000") {
		t.Fatalf("after 250×j:\n%s", h.view())
	}
}

func TestJobsFilterValidatesAsYouType(t *testing.T) {
	st := testStore(t, 100)
	h := newHarness(t, st, jobsRoot(""), 120, 30)
	h.key("/")
	h.typeText(`state co "ERR"`)
	frame := h.view()
	if !strings.Contains(frame, `does not allow operator "co"`) {
		t.Fatalf("operator error not shown while typing:\n%s", frame)
	}
	// Enter on an invalid filter keeps the prompt open and the list intact.
	h.key("enter")
	if !strings.Contains(h.view(), "row 1 of 100") {
		t.Fatalf("invalid filter must not change the list:\n%s", h.view())
	}
	for range len(`co "ERR"`) {
		h.key("backspace")
	}
	h.typeText(`eq "ERRORED" and identity_name co "smith"`)
	if strings.Contains(h.view(), "✗") {
		t.Fatalf("valid filter flagged:\n%s", h.view())
	}
	h.key("enter")
	frame = h.view()
	// ERRORED rows are i%5==0; names cycle every 6: Smith at i%6==0 or 5.
	want := 0
	for i := range 100 {
		if i%5 == 0 || i == 7 {
			if n := names[i%len(names)]; i != 7 && strings.Contains(strings.ToLower(n), "smith") {
				want++
			}
		}
	}
	if !strings.Contains(frame, fmt.Sprintf("of %d", want)) {
		t.Fatalf("want %d rows after filter:\n%s", want, frame)
	}
}

func TestJobsFreeTextSearch(t *testing.T) {
	st := testStore(t, 100)
	h := newHarness(t, st, jobsRoot(""), 120, 30)
	h.key("/")
	h.typeText("Müller")
	h.key("enter")
	frame := h.view()
	if !strings.Contains(frame, "José Müller") || strings.Contains(frame, "Amir Khan") {
		t.Fatalf("free text did not filter:\n%s", frame)
	}
}

func TestJobsHostileStringsNeverReachTheScreen(t *testing.T) {
	st := testStore(t, 20)
	h := newHarness(t, st, jobsRoot(""), 160, 48)
	checkFrame(t, h.view(), 160, 48)
	h.key("/")
	h.typeText(`job_id eq "00000000-0000-4000-8000-000000000007"`)
	h.key("enter")
	h.key("enter")
	frame := h.view()
	checkFrame(t, frame, 160, 48)
	if !strings.Contains(frame, "evil") || strings.Contains(frame, "pwned\x07") {
		t.Fatalf("hostile job detail:\n%s", frame)
	}
}

func TestJobDetailCopyAndBack(t *testing.T) {
	st := testStore(t, 50)
	h := newHarness(t, st, jobsRoot(""), 120, 40)
	h.key("j", "j", "enter")
	h.key("j") // first child of "request"
	h.key("y", "p")
	if len(h.copied) != 1 || !strings.HasPrefix(h.copied[0], ".request") {
		t.Fatalf("yp copied %q", h.copied)
	}
	h.key("y", "y")
	if len(h.copied) != 2 || !strings.Contains(h.copied[1], `"job_id"`) || !strings.Contains(h.copied[1], `"request"`) {
		t.Fatalf("yy copied %q", h.copied)
	}
	h.key("esc")
	if !strings.Contains(h.view(), "row 3 of 50") {
		t.Fatalf("esc must restore the list cursor:\n%s", h.view())
	}
}

func TestCommandLine(t *testing.T) {
	st := testStore(t, 50)
	h := newHarness(t, st, jobsRoot(""), 120, 30)
	h.key(":")
	h.typeText("err")
	h.key("tab", "enter")
	frame := h.view()
	if !strings.Contains(frame, "Errors") || !strings.Contains(frame, "11 ERRORED jobs in 2 groups") {
		t.Fatalf(":errors did not open the ERRORED jobs' groups:\n%s", frame)
	}
	h.key(":")
	h.typeText("nosuch")
	if !strings.Contains(h.view(), `unknown command "nosuch"`) {
		t.Fatalf("unknown command not reported:\n%s", h.view())
	}
}

func TestTinyTerminal(t *testing.T) {
	st := testStore(t, 50)
	h := newHarness(t, st, jobsRoot(""), 40, 10)
	checkFrame(t, h.view(), 40, 10)
	h.key("enter")
	checkFrame(t, h.view(), 40, 10)
	h.key("?")
	checkFrame(t, h.view(), 40, 10)
	h.send(struct{}{})
	h2 := newHarness(t, st, jobsRoot(""), 12, 3)
	checkFrame(t, h2.view(), 12, 3)
}

func TestFilterCompletionOffersEnumValues(t *testing.T) {
	st := testStore(t, 10)
	h := newHarness(t, st, jobsRoot(""), 120, 30)
	h.key("/")
	h.typeText(`state eq "ERRO`)
	h.key("tab")
	if !strings.Contains(h.view(), `/state eq "ERRORED" `) {
		t.Fatalf("tab did not complete the state value:\n%s", h.view())
	}
}
