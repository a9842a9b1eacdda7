package sync

import (
	"context"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
)

// TestRestartedOldTaskIsRefreshed: a task restarted long after it was
// created keeps its t_created_at, so incremental passes never list it
// again; the open-tasks source must see it finish.
func TestRestartedOldTaskIsRefreshed(t *testing.T) {
	e := newEmuEnv(t, 2000)
	eng := New(e.st, e.c, Options{NoHead: true})
	eng.now = e.emu.Now
	ctx := context.Background()
	if err := eng.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// An ERRORED task from more than a day before the emulator's now.
	old := e.emu.Now().Add(-48 * time.Hour).UnixMilli()
	tasks, err := e.st.Tasks(ctx, store.Query{Where: mustFilter(t, `state eq "ERRORED"`), Sort: "t_created_at", Desc: false}, nil, false, 50)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, tk := range tasks {
		if tk.TCreatedAt < old {
			id = tk.ID
			break
		}
	}
	if id == "" {
		t.Fatal("no old ERRORED task in the data set")
	}
	if _, err := e.c.Restart(ctx, id); err != nil {
		t.Fatal(err)
	}
	// The write-back a restart does in the TUI and the CLI.
	rec, err := e.c.GetTask(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.WriteTasks(ctx, []store.TaskRow{TaskRow(rec)}, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.st.Task(ctx, id); got.State != "RUNNING" {
		t.Fatalf("after restart the cache says %s", got.State)
	}
	// The restart settles within a minute of emulator time.
	e.emu.Advance(2 * time.Minute)
	if err := eng.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	up, err := e.c.GetTask(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := e.st.Task(ctx, id)
	if up.Value.State == "RUNNING" {
		t.Fatalf("the emulator's task did not settle")
	}
	if got.State != up.Value.State {
		t.Fatalf("cache says %s, tenant %s: the restarted task was not refreshed", got.State, up.Value.State)
	}
}

func mustFilter(t *testing.T, src string) filter.Node {
	t.Helper()
	n, err := filter.ParseFor(src, filter.Tasks)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
