package cli

import (
	"bytes"
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// base is the fixture's clock: every time in it is an offset from here.
var base = time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)

func at(sec int) int64 { return base.Add(time.Duration(sec) * time.Second).UnixMilli() }

// hostile is a server string built to attack a terminal: a title change,
// a screen clear, a C1 CSI, a bidi override and a line break.
const hostile = "boom \x1b]0;pwned\x07\x1b[2J\u009b31m\u202eevil\nsecond line"

// fixtureRows is the fixed data set of the golden tests.
func fixtureRows() ([]store.JobRow, []store.TaskRow, []store.ActionRow) {
	jobs := []store.JobRow{
		{JobID: "j-0001", State: "COMPLETED", PolicyTask: "t-0002", ActionName: "Sync AD Attributes", ActionType: "SYNC_IDENTITIES",
			PolicyID: "p-1", WorkflowName: "Joiner", IdentityID: "i-1", IdentityName: "Jane Doe", EventSource: "POLICY", EventSourceID: "p-1",
			ExtractionEvent: "x-1", ExtractionEventType: "SCHEDULED", CreatedAt: at(0), StartedAt: at(1), CompletedAt: at(3), AnyChanges: true, EventsCreated: 2,
			Request: []byte(`{"data_source": {"type": "ACTIVE_DIRECTORY"}, "input_entities": []}`),
			Result:  []byte(`{"output_entities":[],"error_messages":[],"any_changes":true,"any_created":false}`)},
		{JobID: "j-0002", State: "ERRORED", PolicyTask: "t-0001", ActionName: "Add to Sales Group", ActionType: "MANAGE_RELATIONSHIPS",
			PolicyID: "p-2", WorkflowName: "Mover", IdentityID: "i-2", IdentityName: "Ahmed Khan", EventSource: "POLICY", EventSourceID: "p-2",
			ExtractionEvent: "x-2", ExtractionEventType: "CHANGE_EVENT", CreatedAt: at(60), StartedAt: at(61), CompletedAt: at(65),
			Request: []byte(`{"action_type":"MANAGE_RELATIONSHIPS"}`),
			Result:  []byte(`{"output_entities":[],"error_messages":["user akhan not found in group 'Sales-EMEA'"],"any_changes":false}`)},
		{JobID: "j-0003", State: "ERRORED", PolicyTask: "t-0001", ActionName: "Post to Vendor Portal", ActionType: "SEND_REST_PAYLOAD",
			PolicyID: "p-2", WorkflowName: "Mover", IdentityID: "i-3", IdentityName: "Zoë 李", EventSource: "POLICY", EventSourceID: "p-2",
			ExtractionEvent: "x-2", ExtractionEventType: "CHANGE_EVENT", CreatedAt: at(120), StartedAt: at(121), CompletedAt: at(180),
			Request: []byte(`{"note":"` + "\u202e" + `reversed"}`),
			Result:  []byte(`{"output_entities":[],"error_messages":["boom \u001b]0;pwned\u0007\u001b[2J` + "\u009b" + `31m` + "\u202e" + `evil\nsecond line"]}`)},
		{JobID: "j-0004", State: "RUNNING", PolicyTask: "t-0002", ActionName: "Create Mailbox", ActionType: "CREATE_EMAIL",
			PolicyID: "p-1", WorkflowName: "Joiner", IdentityID: "i-1", IdentityName: "Jane Doe", EventSource: "ACCESS_PLAN", EventSourceID: "ap-1",
			ExtractionEvent: "x-1", ExtractionEventType: "SCHEDULED", CreatedAt: at(240), StartedAt: at(241)},
	}
	tasks := []store.TaskRow{
		{ID: "t-0001", PolicyID: "p-2", PolicyVersionNumber: 3, Workflow: "Mover", EntityType: "WorkdayWorker", EntityID: "1002",
			IdentityID: "i-2", IdentityName: "Ahmed Khan", IdentityStatus: "NONE", State: "ERRORED", ExtractionEvent: "x-2",
			StartedAt: at(59), CompletedAt: at(200), Priority: 5, Reason: `Action "Add to Sales Group" failed`,
			Messages:   []string{"user akhan not found in group 'Sales-EMEA'", hostile},
			TCreatedAt: at(58), TUpdatedAt: at(200), Raw: []byte(`{"id":"t-0001","state":"ERRORED","custom":{"kept":true}}`)},
		{ID: "t-0002", PolicyID: "p-1", PolicyVersionNumber: 7, Workflow: "Joiner", EntityType: "WorkdayWorker", EntityID: "1001",
			IdentityID: "i-1", IdentityName: "Jane Doe", IdentityStatus: "NEW", State: "RUNNING", ExtractionEvent: "x-1",
			StartedAt: at(0), Priority: 8, HighPriority: true, ManuallyTriggered: true, ManuallyTriggeredBy: "admin@example.com",
			TCreatedAt: at(0), TUpdatedAt: at(241), Raw: []byte(`{"id":"t-0002"}`)},
		{ID: "t-0003", PolicyID: "p-3", PolicyVersionNumber: 1, Workflow: "Leaver", EntityType: "WorkdayWorker", EntityID: "1003",
			IdentityID: "i-4", IdentityName: "Sam Lee", IdentityStatus: "DELETED", State: "BLOCKED", ExtractionEvent: "x-3",
			StartedAt: at(300), RuntimeChangeLimitReached: true, Reason: "Runtime change limit reached: 120 pending changes exceed the limit of 100",
			TCreatedAt: at(299), TUpdatedAt: at(300), Raw: []byte(`{"id":"t-0003"}`)},
	}
	actions := []store.ActionRow{
		{State: "COMPLETED", PolicyTask: "t-0002", ActionName: "Sync AD Attributes", ActionType: "SYNC_IDENTITIES", PolicyID: "p-1",
			WorkflowName: "Joiner", IdentityID: "i-1", IdentityName: "Jane Doe", StartedAt: at(1), CompletedAt: at(4), AnyChanges: true,
			ExtractionEvent: "x-1", JobsStarted: 1, Raw: []byte(`{"policy_task":"t-0002"}`)},
		{State: "ERRORED", PolicyTask: "t-0001", ActionName: "Add to Sales Group", ActionType: "MANAGE_RELATIONSHIPS", PolicyID: "p-2",
			WorkflowName: "Mover", IdentityID: "i-2", IdentityName: "Ahmed Khan", StartedAt: at(60), CompletedAt: at(66),
			ExtractionEvent: "x-2", JobsStarted: 2, ErrorMessage: "user akhan not found in group 'Sales-EMEA'", Raw: []byte(`{"policy_task":"t-0001"}`)},
	}
	return jobs, tasks, actions
}

// fixtureCache writes the fixed data set into a new cache and returns its
// path (the store is closed again, as after a sync).
func fixtureCache(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cache.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	jobs, tasks, actions := fixtureRows()
	ctx := context.Background()
	if _, err := st.WriteJobs(ctx, jobs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WriteTasks(ctx, tasks, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WriteActions(ctx, actions, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// harness runs commands against one cache path (and optionally an API).
type harness struct {
	t     testing.TB
	path  string
	env   Env
	stdin string
}

func newHarness(t testing.TB, path string) *harness {
	h := &harness{t: t, path: path}
	h.env = Env{
		OpenStore: func(readOnly bool) (*store.Store, error) {
			if readOnly {
				return store.OpenReadOnly(path)
			}
			return store.Open(path)
		},
		Width: 100,
		Loc:   time.UTC,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	}
	return h
}

// run runs one command and returns its exit code, stdout and stderr.
func (h *harness) run(args ...string) (int, string, string) {
	h.t.Helper()
	var out, errb bytes.Buffer
	env := h.env
	env.Stdout, env.Stderr, env.Stdin = &out, &errb, strings.NewReader(h.stdin)
	code := Run(context.Background(), args, env)
	return code, out.String(), errb.String()
}

// mustRun fails the test unless the command exits 0.
func (h *harness) mustRun(args ...string) string {
	h.t.Helper()
	code, out, errs := h.run(args...)
	if code != 0 {
		h.t.Fatalf("%v: exit %d\nstderr: %s", args, code, errs)
	}
	return out
}

// withAPI points the harness at an emulator served over HTTP.
func (h *harness) withAPI(em *emulator.Server) *httptest.Server {
	h.t.Helper()
	srv := httptest.NewServer(em)
	h.t.Cleanup(srv.Close)
	h.env.Veza = func() (*veza.Client, error) {
		return veza.New(srv.URL, emulator.DefaultToken, veza.Options{BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	}
	return srv
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}
