package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/opsdeck/opsdeck/sync/socotra"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

func init() {
	register(&command{
		name:    "socotra",
		args:    "resume|delete --trigger NAME --group GROUP [--yes]",
		summary: "Resume (re-queue) or delete a failed Socotra scheduled job; the cache's failed list follows.",
		long: `Find the trigger and group with:
  opsdeck query socotra-failed --fields trigger_name,trigger_group,state,failure_count`,
		example: `opsdeck socotra resume --trigger renewal-7f3a --group policy:100000123
opsdeck socotra delete --trigger renewal-7f3a --group policy:100000123 --yes`,
		words: []string{"resume", "delete"},
		setup: func(fs *flag.FlagSet) func(context.Context, *runner, []string) error {
			var name, group string
			var yes bool
			fs.StringVar(&name, "trigger", "", "the failed job's trigger `name`")
			fs.StringVar(&group, "group", "", "the failed job's trigger `group`")
			fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
			return func(ctx context.Context, r *runner, args []string) error {
				return runSocotra(ctx, r, args, name, group, yes)
			}
		},
	})
}

func (r *runner) socotraClient() (*socotra.Client, error) {
	const none = "offline: no Socotra API configured"
	if r.env.Socotra == nil {
		return nil, errors.New(none)
	}
	c, err := r.env.Socotra()
	if err != nil {
		return nil, fmt.Errorf("offline: %w", err)
	}
	if c == nil {
		return nil, errors.New(none)
	}
	return c, nil
}

func runSocotra(ctx context.Context, r *runner, args []string, name, group string, yes bool) error {
	if len(args) != 1 || (args[0] != "resume" && args[0] != "delete") {
		return usagef("want resume or delete")
	}
	op := args[0]
	name, group = strings.TrimSpace(name), strings.TrimSpace(group)
	if name == "" || group == "" {
		return usagef("--trigger and --group are both required")
	}
	if err := r.guardWrite("socotra " + op); err != nil {
		return err
	}
	c, err := r.socotraClient()
	if err != nil {
		return err
	}
	label := fmt.Sprintf("failed job %s in group %s", sanitize.Line(name), sanitize.Line(group))
	if peek := r.peekCache(); peek != nil {
		if f, err := peek.SocotraFailedJob(ctx, group, name); err == nil {
			label += fmt.Sprintf(" (%s, %s)", sanitize.Line(f.State), plural(int(f.FailureCount), "failure", "failures"))
		}
		peek.Close()
	}
	verb := "resume (re-queue) the"
	if op == "delete" {
		verb = "delete the"
	}
	if err := r.confirm(yes, verb+" "+label); err != nil {
		return err
	}
	st, err := r.openCache(false)
	if err != nil {
		return err
	}
	defer st.Close()
	do := socotra.ResumeFailed
	if op == "delete" {
		do = socotra.DeleteFailed
	}
	outcome, err := do(ctx, st, c, group, name)
	if err != nil {
		return err
	}
	past := map[string]string{"resume": "resumed", "delete": "deleted"}[op]
	if outcome == socotra.Already {
		fmt.Fprintf(r.out, "%s: the API no longer has it; dropped from the cache\n", label)
		return nil
	}
	fmt.Fprintf(r.out, "%s %s\n", past, label)
	return nil
}
