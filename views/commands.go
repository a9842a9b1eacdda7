package views

import (
	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/ui"
)

// commandSets are the `:` commands of views defined in other files: each
// file appends its constructor from an init func, so adding a view touches
// no shared list.
var commandSets []func(c *Common) []ui.Command

// Commands are the `:` commands the views offer. A filter may follow a
// list command inline: `:jobs state eq "ERRORED"`.
func Commands(c *Common) []ui.Command {
	cmds := lcmCommands(c)
	for _, f := range commandSets {
		cmds = append(cmds, f(c)...)
	}
	return cmds
}

func lcmCommands(c *Common) []ui.Command {
	jobs := func(args string) (ui.View, error) {
		v, err := NewJobs(c, args)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	tasks := func(args string) (ui.View, error) { return NewTasks(c, args) }
	actions := func(args string) (ui.View, error) { return NewActions(c, args) }
	return []ui.Command{
		{Name: "tasks", Help: "workflow tasks [SCIM filter]", Run: tasks, Complete: filterCompleter(filter.Tasks)},
		{Name: "actions", Help: "workflow actions [SCIM filter]", Run: actions, Complete: filterCompleter(filter.Actions)},
		{Name: "jobs", Help: "integration jobs [SCIM filter]", Run: jobs, Complete: filterCompleter(filter.Jobs)},
		{Name: "errors", Help: "ERRORED jobs grouped by error signature [tasks] [SCIM filter]", Run: func(args string) (ui.View, error) {
			return NewErrors(c, args) // views/errors.go
		}, Complete: errorsCompleter},
	}
}
