package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/opsdeck/opsdeck/store"
	lcmsync "github.com/opsdeck/opsdeck/sync"
)

func init() {
	register(&command{
		name:    "get",
		args:    "job ID | task ID | action TASK_ID ACTION_NAME | automation ID [--remote]",
		summary: "Print one cached record as JSON, with its payloads; --remote fetches it fresh from the API and updates the cache.",
		example: `opsdeck get job 0f1e2d3c-4b5a-4968-8776-655443322110
opsdeck get action 7c9e6679-7425-40de-944b-e07fc1f90ae7 "Sync AD Attributes" --remote`,
		words: []string{"job", "task", "action", "automation"},
		setup: func(fs *flag.FlagSet) func(context.Context, *runner, []string) error {
			var remote bool
			fs.BoolVar(&remote, "remote", false, "fetch from the API (and update the cache) instead of reading the cache")
			return func(ctx context.Context, r *runner, args []string) error {
				return runGet(ctx, r, args, remote)
			}
		},
	})
}

// getTarget is what "get" addresses.
type getTarget struct {
	kind string // job, task, action
	id   string
	name string // action name
}

func parseGetArgs(args []string) (getTarget, error) {
	if len(args) == 0 {
		return getTarget{}, usagef("want job ID, task ID, action TASK_ID ACTION_NAME or automation ID")
	}
	t := getTarget{kind: args[0]}
	switch t.kind {
	case "job", "task", "automation":
		if len(args) != 2 || args[1] == "" {
			return t, usagef("want %s ID", t.kind)
		}
		t.id = args[1]
	case "action":
		if len(args) != 3 || args[1] == "" || args[2] == "" {
			return t, usagef("want action TASK_ID ACTION_NAME (quote a name with spaces)")
		}
		t.id, t.name = args[1], args[2]
	default:
		return t, usagef("cannot get %q: want job, task, action or automation", t.kind)
	}
	return t, nil
}

func runGet(ctx context.Context, r *runner, args []string, remote bool) error {
	t, err := parseGetArgs(args)
	if err != nil {
		return err
	}
	if t.kind == "automation" {
		return r.automationGet(ctx, t.id, remote)
	}
	if remote {
		if err := r.refresh(ctx, t); err != nil {
			return err
		}
	}
	st, err := r.openCache(true)
	if err != nil {
		return err
	}
	defer st.Close()
	src, row, err := cached(ctx, st, t)
	if errors.Is(err, store.ErrNotFound) && !remote {
		return fmt.Errorf("%w (not synced yet? try --remote)", err)
	}
	if err != nil {
		return err
	}
	return r.printObject(ctx, st, src, row)
}

// cached reads the record t from the cache, with its payloads.
func cached(ctx context.Context, st *store.Store, t getTarget) (*source, record, error) {
	switch t.kind {
	case "job":
		j, err := st.Job(ctx, t.id)
		return jobsSource, &j, err
	case "task":
		k, err := st.Task(ctx, t.id)
		return tasksSource, &k, err
	default:
		a, err := st.Action(ctx, t.id, t.name)
		return actionsSource, &a, err
	}
}

// refresh fetches t from the API and writes it to the cache (no cursor:
// a single record says nothing about where a sync stands).
func (r *runner) refresh(ctx context.Context, t getTarget) error {
	c, err := r.client()
	if err != nil {
		return err
	}
	st, err := r.openCache(false)
	if err != nil {
		return err
	}
	defer st.Close()
	switch t.kind {
	case "job":
		rec, err := c.GetJob(ctx, t.id)
		if err != nil {
			return err
		}
		_, err = st.WriteJobs(ctx, []store.JobRow{lcmsync.JobRow(rec)}, nil)
		return err
	case "task":
		rec, err := c.GetTask(ctx, t.id)
		if err != nil {
			return err
		}
		_, err = st.WriteTasks(ctx, []store.TaskRow{lcmsync.TaskRow(rec)}, nil)
		return err
	default:
		rec, err := c.GetAction(ctx, t.id, t.name)
		if err != nil {
			return err
		}
		_, err = st.WriteActions(ctx, []store.ActionRow{lcmsync.ActionRow(rec)}, nil)
		return err
	}
}

// printObject writes one record as indented JSON: every field, then the
// payloads (the same object "query -o json --details" writes per row).
func (r *runner) printObject(ctx context.Context, st *store.Store, src *source, row record) error {
	fields, err := src.pick(nil, src.defaultFields())
	if err != nil {
		return err
	}
	vals := make([]any, len(fields))
	for i, f := range fields {
		vals[i], _ = src.get(row, f.name)
	}
	var det []rawMember
	if src.Details != nil {
		if det, err = src.Details(ctx, st, row); err != nil {
			return err
		}
	}
	compact := appendObject(nil, fields, vals, det)
	var b bytes.Buffer
	if err := json.Indent(&b, compact, "", "  "); err != nil {
		return fmt.Errorf("format %s: %w", src.Name, err)
	}
	b.WriteByte('\n')
	_, err = r.out.Write(b.Bytes())
	return err
}

// describe names a record for messages: "task 123 (Leaver, Jane Doe)".
func describe(kind, id string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			keep = append(keep, p)
		}
	}
	s := strings.TrimSpace(kind + " " + id)
	if len(keep) == 0 {
		return s
	}
	return fmt.Sprintf("%s (%s)", s, strings.Join(keep, ", "))
}
