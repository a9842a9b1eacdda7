package views

import (
	"context"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/vtable"
)

// Tasks ("triggered workflows"), newest first.
var taskColumns = []vtable.Column{
	{Title: "STATE", Width: 9, SortKey: "state"},
	{Title: "STARTED", Width: 19, SortKey: "started_at"},
	{Title: "WORKFLOW", Width: 0, Min: 10, SortKey: "workflow"},
	{Title: "IDENTITY", Width: 0, Min: 10, SortKey: "identity_name"},
	{Title: "MESSAGE", Width: 0, Min: 16, SortKey: "error_message"},
	{Title: "COMPLETED", Width: 19, Min: 11, SortKey: "completed_at"},
	{Title: "ID", Width: 13, Min: 8, SortKey: "id"},
}

var tasksSpec = &listSpec{
	storeText: true,
	entity:    store.EntityTasks, noun: "tasks", title: "Tasks", schema: filter.Tasks,
	columns: taskColumns, sortCol: 1, states: stateOrder, help: []string{keymap.Triage},
	page: func(ctx context.Context, c *Common, q store.Query, after *store.Key, backward bool, n int) ([]vtable.Row, error) {
		rows, err := c.Store.Tasks(ctx, q, after, backward, n)
		if err != nil {
			return nil, err
		}
		out := make([]vtable.Row, len(rows))
		sigs := make([]string, len(rows))
		defer func() { decorateAcks(ctx, c.Store, store.EntityTasks, out, sigs) }()
		for i, r := range rows {
			sigs[i] = r.ErrorSignature
			out[i] = vtable.Row{
				Key: store.TaskKey(q, r), ID: r.ID, Style: r.State,
				Cells: []string{r.State, c.fmtTime(r.StartedAt), r.Workflow, r.IdentityName,
					oneLine(strings.Join(r.Messages, " · ")), c.fmtTime(r.CompletedAt), r.ID},
			}
		}
		return out, nil
	},
	records: recordsOf((*store.Store).Tasks, store.TaskKey),
	open:    func(v *List, row vtable.Row) tea.Cmd { return openTaskActions(v.c, row.ID) },
	rowJSON: func(ctx context.Context, c *Common, id string) ([]byte, error) {
		t, err := c.Store.Task(ctx, id)
		if err != nil {
			return nil, err
		}
		return prettyJSON(t.Raw), nil
	},
	keys: func(v *List, k tea.KeyMsg) (tea.Cmd, bool) {
		return taskKeys(v.c, v, k)
	},
}

// NewTasks opens the tasks list with an initial filter (may be "").
func NewTasks(c *Common, filterText string) (*List, error) {
	return newList(c, tasksSpec, nil, "", filterText)
}

// openTaskActions drills from a task into its actions.
func openTaskActions(c *Common, taskID string) tea.Cmd {
	v, err := newList(c, actionsSpec, eqFilter("policy_task", taskID), "task "+shortID(taskID), "")
	if err != nil {
		return ui.Flash(ui.FlashError, "%s", err)
	}
	return ui.Push(v)
}

// eqFilter is `field eq "value"` as a parsed node (no quoting round trip).
func eqFilter(field, value string) filter.Node {
	return &filter.Compare{Attr: field, Op: filter.OpEq, Value: filter.Value{Kind: filter.ValueString, Str: value}}
}

// Actions (action events of tasks).
var actionColumns = []vtable.Column{
	{Title: "STATE", Width: 9, SortKey: "state"},
	{Title: "STARTED", Width: 19, SortKey: "started_at"},
	{Title: "ACTION", Width: 0, Min: 12, SortKey: "action_name"},
	{Title: "TYPE", Width: 20, Min: 10, SortKey: "action_type"},
	{Title: "JOBS", Width: 4, Min: 4, SortKey: "jobs_started", Align: lipgloss.Right},
	{Title: "CHG", Width: 3, Min: 3, SortKey: "any_changes"},
	{Title: "ERROR", Width: 0, Min: 16, SortKey: "error_message"},
	{Title: "IDENTITY", Width: 0, Min: 10, SortKey: "identity_name"},
	{Title: "TASK", Width: 13, Min: 8, SortKey: "policy_task"},
}

// actionID is the table row ID of an action: its key (task, name).
func actionID(task, name string) string { return task + "\x1f" + name }

func splitActionID(id string) (task, name string) {
	task, name, _ = strings.Cut(id, "\x1f")
	return task, name
}

var actionsSpec = &listSpec{
	storeText: true,
	entity:    store.EntityActions, noun: "actions", title: "Actions", schema: filter.Actions,
	columns: actionColumns, sortCol: 1, states: stateOrder, help: []string{keymap.Triage},
	page: func(ctx context.Context, c *Common, q store.Query, after *store.Key, backward bool, n int) ([]vtable.Row, error) {
		rows, err := c.Store.Actions(ctx, q, after, backward, n)
		if err != nil {
			return nil, err
		}
		out := make([]vtable.Row, len(rows))
		for i, r := range rows {
			chg := ""
			if r.AnyChanges {
				chg = "yes"
			}
			out[i] = vtable.Row{
				Key: store.ActionKey(q, r), ID: actionID(r.PolicyTask, r.ActionName), Style: r.State,
				Cells: []string{r.State, c.fmtTime(r.StartedAt), r.ActionName, r.ActionType,
					fmt.Sprint(r.JobsStarted), chg, oneLine(r.ErrorMessage), r.IdentityName, r.PolicyTask},
			}
		}
		return out, nil
	},
	records: recordsOf((*store.Store).Actions, store.ActionKey),
	open: func(v *List, row vtable.Row) tea.Cmd {
		task, name := splitActionID(row.ID)
		return openActionJobs(v.c, task, name)
	},
	rowJSON: func(ctx context.Context, c *Common, id string) ([]byte, error) {
		task, name := splitActionID(id)
		a, err := c.Store.Action(ctx, task, name)
		if err != nil {
			return nil, err
		}
		return prettyJSON(a.Raw), nil
	},
	keys: func(v *List, k tea.KeyMsg) (tea.Cmd, bool) {
		r, ok := v.Selected()
		if !ok {
			return nil, false
		}
		task, _ := splitActionID(r.ID)
		return taskKeysFor(v.c, v, k, []string{task})
	},
}

// NewActions opens the actions list with an initial filter (may be "").
func NewActions(c *Common, filterText string) (*List, error) {
	return newList(c, actionsSpec, nil, "", filterText)
}

// openActionJobs drills from an action into its jobs.
func openActionJobs(c *Common, task, name string) tea.Cmd {
	scope := and(eqFilter("policy_task", task), eqFilter("action_name", name))
	v, err := newScopedJobs(c, scope, "action "+name)
	if err != nil {
		return ui.Flash(ui.FlashError, "%s", err)
	}
	return ui.Push(v)
}

// openTaskJobs opens every job of a task.
func openTaskJobs(c *Common, task string) tea.Cmd {
	v, err := newScopedJobs(c, eqFilter("policy_task", task), "task "+shortID(task))
	if err != nil {
		return ui.Flash(ui.FlashError, "%s", err)
	}
	return ui.Push(v)
}

// taskKeys are the task-level keys of the tasks list: they apply to the
// marked tasks, or the one under the cursor.
func taskKeys(c *Common, v *List, k tea.KeyMsg) (tea.Cmd, bool) {
	return taskKeysFor(c, v, k, v.Marked())
}
