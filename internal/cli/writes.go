package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opsdeck/opsdeck/store"
	lcmsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// The write commands: the same operations as the TUI's actions, behind
// the same guards. Each refuses under --read-only, names what it will do
// and asks (or needs --yes), and writes the outcome back to the cache by
// fetching the changed records again.

func init() {
	register(&command{
		name:    "restart",
		args:    "TASK_ID... [--yes]",
		summary: "Restart ERRORED or COMPLETED workflow tasks (the server refuses any other state).",
		example: `opsdeck restart 7c9e6679-7425-40de-944b-e07fc1f90ae7
opsdeck query tasks --filter 'state eq "ERRORED" and workflow eq "Leaver"' --fields id -o csv | tail -n +2 | xargs opsdeck restart --yes`,
		setup: func(fs *flag.FlagSet) func(context.Context, *runner, []string) error {
			var yes bool
			fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
			return func(ctx context.Context, r *runner, args []string) error { return runRestart(ctx, r, args, yes) }
		},
	})
	register(&command{
		name:    "unblock",
		args:    "--run|--abandon TASK_ID... [--yes]",
		summary: "Unblock BLOCKED workflow tasks: --run lets them run despite the change limit, --abandon gives them up.",
		long:    "All or nothing: if any task is not BLOCKED, the server refuses the whole request.",
		example: `opsdeck unblock --run 7c9e6679-7425-40de-944b-e07fc1f90ae7 9b2e4f6a-1c3d-4e5f-8a7b-6c5d4e3f2a1b
opsdeck unblock --abandon --yes 7c9e6679-7425-40de-944b-e07fc1f90ae7`,
		setup: func(fs *flag.FlagSet) func(context.Context, *runner, []string) error {
			var yes, run, abandon bool
			fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
			fs.BoolVar(&run, "run", false, "run the blocked tasks")
			fs.BoolVar(&abandon, "abandon", false, "abandon the blocked tasks")
			return func(ctx context.Context, r *runner, args []string) error {
				return runUnblock(ctx, r, args, run, abandon, yes)
			}
		},
	})
	register(&command{
		name:    "push",
		args:    "JOB_ID [--any-changes] [--any-created] [--output-entities @FILE|JSON] [--yes]",
		summary: "Push the result of a webhook-based job (SEND_REST_PAYLOAD, ServiceNow, custom REST), as its integration would.",
		long: `--output-entities takes a JSON array of {"entity_type","entity_id","attributes"}
objects, inline or from a file (@file.json, @- for stdin).`,
		example: `opsdeck push 0f1e2d3c-4b5a-4968-8776-655443322110 --any-changes --output-entities @entities.json
opsdeck push 0f1e2d3c-4b5a-4968-8776-655443322110 --output-entities '[]' --yes`,
		setup: func(fs *flag.FlagSet) func(context.Context, *runner, []string) error {
			var o pushOpts
			fs.BoolVar(&o.yes, "yes", false, "do not ask for confirmation")
			fs.BoolVar(&o.anyChanges, "any-changes", false, "the integration changed something")
			fs.BoolVar(&o.anyCreated, "any-created", false, "the integration created something")
			fs.StringVar(&o.entities, "output-entities", "", "JSON array of output `entities`, or @FILE, or @- for stdin")
			return func(ctx context.Context, r *runner, args []string) error { return runPush(ctx, r, args, &o) }
		},
	})
}

// taskLabel describes a task from the cache for a confirmation, or just
// its id when the cache does not have it.
func (r *runner) taskLabel(ctx context.Context, st *store.Store, id string) string {
	if st != nil {
		if t, err := st.Task(ctx, id); err == nil {
			return describe("", id, sanitize.Line(t.State), sanitize.Line(t.Workflow), sanitize.Line(t.IdentityName))
		}
	}
	return id
}

// peekCache opens the cache read-only for labels; nil when there is none.
func (r *runner) peekCache() *store.Store {
	if r.env.OpenStore == nil {
		return nil
	}
	st, err := r.env.OpenStore(true)
	if err != nil {
		return nil
	}
	return st
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func uniqueIDs(args []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range args {
		if a = strings.TrimSpace(a); a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

func runRestart(ctx context.Context, r *runner, args []string, yes bool) error {
	ids := uniqueIDs(args)
	if len(ids) == 0 {
		return usagef("want at least one TASK_ID")
	}
	if err := r.guardWrite("restart"); err != nil {
		return err
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	labels := make([]string, len(ids))
	peek := r.peekCache()
	for i, id := range ids {
		labels[i] = r.taskLabel(ctx, peek, id)
	}
	if peek != nil {
		peek.Close()
	}
	if err := r.confirm(yes, "restart "+plural(len(ids), "task", "tasks")+": "+strings.Join(labels, "; ")); err != nil {
		return err
	}
	var failed []string
	var done []string
	for _, id := range ids {
		t, err := c.Restart(ctx, id)
		if err != nil && len(ids) == 1 {
			return err
		}
		if err != nil {
			fmt.Fprintf(r.env.Stderr, "opsdeck restart: %s: %s\n", id, oneLine(err.Error()))
			failed = append(failed, id)
			continue
		}
		state := "restarted"
		if t != nil {
			state = sanitize.Line(t.State)
		}
		fmt.Fprintf(r.out, "restarted task %s: %s\n", id, state)
		done = append(done, id)
	}
	r.writeBackTasks(ctx, done, false)
	if len(failed) > 0 {
		return fmt.Errorf("%s of %d not restarted: %s", plural(len(failed), "task", "tasks"), len(ids), strings.Join(failed, ", "))
	}
	return nil
}

func runUnblock(ctx context.Context, r *runner, args []string, run, abandon, yes bool) error {
	if run == abandon {
		return usagef("pass exactly one of --run and --abandon")
	}
	ids := uniqueIDs(args)
	if len(ids) == 0 {
		return usagef("want at least one TASK_ID")
	}
	if err := r.guardWrite("unblock"); err != nil {
		return err
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	action, verb := "RUN", "run despite the change limit"
	if abandon {
		action, verb = "ABANDON", "abandon"
	}
	labels := make([]string, len(ids))
	peek := r.peekCache()
	for i, id := range ids {
		labels[i] = r.taskLabel(ctx, peek, id)
	}
	if peek != nil {
		peek.Close()
	}
	if err := r.confirm(yes, fmt.Sprintf("unblock %s and %s: %s", plural(len(ids), "task", "tasks"), verb, strings.Join(labels, "; "))); err != nil {
		return err
	}
	if err := c.Unblock(ctx, ids, action); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "unblocked %s (%s)\n", plural(len(ids), "task", "tasks"), action)
	r.writeBackTasks(ctx, ids, true)
	return nil
}

// writeBackTasks re-reads changed tasks (their actions, and with jobs
// their jobs too) from the API into the cache. The write already happened,
// so a failure here is a warning: the next sync catches up.
func (r *runner) writeBackTasks(ctx context.Context, ids []string, jobs bool) {
	if len(ids) == 0 {
		return
	}
	err := r.withWriteBack(func(st *store.Store) error {
		c := r.veza
		for _, id := range ids {
			t, err := c.GetTask(ctx, id)
			if err != nil {
				return err
			}
			if _, err := st.WriteTasks(ctx, []store.TaskRow{lcmsync.TaskRow(t)}, nil); err != nil {
				return err
			}
			flt := fmt.Sprintf("policy_task eq %q", id)
			if err := pageAll(ctx, func(p veza.ListParams) (veza.ListPage[veza.Record[veza.Action]], error) {
				p.Filter = flt
				return c.ListActionRecords(ctx, p)
			}, func(recs []veza.Record[veza.Action]) error {
				rows := make([]store.ActionRow, len(recs))
				for i, a := range recs {
					rows[i] = lcmsync.ActionRow(a)
				}
				_, err := st.WriteActions(ctx, rows, nil)
				return err
			}); err != nil {
				return err
			}
			if !jobs {
				continue
			}
			if err := pageAll(ctx, func(p veza.ListParams) (veza.ListPage[veza.Record[veza.Job]], error) {
				p.Filter = flt
				return c.ListJobRecords(ctx, p)
			}, func(recs []veza.Record[veza.Job]) error {
				rows := make([]store.JobRow, len(recs))
				for i, j := range recs {
					rows[i] = lcmsync.JobRow(j)
				}
				_, err := st.WriteJobs(ctx, rows, nil)
				return err
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(r.env.Stderr, "opsdeck %s: warning: the change was made, but updating the cache failed: %s (the next sync will catch up)\n",
			r.cmd.name, oneLine(err.Error()))
	}
}

func (r *runner) withWriteBack(fn func(st *store.Store) error) error {
	st, err := r.openCache(false)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// pageAll follows a list to its end (a task has a handful of actions and
// jobs; the filter is a quoted id, so the pages are few).
func pageAll[T any](ctx context.Context, list func(veza.ListParams) (veza.ListPage[T], error), fn func([]T) error) error {
	var p veza.ListParams
	for pages := 0; pages < 1000; pages++ {
		page, err := list(p)
		if err != nil {
			return err
		}
		if len(page.Values) > 0 {
			if err := fn(page.Values); err != nil {
				return err
			}
		}
		if !page.HasMore {
			return nil
		}
		p.PageToken = page.NextPageToken
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return errors.New("list does not end after 1000 pages")
}

type pushOpts struct {
	yes, anyChanges, anyCreated bool
	entities                    string
}

// readEntities reads --output-entities: inline JSON, @FILE or @- (stdin).
// Each entity must name its type and id; unknown keys are refused so a
// typo is not silently dropped.
func readEntities(spec string, stdin io.Reader) ([]veza.Entity, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return []veza.Entity{}, nil
	}
	data := []byte(spec)
	if strings.HasPrefix(spec, "@") {
		name := spec[1:]
		var err error
		if name == "-" {
			data, err = io.ReadAll(io.LimitReader(stdin, 16<<20))
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, usagef("--output-entities: %v", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var out []veza.Entity
	if err := dec.Decode(&out); err != nil {
		return nil, usagef("--output-entities: want a JSON array of {entity_type, entity_id, attributes}: %v", err)
	}
	if dec.More() {
		return nil, usagef("--output-entities: unexpected data after the JSON array")
	}
	if out == nil {
		out = []veza.Entity{}
	}
	for i, e := range out {
		if strings.TrimSpace(e.EntityType) == "" || strings.TrimSpace(e.EntityID) == "" {
			return nil, usagef("--output-entities: entity %d needs entity_type and entity_id", i)
		}
	}
	return out, nil
}

func runPush(ctx context.Context, r *runner, args []string, o *pushOpts) error {
	if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
		return usagef("want one JOB_ID")
	}
	id := strings.TrimSpace(args[0])
	ents, err := readEntities(o.entities, r.env.Stdin)
	if err != nil {
		return err
	}
	if err := r.guardWrite("push"); err != nil {
		return err
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	// The job as the server has it now: its action type goes in the body,
	// and the confirmation says what is being answered.
	job, err := c.GetJob(ctx, id)
	if err != nil {
		return err
	}
	j := job.Value
	q := fmt.Sprintf("push a result to job %s (%s %q for %s, now %s): any_changes=%v any_created=%v, %s",
		id, sanitize.Line(j.ActionType), sanitize.Line(j.ActionName), sanitize.Line(j.IdentityName), sanitize.Line(j.State),
		o.anyChanges, o.anyCreated, plural(len(ents), "output entity", "output entities"))
	if err := r.confirm(o.yes, q); err != nil {
		return err
	}
	err = c.PushResult(ctx, id, veza.PushBody{
		JobID: id, ActionType: j.ActionType, OutputEntities: ents, AnyChanges: o.anyChanges, AnyCreated: o.anyCreated,
	})
	if err != nil {
		return err
	}
	after, err := c.GetJob(ctx, id)
	state := "pushed"
	if err == nil {
		state = sanitize.Line(after.Value.State)
	}
	fmt.Fprintf(r.out, "pushed result to job %s: %s\n", id, state)
	werr := err
	if werr == nil {
		werr = r.withWriteBack(func(st *store.Store) error {
			if _, err := st.WriteJobs(ctx, []store.JobRow{lcmsync.JobRow(after)}, nil); err != nil {
				return err
			}
			a, err := c.GetAction(ctx, after.Value.PolicyTask, after.Value.ActionName)
			if err != nil {
				return err
			}
			_, err = st.WriteActions(ctx, []store.ActionRow{lcmsync.ActionRow(a)}, nil)
			return err
		})
	}
	if werr != nil {
		fmt.Fprintf(r.env.Stderr, "opsdeck push: warning: the result was pushed, but updating the cache failed: %s (the next sync will catch up)\n", oneLine(werr.Error()))
	}
	return nil
}
