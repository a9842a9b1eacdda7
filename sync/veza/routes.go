package veza

import (
	"fmt"
	"net/url"
	"strings"
)

// Routes is the one table of everything on the wire that the vendor does not
// publish for certain. Each field is a path template; {name} placeholders are
// replaced by path-escaped values. Entries marked [assumed] come from
// API-CONTRACT.md's guesses: when a real tenant disagrees, override the field
// in Options.Routes (or from config) instead of editing call sites.
type Routes struct {
	// Workflow tasks, §1.2: fields and states are documented, paths are not.
	ListTasks    string // [assumed] GET
	GetTask      string // [assumed] GET, {id}
	RestartTask  string // [assumed] POST, {id}
	UnblockTasks string // [assumed] POST, body {"task_ids","action"}

	// Workflow actions, §1.3 [seed 001].
	ListActions string // GET
	GetAction   string // GET, {policy_task} {action_name}

	// Integration jobs, §1.4 [seed 000].
	ListJobs      string // GET, details=true adds request/result
	GetJob        string // GET, {job_id}
	PushJobResult string // POST, {job_id}

	// Async exports, §1.5: start is documented [seed 000/001], the status
	// and download shape is [assumed].
	ExportTasks   string // POST
	ExportActions string // POST
	ExportJobs    string // POST
	GetExport     string // [assumed] GET, {export_id}; FINISHED carries download_url

	// System events, §1.6 [seed 002].
	ListEvents   string // GET
	ExportEvents string // GET, a tail cursor (next_page_token)

	// Access-review Automations, §1.7 [seed 003].
	Automations         string // GET list, POST create, PUT update
	Automation          string // GET, DELETE, {id}
	AttachAutomation    string // POST
	DetachAutomation    string // POST
	AttachedAutomations string // GET, {workflow_id}

	// OrderByParam is the query parameter that carries the sort order.
	OrderByParam string // [assumed] "order_by"
}

const lcm = "/api/private/lifecycle_management"

const awf = "/api/preview/awf"

// DefaultRoutes returns the routing table of API-CONTRACT.md.
func DefaultRoutes() Routes {
	return Routes{
		ListTasks:    lcm + "/policy_tasks",
		GetTask:      lcm + "/policy_tasks/{id}",
		RestartTask:  lcm + "/policy_tasks/{id}:restart",
		UnblockTasks: lcm + "/policy_tasks:unblock",

		ListActions: lcm + "/action_events",
		GetAction:   lcm + "/action_events/{policy_task}/{action_name}",

		ListJobs:      lcm + "/action_job_events",
		GetJob:        lcm + "/action_job_events/{job_id}",
		PushJobResult: lcm + "/action_job_events/{job_id}:push",

		ExportTasks:   lcm + "/policy_tasks:export",
		ExportActions: lcm + "/action_events:export",
		ExportJobs:    lcm + "/action_job_events:export",
		GetExport:     lcm + "/exports/{export_id}",

		ListEvents:   "/api/preview/events",
		ExportEvents: "/api/preview/events/export",

		Automations:         awf + "/automations",
		Automation:          awf + "/automations/{id}",
		AttachAutomation:    awf + "/automations:attach",
		DetachAutomation:    awf + "/automations:detach",
		AttachedAutomations: awf + "/automations:attached/{workflow_id}",

		OrderByParam: "order_by",
	}
}

// routeSpec ties a table entry to the name used in errors and logs and to the
// placeholders its template must contain.
type routeSpec struct {
	name   string
	tmpl   *string
	params []string
}

func (r *Routes) specs() []routeSpec {
	return []routeSpec{
		{"list_tasks", &r.ListTasks, nil},
		{"get_task", &r.GetTask, []string{"id"}},
		{"restart_task", &r.RestartTask, []string{"id"}},
		{"unblock_tasks", &r.UnblockTasks, nil},
		{"list_actions", &r.ListActions, nil},
		{"get_action", &r.GetAction, []string{"policy_task", "action_name"}},
		{"list_jobs", &r.ListJobs, nil},
		{"get_job", &r.GetJob, []string{"job_id"}},
		{"push_job_result", &r.PushJobResult, []string{"job_id"}},
		{"export_tasks", &r.ExportTasks, nil},
		{"export_actions", &r.ExportActions, nil},
		{"export_jobs", &r.ExportJobs, nil},
		{"get_export", &r.GetExport, []string{"export_id"}},
		{"list_events", &r.ListEvents, nil},
		{"export_events", &r.ExportEvents, nil},
		{"automations", &r.Automations, nil},
		{"automation", &r.Automation, []string{"id"}},
		{"attach_automation", &r.AttachAutomation, nil},
		{"detach_automation", &r.DetachAutomation, nil},
		{"attached_automations", &r.AttachedAutomations, []string{"workflow_id"}},
	}
}

// merge returns the defaults with every non-empty field of o laid over them,
// checked so that a typo in a config file fails at start-up, not mid-sync.
func (o Routes) merge() (Routes, error) {
	r := DefaultRoutes()
	ov := o.specs()
	for i, s := range r.specs() {
		if v := *ov[i].tmpl; v != "" {
			*s.tmpl = v
		}
		t := *s.tmpl
		if !strings.HasPrefix(t, "/") {
			return r, fmt.Errorf("veza: route %s: path must start with /", s.name)
		}
		for _, p := range s.params {
			if !strings.Contains(t, "{"+p+"}") {
				return r, fmt.Errorf("veza: route %s: path lacks {%s}", s.name, p)
			}
		}
		if strings.Count(t, "{") != len(s.params) || strings.Count(t, "}") != len(s.params) {
			return r, fmt.Errorf("veza: route %s: unexpected placeholders (want %v)", s.name, s.params)
		}
	}
	if o.OrderByParam != "" {
		r.OrderByParam = o.OrderByParam
	}
	return r, nil
}

// expand fills a template's placeholders with path-escaped values (so an
// action name holding "/" stays one segment). Empty values and dot segments
// are refused: they would silently address a different resource.
func expand(name, tmpl string, kv ...string) (string, error) {
	out := tmpl
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		if v == "" || v == "." || v == ".." {
			return "", fmt.Errorf("veza %s: invalid %s %q", name, kv[i], v)
		}
		out = strings.ReplaceAll(out, "{"+kv[i]+"}", url.PathEscape(v))
	}
	return out, nil
}
