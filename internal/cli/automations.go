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
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/automation"
	"github.com/opsdeck/opsdeck/store"
	lcmsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

var automationVerbs = []string{"list", "get", "create", "update", "delete", "attach", "detach", "attached"}

type automationOpts struct {
	file     string
	workflow string
	all      bool
	optIn    bool
	remote   bool
	yes      bool
	format   string
}

func init() {
	register(&command{
		name:    "automations",
		args:    "list|get ID|create|update ID|delete ID|attach ID|detach ID|attached WORKFLOW_ID [flags]",
		summary: "Manage access-review automations: read them from the cache, change them through the API.",
		long: `create and update read the automation from -f FILE (- for stdin) and check it with the
same rules as the TUI's editor before anything is sent; a broken one exits 2 with every
problem listed. Every change asks for confirmation (--yes skips it), is refused under
--read-only, and is written back to the cache.`,
		example: `opsdeck automations list
opsdeck automations create -f flag-admins.json
opsdeck automations update 3f1c9a52-... -f flag-admins.json --yes
opsdeck automations attach 3f1c9a52-... --workflow wf-quarterly --opt-in
opsdeck automations attached wf-quarterly --remote`,
		words: automationVerbs,
		setup: func(fs *flag.FlagSet) func(context.Context, *runner, []string) error {
			o := automationOpts{format: fmtTable}
			fs.StringVar(&o.file, "f", "", "automation JSON `file` for create and update (- for stdin)")
			fs.StringVar(&o.workflow, "workflow", "", "access-review workflow `id` for attach and detach")
			fs.BoolVar(&o.all, "all", false, "attach/detach: every workflow (with an ID) or every automation (with --workflow only)")
			fs.BoolVar(&o.optIn, "opt-in", false, "attach: operators must opt in")
			fs.BoolVar(&o.remote, "remote", false, "list, get, attached: fetch from the API and update the cache first")
			fs.BoolVar(&o.yes, "yes", false, "do not ask for confirmation")
			outFlag(fs, &o.format)
			return func(ctx context.Context, r *runner, args []string) error { return runAutomations(ctx, r, args, &o) }
		},
	})
}

func runAutomations(ctx context.Context, r *runner, args []string, o *automationOpts) error {
	if len(args) == 0 || !slices.Contains(automationVerbs, args[0]) {
		return usagef("want one of %s", strings.Join(automationVerbs, ", "))
	}
	verb, rest := args[0], args[1:]
	wantArgs := map[string]int{"list": 0, "create": 0, "get": 1, "update": 1, "delete": 1, "attach": 1, "detach": 1, "attached": 1}[verb]
	if (verb == "attach" || verb == "detach") && len(rest) == 0 && o.all && o.workflow != "" {
		wantArgs = 0 // every automation to/from one workflow
	}
	if len(rest) != wantArgs {
		return usagef("automations %s takes %d argument(s), got %d", verb, wantArgs, len(rest))
	}
	id := ""
	if len(rest) == 1 {
		if id = strings.TrimSpace(rest[0]); id == "" {
			return usagef("empty id")
		}
	}
	switch verb {
	case "list":
		return r.automationsList(ctx, o)
	case "get":
		return r.automationGet(ctx, id, o.remote)
	case "attached":
		return r.automationsAttached(ctx, id, o.remote)
	case "create", "update":
		return r.automationPut(ctx, verb, id, o)
	case "delete":
		return r.automationDelete(ctx, id, o.yes)
	default:
		return r.automationAttach(ctx, verb, id, o)
	}
}

func (r *runner) automationsList(ctx context.Context, o *automationOpts) error {
	if o.remote {
		c, err := r.client()
		if err != nil {
			return err
		}
		recs, err := c.ListAutomations(ctx)
		if err != nil {
			return err
		}
		rows := make([]store.AutomationRow, len(recs))
		for i, rec := range recs {
			rows[i] = lcmsync.AutomationRow(rec)
		}
		if err := r.withWriteBack(func(st *store.Store) error {
			// The list is complete: the cache drops what the API no longer has.
			_, err := st.WriteAutomations(ctx, rows, nil)
			return err
		}); err != nil {
			return err
		}
	}
	return runQuery(ctx, r, []string{"automations"}, &queryOpts{}, false, o.format)
}

// automationGet prints one automation as the server sent it.
func (r *runner) automationGet(ctx context.Context, id string, remote bool) error {
	if remote {
		if err := r.refreshAutomation(ctx, id); err != nil {
			return err
		}
	}
	st, err := r.openCache(true)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := st.Automation(ctx, id)
	if errors.Is(err, store.ErrNotFound) && !remote {
		return fmt.Errorf("%w (not synced yet? try --remote)", err)
	}
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, appendSafeRaw(nil, a.Raw), "", "  "); err != nil {
		return fmt.Errorf("automation %s: %w", id, err)
	}
	b.WriteByte('\n')
	_, err = r.out.Write(b.Bytes())
	return err
}

func (r *runner) refreshAutomation(ctx context.Context, id string) error {
	c, err := r.client()
	if err != nil {
		return err
	}
	return r.withWriteBack(func(st *store.Store) error {
		_, err := lcmsync.RefreshAutomation(ctx, c, st, id)
		return err
	})
}

// readAutomation reads -f, strictly (a misspelt key is an error, not a
// silently dropped rule), and checks it with the editor's rules.
func (r *runner) readAutomation(file string) (veza.Automation, error) {
	var a veza.Automation
	if file == "" {
		return a, usagef("-f FILE is required (- for stdin)")
	}
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(r.env.Stdin, 1<<20))
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return a, usagef("-f: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, usagef("-f %s: not an automation: %v", file, err)
	}
	if dec.More() {
		return a, usagef("-f %s: unexpected data after the automation", file)
	}
	n, vs := automation.Normalize(a)
	if err := automation.Err(vs); err != nil {
		return a, usagef("%v", err)
	}
	return n, nil
}

func automationLabel(a veza.Automation) string {
	return fmt.Sprintf("%q (%s)", sanitize.Line(a.Name), automation.KindOf(a))
}

func (r *runner) automationPut(ctx context.Context, verb, id string, o *automationOpts) error {
	a, err := r.readAutomation(o.file)
	if err != nil {
		return err
	}
	if verb == "update" {
		if a.ID != "" && a.ID != id {
			return usagef("the file is automation %q, not %q", a.ID, id)
		}
		a.ID = id
	}
	if err := r.guardWrite("automations " + verb); err != nil {
		return err
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	question := "create automation " + automationLabel(a)
	if verb == "update" {
		old, err := c.GetAutomation(ctx, id)
		if err != nil {
			return err
		}
		diff := automation.Diff(old.Value, a)
		if strings.TrimSpace(diff) == "" {
			fmt.Fprintf(r.out, "automation %s is unchanged\n", id)
			return nil
		}
		fmt.Fprintf(r.env.Stderr, "%s\n", sanitize.Text(strings.TrimRight(diff, "\n")))
		question = "update automation " + id + " " + automationLabel(a) + " as shown"
	}
	if err := r.confirm(o.yes, question); err != nil {
		return err
	}
	if verb == "create" {
		if id, err = c.CreateAutomation(ctx, a); err != nil {
			return err
		}
	} else if err := c.UpdateAutomation(ctx, a); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "%sd automation %s\n", verb, sanitize.Line(id))
	if err := r.refreshAutomation(ctx, id); err != nil {
		fmt.Fprintf(r.env.Stderr, "opsdeck automations: warning: the change was made, but updating the cache failed: %s\n", oneLine(err.Error()))
	}
	return nil
}

func (r *runner) automationDelete(ctx context.Context, id string, yes bool) error {
	if err := r.guardWrite("automations delete"); err != nil {
		return err
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	label := id
	if peek := r.peekCache(); peek != nil {
		if a, err := peek.Automation(ctx, id); err == nil {
			label = fmt.Sprintf("%s %q", id, sanitize.Line(a.Name))
		}
		peek.Close()
	}
	if err := r.confirm(yes, "delete automation "+label); err != nil {
		return err
	}
	if err := c.DeleteAutomation(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "deleted automation %s\n", id)
	if err := r.withWriteBack(func(st *store.Store) error { return st.DeleteAutomation(ctx, id) }); err != nil {
		fmt.Fprintf(r.env.Stderr, "opsdeck automations: warning: deleted, but updating the cache failed: %s\n", oneLine(err.Error()))
	}
	return nil
}

func (r *runner) automationAttach(ctx context.Context, verb, id string, o *automationOpts) error {
	wf := strings.TrimSpace(o.workflow)
	switch {
	case wf == "" && !(o.all && id != ""):
		return usagef("--workflow WORKFLOW_ID is required (or --all with an automation id)")
	case verb == "detach" && o.optIn:
		return usagef("--opt-in applies to attach only")
	}
	if err := r.guardWrite("automations " + verb); err != nil {
		return err
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	what := "automation " + id
	if id == "" {
		what = "every automation"
	}
	where := "workflow " + wf
	if o.all && id != "" {
		where = "every workflow"
	}
	dir := " to "
	if verb == "detach" {
		dir = " from "
	}
	extra := ""
	if verb == "attach" && o.optIn {
		extra = " (opt-in)"
	}
	if err := r.confirm(o.yes, verb+" "+what+dir+where+extra); err != nil {
		return err
	}
	if verb == "attach" {
		err = c.AttachAutomation(ctx, veza.AttachRequest{ID: id, WorkflowID: wf, All: o.all, OptIn: o.optIn})
	} else {
		err = c.DetachAutomation(ctx, veza.DetachRequest{ID: id, WorkflowID: wf, All: o.all})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, "%sed %s%s%s\n", verb, what, dir, where)
	if wf != "" {
		if err := r.withWriteBack(func(st *store.Store) error {
			_, err := lcmsync.RefreshAttached(ctx, c, st, wf, time.Now())
			return err
		}); err != nil {
			fmt.Fprintf(r.env.Stderr, "opsdeck automations: warning: done, but updating the cache failed: %s\n", oneLine(err.Error()))
		}
	}
	return nil
}

// automationsAttached prints the automations attached to a workflow as
// JSON lines: {"automation_id","name","opt_in"}.
func (r *runner) automationsAttached(ctx context.Context, wf string, remote bool) error {
	if remote {
		c, err := r.client()
		if err != nil {
			return err
		}
		if err := r.withWriteBack(func(st *store.Store) error {
			_, err := lcmsync.RefreshAttached(ctx, c, st, wf, time.Now())
			return err
		}); err != nil {
			return err
		}
	}
	st, err := r.openCache(true)
	if err != nil {
		return err
	}
	defer st.Close()
	atts, err := st.WorkflowAttachments(ctx, wf)
	if err != nil {
		return err
	}
	fields := []fieldSpec{{name: "automation_id"}, {name: "name"}, {name: "opt_in", kind: kBool}}
	for _, a := range atts {
		name := ""
		if row, err := st.Automation(ctx, a.AutomationID); err == nil {
			name = row.Name
		}
		line := appendObject(nil, fields, []any{a.AutomationID, name, a.OptIn}, nil)
		if _, err := r.out.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	if len(atts) == 0 {
		fmt.Fprintf(r.env.Stderr, "no automations attached to %s in the cache (try --remote)\n", sanitize.Line(wf))
	}
	return nil
}
