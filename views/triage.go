package views

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// Upstream actions on tasks and jobs (restart, unblock, push). Each is
// refused with a reason when offline or read-only, asks for confirmation
// naming exactly what will happen, then calls the API, re-reads what it
// changed and writes that back to the cache, and flashes the outcome with
// the server's message and request id on failure.

const actionTimeout = 60 * time.Second

// taskKeysFor handles the task-level keys for the given task IDs. v (may be
// nil) is the list the keys came from, used for prompts and as the dialog
// background.
func taskKeysFor(c *Common, v *List, k tea.KeyMsg, ids []string) (tea.Cmd, bool) {
	keys := c.Keys
	switch {
	case key.Matches(k, keys.Get("restart")):
		return restartTasks(c, viewOrNil(v), ids), true
	case key.Matches(k, keys.Get("unblock")):
		if v == nil {
			return ui.Flash(ui.FlashWarn, "unblock from the tasks list"), true
		}
		return unblockTasks(c, v, ids), true
	case key.Matches(k, keys.Get("goto_task")):
		if len(ids) == 0 {
			return nil, true
		}
		return openTaskJobs(c, ids[0]), true
	}
	return nil, false
}

func viewOrNil(v *List) ui.View {
	if v == nil {
		return nil
	}
	return v
}

// loadTasks reads the cached tasks of ids (missing ones are skipped).
func loadTasks(c *Common, ids []string) ([]store.TaskRow, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []store.TaskRow
	for _, id := range ids {
		t, err := c.Store.Task(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// describeTasks lists tasks for a confirmation body, at most max lines.
func describeTasks(ts []store.TaskRow, max int) string {
	var b strings.Builder
	for i, t := range ts {
		if i == max {
			fmt.Fprintf(&b, "… and %d more", len(ts)-max)
			break
		}
		fmt.Fprintf(&b, "• %s  %s  %s  (%s)\n", shortID(t.ID), sanitize.Line(t.Workflow), sanitize.Line(t.IdentityName), t.State)
	}
	return strings.TrimRight(b.String(), "\n")
}

// restartTasks restarts the ERRORED or COMPLETED tasks among ids.
func restartTasks(c *Common, under ui.View, ids []string) tea.Cmd {
	if ok, why := c.CanWrite(); !ok {
		return ui.Flash(ui.FlashWarn, "cannot restart: %s", why)
	}
	ts, err := loadTasks(c, ids)
	if err != nil {
		return ui.Flash(ui.FlashError, "%v", err)
	}
	var ok, skipped []store.TaskRow
	for _, t := range ts {
		if t.State == "ERRORED" || t.State == "COMPLETED" {
			ok = append(ok, t)
		} else {
			skipped = append(skipped, t)
		}
	}
	if len(ok) == 0 {
		if len(ts) == 0 {
			return ui.Flash(ui.FlashWarn, "the task is not in the cache yet")
		}
		return ui.Flash(ui.FlashWarn, "only ERRORED or COMPLETED tasks can be restarted (this one is %s)", ts[0].State)
	}
	title := fmt.Sprintf("Restart %d task%s?", len(ok), plural(len(ok)))
	body := "Each task's workflow runs again on the tenant " + hostOf(c) + ":\n" + describeTasks(ok, 8)
	if len(skipped) > 0 {
		body += fmt.Sprintf("\n\n%d marked task%s not ERRORED/COMPLETED will be left alone.", len(skipped), plural(len(skipped)))
	}
	return ui.Confirmed(c.Theme, under, title, body, "Restart", func() tea.Cmd {
		return runTaskAction(c, "restart", ok, func(ctx context.Context, t store.TaskRow) error {
			_, err := c.Veza.Restart(ctx, t.ID)
			return err
		})
	})
}

// unblockTasks asks RUN or ABANDON, then confirms, for the BLOCKED tasks
// among ids.
func unblockTasks(c *Common, v *List, ids []string) tea.Cmd {
	if ok, why := c.CanWrite(); !ok {
		return ui.Flash(ui.FlashWarn, "cannot unblock: %s", why)
	}
	ts, err := loadTasks(c, ids)
	if err != nil {
		return ui.Flash(ui.FlashError, "%v", err)
	}
	var blocked []store.TaskRow
	for _, t := range ts {
		if t.State == "BLOCKED" {
			blocked = append(blocked, t)
		}
	}
	if len(blocked) == 0 {
		return ui.Flash(ui.FlashWarn, "only BLOCKED tasks can be unblocked")
	}
	validate := func(s string) error {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "run", "abandon":
			return nil
		}
		return errors.New(`type "run" or "abandon"`)
	}
	return v.ask(fmt.Sprintf("unblock %d task%s — run or abandon? ", len(blocked), plural(len(blocked))), "", validate, func(ans string) tea.Cmd {
		action := strings.ToUpper(strings.TrimSpace(ans))
		verb := map[string]string{"RUN": "Run", "ABANDON": "Abandon"}[action]
		title := fmt.Sprintf("%s %d blocked task%s?", verb, len(blocked), plural(len(blocked)))
		body := "Unblock with action " + action + " on " + hostOf(c) + ":\n" + describeTasks(blocked, 8)
		return ui.Confirmed(c.Theme, v, title, body, verb, func() tea.Cmd {
			ids := make([]string, len(blocked))
			for i, t := range blocked {
				ids[i] = t.ID
			}
			done := false
			return runTaskAction(c, "unblock ("+action+")", blocked, func(ctx context.Context, t store.TaskRow) error {
				if done { // one call unblocks them all
					return nil
				}
				done = true
				return c.Veza.Unblock(ctx, ids, action)
			})
		})
	})
}

// runTaskAction calls do for each task, then re-reads every task from the
// API and writes it to the cache, and reports.
func runTaskAction(c *Common, verb string, ts []store.TaskRow, do func(context.Context, store.TaskRow) error) tea.Cmd {
	cl, st, log := c.Veza, c.Store, c.Log
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		var failed []string
		okN := 0
		var fresh []store.TaskRow
		for _, t := range ts {
			if err := do(ctx, t); err != nil {
				failed = append(failed, shortID(t.ID)+": "+apiErrText(err))
				continue
			}
			okN++
			if rec, err := cl.GetTask(ctx, t.ID); err == nil {
				fresh = append(fresh, opsync.TaskRow(rec))
			} else if log != nil {
				log.Warn("re-read after action failed", "verb", verb, "task", t.ID, "err", err)
			}
		}
		if len(fresh) > 0 {
			if _, err := st.WriteTasks(ctx, fresh, nil); err != nil {
				failed = append(failed, "writing the new state to the cache: "+err.Error())
			}
		}
		if log != nil {
			log.Info("task action", "verb", verb, "ok", okN, "failed", len(failed))
		}
		return actionResult(verb, okN, len(ts), failed, "task")
	}
}

// actionResult is the flash for an action on n things.
func actionResult(verb string, ok, n int, failed []string, noun string) tea.Msg {
	if len(failed) == 0 {
		return tea.BatchMsg{
			func() tea.Msg {
				return ui.FlashMsg{Level: ui.FlashInfo, Text: fmt.Sprintf("%s: %d %s%s done; the cache has the new state", verb, ok, noun, plural(ok))}
			},
			func() tea.Msg { return reloadMsg{} },
		}
	}
	text := fmt.Sprintf("%s: %d of %d %s%s failed — %s", verb, len(failed), n, noun, plural(n), strings.Join(failed, "; "))
	return tea.BatchMsg{
		func() tea.Msg { return ui.FlashMsg{Level: ui.FlashError, Text: text} },
		func() tea.Msg { return reloadMsg{} },
	}
}

// apiErrText is what the user needs from a failed call: the server's
// message and request id (APIError already sanitises and redacts).
func apiErrText(err error) string {
	var ae *veza.APIError
	if errors.As(err, &ae) {
		s := fmt.Sprintf("HTTP %d", ae.Status)
		if ae.Message != "" {
			s += " " + ae.Message
		} else if ae.Code != "" {
			s += " " + ae.Code
		}
		if ae.RequestID != "" {
			s += " (request_id " + ae.RequestID + ")"
		}
		return sanitize.Line(s)
	}
	return sanitize.Line(err.Error())
}

func hostOf(c *Common) string {
	if c.Veza == nil {
		return "the tenant"
	}
	return sanitize.Line(c.Veza.BaseURL())
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// openExternal writes text to a private read-only temp file and runs
// program on it (the user's $PAGER or $EDITOR), suspending the TUI.
func openExternal(envVar, fallback, name string, text []byte) tea.Cmd {
	prog := strings.TrimSpace(os.Getenv(envVar))
	if prog == "" {
		prog = fallback
	}
	dir, err := os.MkdirTemp("", "opsdeck-")
	if err != nil {
		return ui.Flash(ui.FlashError, "%v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, text, 0o400); err != nil {
		os.RemoveAll(dir)
		return ui.Flash(ui.FlashError, "%v", err)
	}
	args := strings.Fields(prog)
	cmd := exec.Command(args[0], append(args[1:], path)...)
	return tea.ExecProcess(cmd, func(err error) tea.Msg {
		os.RemoveAll(dir)
		if err != nil {
			return ui.FlashMsg{Level: ui.FlashError, Text: fmt.Sprintf("%s: %v", args[0], err)}
		}
		return nil
	})
}

// prettyJSON indents JSON for a pager; invalid JSON is returned as is.
func prettyJSON(b []byte) []byte {
	var out strings.Builder
	var v any
	if json.Unmarshal(b, &v) != nil {
		return b
	}
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return b
	}
	return []byte(out.String())
}

// jobKeys are the keys that act on one job (list row or detail): go to its
// task or action, restart its task, push its result, page its payloads.
// under is the view to draw dialogs over.
func jobKeys(c *Common, under ui.View, jobID string, k tea.KeyMsg) (tea.Cmd, bool) {
	keys := c.Keys
	if !key.Matches(k, keys.Get("goto_task"), keys.Get("goto_action"), keys.Get("restart"),
		keys.Get("push"), keys.Get("pager"), keys.Get("editor")) {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	j, err := c.Store.Job(ctx, jobID)
	if err != nil {
		return ui.Flash(ui.FlashError, "%v", err), true
	}
	switch {
	case key.Matches(k, keys.Get("goto_task")):
		return openTaskActions(c, j.PolicyTask), true
	case key.Matches(k, keys.Get("goto_action")):
		v, err := newList(c, actionsSpec, eqFilter("policy_task", j.PolicyTask), "task "+shortID(j.PolicyTask),
			fmt.Sprintf("action_name eq %q", j.ActionName))
		if err != nil {
			return ui.Flash(ui.FlashError, "%v", err), true
		}
		return ui.Push(v), true
	case key.Matches(k, keys.Get("restart")):
		return restartTasks(c, under, []string{j.PolicyTask}), true
	case key.Matches(k, keys.Get("push")):
		return openPushForm(c, under, j), true
	case key.Matches(k, keys.Get("pager")):
		return openExternal("PAGER", "less", "job-"+safeName(j.JobID)+".json", jobJSON(j)), true
	case key.Matches(k, keys.Get("editor")):
		return openExternal("EDITOR", "vi", "job-"+safeName(j.JobID)+".json", jobJSON(j)), true
	}
	return nil, false
}

// safeName keeps a file name to [A-Za-z0-9._-].
func safeName(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-' || ch == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}
