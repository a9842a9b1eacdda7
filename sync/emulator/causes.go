package emulator

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// errCtx is what an error text may mention about the failing job.
type errCtx struct {
	who        *identity
	ds         int
	group      string
	actionType string
	at         time.Time // when the job ran
}

// cause is one root cause of a failed integration job. Its text varies with
// the identity, group, ids and numbers involved, so grouping errors by cause
// needs more than string equality. Weights make a few causes dominate, as on
// a real tenant. A cause applies only to the listed data sources and action
// types (nil: any).
type cause struct {
	name   string
	weight int
	ds     []int
	types  []string
	text   func(r *rng, c *errCtx) string
}

var adDSIDs = []string{"03150F94", "03151E04", "031522C8", "0315153A"}

var causes = []cause{
	{name: "user_not_in_group", weight: 14, ds: []int{dsAD, dsOkta, dsAzureAD, dsGoogle},
		types: []string{"MANAGE_RELATIONSHIPS", "DEPROVISION_IDENTITY", "ACCESS_PLAN"},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("user %s not found in group '%s'", c.who.login, c.group)
		}},
	{name: "ldap_insufficient_access", weight: 16, ds: []int{dsAD},
		text: func(r *rng, c *errCtx) string {
			msg := fmt.Sprintf("LDAP: error code 50 - Insufficient Access Rights: 00002098: SecErr: DSID-%s, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0", pick(r, adDSIDs))
			if r.chance(0.5) {
				msg = fmt.Sprintf("modify CN=%s,OU=%s,OU=Employees,DC=corp,DC=example,DC=com: %s", c.who.name, c.who.dept, msg)
			}
			return msg
		}},
	{name: "okta_rate_limit", weight: 10, ds: []int{dsOkta},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("Okta API rate limit exceeded (429): retry after %ds (request id %s)", r.between(3, 60), r.hex(20))
		}},
	{name: "agent_timeout", weight: 9, ds: []int{dsAD, dsSMTP},
		text: func(r *rng, c *errCtx) string {
			ms := 30000
			if r.chance(0.3) {
				ms = 60000
			}
			pt := dataSources[c.ds].insightPt
			if r.chance(0.2) {
				pt = r.between(1, 9)
			}
			return fmt.Sprintf("timeout after %dms waiting for agent insight-point-%d response", ms, pt)
		}},
	{name: "workday_invalid_id", weight: 6, ds: []int{dsWorkday},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("Workday: Invalid ID value. '%d' is not a valid ID value for type = 'Employee_ID'", c.who.empID+r.between(1, 40)*1000)
		}},
	{name: "servicenow_forbidden", weight: 5, ds: []int{dsServiceNow},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("ServiceNow: 403 Forbidden for table %s (user %s)",
				pick(r, []string{"sys_user_grmember", "sys_user", "sc_req_item", "alm_hardware"}),
				pick(r, []string{"integration.svc", "veza.lcm", "integration.svc"}))
		}},
	{name: "azure_resource_not_found", weight: 5, ds: []int{dsAzureAD},
		text: func(r *rng, c *errCtx) string {
			id := r.hex(32)
			return fmt.Sprintf("Azure AD: Request_ResourceNotFound: Resource '%s-%s-%s-%s-%s' does not exist or one of its queried reference-property objects are not present.",
				id[0:8], id[8:12], id[12:16], id[16:20], id[20:32])
		}},
	{name: "password_complexity", weight: 4, ds: []int{dsAD, dsOkta, dsAzureAD},
		types: []string{"RESET_PASSWORD", "SYNC_IDENTITIES"},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("password does not meet complexity requirements for %s", c.who.email)
		}},
	{name: "email_exists", weight: 5, types: []string{"CREATE_EMAIL", "WRITE_BACK_EMAIL"},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("email address %s%d@example.com already exists", c.who.login, r.between(2, 4))
		}},
	{name: "group_not_found", weight: 5, types: []string{"MANAGE_RELATIONSHIPS", "ACCESS_PLAN"},
		text: func(r *rng, c *errCtx) string {
			g := c.group
			if r.chance(0.4) {
				g = g + "-" + pick(r, []string{"OLD", "2023", "Legacy", "Temp"})
			}
			return fmt.Sprintf("group '%s' not found", g)
		}},
	{name: "connection_reset", weight: 4, ds: []int{dsAD, dsSMTP, dsServiceNow, dsWebhook},
		text: func(r *rng, c *errCtx) string {
			port := 636
			switch c.ds {
			case dsSMTP:
				port = 587
			case dsServiceNow, dsWebhook:
				port = 443
			}
			return fmt.Sprintf("connection reset by peer (10.20.%d.%d:%d)", r.between(1, 8), r.between(2, 250), port)
		}},
	{name: "scim_conflict", weight: 4, ds: []int{dsSlack, dsGitHub, dsSalesforce, dsOkta},
		types: []string{"SYNC_IDENTITIES", "CREATE_EMAIL", "ACCESS_PLAN", "MANAGE_RELATIONSHIPS"},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("SCIM 409 Conflict: userName '%s' already exists", c.who.login)
		}},
	{name: "github_not_member", weight: 2, ds: []int{dsGitHub},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("GitHub API 404: user '%s-%s' is not a member of organization 'example-inc'", c.who.login, pick(r, []string{"ex", "example", "corp"}))
		}},
	{name: "salesforce_license_limit", weight: 2, ds: []int{dsSalesforce},
		text: func(r *rng, c *errCtx) string {
			n := r.between(250, 900)
			return fmt.Sprintf("Salesforce: LICENSE_LIMIT_EXCEEDED: License Limit Exceeded for 'Salesforce' (%d of %d in use)", n, n)
		}},
	{name: "successfactors_invalid_value", weight: 2, ds: []int{dsSuccessFactors},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("SAP SuccessFactors OData: 400 Bad Request: [COE0019] Invalid value '%s-%d' for property 'department' of entity 'EmpJob(personIdExternal=%d)'",
				c.who.dept, r.between(100, 999), c.who.empID)
		}},
	{name: "google_quota", weight: 3, ds: []int{dsGoogle},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("Google Workspace: users.%s %s: 403 Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com' for consumer 'project_number:%d'",
				pick(r, []string{"insert", "update", "aliases.insert"}), c.who.email, pick(r, []int64{804172335521, 804172335521, 129855401766}))
		}},
	{name: "slack_user_not_found", weight: 2, ds: []int{dsSlack},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("Slack SCIM: 404 user_not_found: User U0%s not found", strings.ToUpper(r.hex(9)))
		}},
	{name: "ldap_entry_exists", weight: 3, ds: []int{dsAD}, types: []string{"SYNC_IDENTITIES", "CREATE_ENTITLEMENT"},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("LDAP: error code 68 - 00000524: UpdErr: DSID-031A11E2, problem 6005 (ENTRY_EXISTS), data 0 (CN=%s,OU=%s,DC=corp,DC=example,DC=com)",
				c.who.name, c.who.dept)
		}},
	{name: "x509_expired", weight: 1, ds: []int{dsAD, dsWebhook, dsServiceNow, dsSMTP},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("x509: certificate has expired or is not yet valid: current time %s is after %s",
				c.at.UTC().Format(time.RFC3339), c.at.UTC().Add(-time.Duration(r.between(1, 72))*time.Hour).Truncate(time.Hour).Format(time.RFC3339))
		}},
	{name: "webhook_bad_gateway", weight: 3, ds: []int{dsWebhook},
		text: func(r *rng, c *errCtx) string {
			code := pick(r, []string{"502 Bad Gateway", "503 Service Unavailable", "504 Gateway Timeout"})
			return fmt.Sprintf("POST https://hooks.example.com/lcm/%s returned %s after %d attempts",
				pick(r, []string{"vendor-portal", "security-oncall", "hr-events"}), code, r.between(3, 5))
		}},
	{name: "manager_not_found", weight: 2, types: []string{"SYNC_IDENTITIES", "ACCESS_PLAN", "CREATE_ACCESS_REVIEW", "SEND_NOTIFICATION"},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("manager lookup failed: no identity with employee_id '%d' (manager of %s)", c.who.managerID+r.between(0, 3), c.who.name)
		}},
	{name: "smtp_recipient_rejected", weight: 2, ds: []int{dsSMTP},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("SMTP 550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table", c.who.managerEmail)
		}},
	{name: "access_review_open", weight: 2, types: []string{"CREATE_ACCESS_REVIEW"},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("access review 'Q%d %s Manager Review' is already open for reviewer %s", r.between(1, 4), c.who.dept, c.who.managerEmail)
		}},
	{name: "sod_conflict", weight: 2, types: []string{"ACCESS_PLAN", "CREATE_ENTITLEMENT"},
		text: func(r *rng, c *errCtx) string {
			return fmt.Sprintf("access plan blocked by SoD rule SOD-%03d: '%s' conflicts with 'Payroll-Admins' for %s", r.between(1, 40), c.group, c.who.login)
		}},
}

// causeFor picks a cause that fits the data source and action type.
func causeFor(r *rng, ds int, actionType string) int {
	var idx [32]int
	var w [32]int
	n := 0
	for i, c := range causes {
		if (c.ds == nil || slices.Contains(c.ds, ds)) && (c.types == nil || slices.Contains(c.types, actionType)) {
			idx[n], w[n] = i, c.weight
			n++
		}
	}
	if n == 0 {
		return causeIndex("agent_timeout")
	}
	return idx[r.weighted(w[:n])]
}

func causeIndex(name string) int {
	for i, c := range causes {
		if c.name == name {
			return i
		}
	}
	panic("emulator: unknown cause " + name)
}
