package views

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
)

// liveEnv is an emulator tenant synced into a fresh cache, with a client:
// what the TUI has when it is online.
type liveEnv struct {
	emu *emulator.Server
	st  *store.Store
	c   *veza.Client
}

func newLiveEnv(t *testing.T, scale int) *liveEnv {
	t.Helper()
	emu := emulator.New(emulator.Options{Seed: 11, Scale: scale, Token: "views-token"})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c, err := veza.New(srv.URL, "views-token", veza.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng := opsync.New(st, c, opsync.Options{Sources: []string{"jobs", "actions", "tasks"}, NoHead: true})
	if err := eng.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return &liveEnv{emu: emu, st: st, c: c}
}

func (e *liveEnv) harness(t *testing.T, root func(*Common) ui.View) *harness {
	h := newHarness(t, e.st, root, 140, 32)
	h.common.Veza = e.c
	return h
}

func TestRestartTaskConfirmsThenWritesBack(t *testing.T) {
	e := newLiveEnv(t, 400)
	h := e.harness(t, tasksRoot(`state eq "ERRORED"`))
	row, ok := h.app.Top().(*List).Selected()
	if !ok {
		t.Fatalf("no ERRORED task in the emulator's data:\n%s", h.view())
	}
	taskID := row.ID

	h.key("R")
	if _, ok := h.app.Top().(*ui.Confirm); !ok {
		t.Fatalf("R did not ask for confirmation:\n%s", h.view())
	}
	if v := h.view(); !strings.Contains(v, "Restart 1 task?") || !strings.Contains(v, shortID(taskID)) {
		t.Fatalf("the dialog does not name the task:\n%s", v)
	}
	h.key("n") // cancel: nothing happens upstream
	if rec, err := e.c.GetTask(context.Background(), taskID); err != nil || rec.Value.State != "ERRORED" {
		t.Fatalf("cancelled restart changed the task: %v %v", rec.Value.State, err)
	}

	h.key("R", "y")
	rec, err := e.c.GetTask(context.Background(), taskID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Value.State == "ERRORED" {
		t.Fatalf("the emulator's task is still ERRORED after a confirmed restart:\n%s", h.view())
	}
	cached, err := e.st.Task(context.Background(), taskID)
	if err != nil {
		t.Fatal(err)
	}
	if cached.State != rec.Value.State {
		t.Fatalf("cache has %s, tenant %s: the new state was not written back", cached.State, rec.Value.State)
	}
	if !strings.Contains(h.view(), "restart: 1 task done") {
		t.Fatalf("no success flash:\n%s", h.view())
	}

	// The task left the ERRORED filter: the list no longer shows it.
	if r, ok := h.app.Top().(*List).Selected(); ok && r.ID == taskID {
		t.Fatalf("the restarted task is still listed under state eq ERRORED:\n%s", h.view())
	}
}

func TestRestartRefusedByServerShowsItsMessage(t *testing.T) {
	e := newLiveEnv(t, 400)
	h := e.harness(t, tasksRoot(`state eq "ERRORED"`))
	row, ok := h.app.Top().(*List).Selected()
	if !ok {
		t.Fatal("no ERRORED task")
	}
	// Restart it behind the TUI's back: the cache still says ERRORED, the
	// server now says RUNNING and answers 409.
	if _, err := e.c.Restart(context.Background(), row.ID); err != nil {
		t.Fatal(err)
	}
	h.key("R", "y")
	v := h.view()
	if !strings.Contains(v, "restart: 1 of 1 task failed") || !strings.Contains(v, "HTTP 409") {
		t.Fatalf("the server's refusal is not shown:\n%s", v)
	}
}

func TestPushFormValidatesAndPushes(t *testing.T) {
	e := newLiveEnv(t, 2000)
	h := e.harness(t, jobsRoot(`action_type eq "SEND_REST_PAYLOAD" and state eq "ERRORED"`))
	row, ok := h.app.Top().(*List).Selected()
	if !ok {
		t.Skip("no ERRORED webhook job in this data set")
	}
	h.key("P")
	if _, ok := h.app.Top().(*PushForm); !ok {
		t.Fatalf("P did not open the push form:\n%s", h.view())
	}
	if pe, err := parseEntities(`[{"entity_type":"User","entity_id":""}]`); err == nil {
		t.Fatalf("an entity without id was accepted: %v", pe)
	}
	if _, err := parseEntities(`{"not":"an array"}`); err == nil {
		t.Fatal("an object was accepted as the entity list")
	}
	// Submit the defaults (no changes, empty list): the form runs its
	// fields with enter, then the confirmation.
	for range 6 {
		if _, ok := h.app.Top().(*PushForm); !ok {
			break
		}
		h.key("enter")
	}
	if _, ok := h.app.Top().(*ui.Confirm); !ok {
		t.Fatalf("submitting the form did not ask for confirmation:\n%s", h.view())
	}
	h.key("y")
	j, err := e.c.GetJob(context.Background(), row.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Value.State != "COMPLETED" {
		t.Fatalf("pushed job is %s upstream:\n%s", j.Value.State, h.view())
	}
	cached, err := e.st.Job(context.Background(), row.ID)
	if err != nil || cached.State != "COMPLETED" {
		t.Fatalf("cache not updated after push: %v %v", cached.State, err)
	}
}
