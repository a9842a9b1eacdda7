package emulator

import (
	"encoding/json"

	"fmt"
	gojson "github.com/goccy/go-json"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// payload builds the request and result of the job at local index local of
// m, as the JSON the API would send (§1.4). Most are 1-3 KB; about 1% are
// 20-60 KB; a few carry emoji, CJK, right-to-left text or terminal escape
// sequences.
func (g *gen) payload(m *taskMat, local int) (req, res json.RawMessage) {
	t := &m.sk
	as := &t.acts[m.actOf[local]]
	js := &t.jobs[local]
	k := t.j0 + local
	r := newRNG(g.seed, streamPayload, uint64(k))
	who := &m.who
	ds := &dataSources[as.st.ds]
	group := m.groups[local]
	hostile := r.chance(0.003)
	large := r.chance(0.01)

	account := veza.Entity{EntityType: ds.userType, EntityID: g.accountID(ds, who), Attributes: g.attributes(&r, ds, who, m)}
	if hostile {
		key := pick(&r, []string{"title", "display_name", "department", "notes"})
		v, _ := account.Attributes[key].(string)
		account.Attributes[key] = v + pick(&r, hostileStrings)
	}
	inputs := []veza.Entity{account}
	relational := as.st.typ == "MANAGE_RELATIONSHIPS" || as.st.typ == "ACCESS_PLAN" || as.st.typ == "CREATE_ENTITLEMENT"
	if relational {
		inputs = append(inputs, g.groupEntity(&r, ds, group))
	}
	if large {
		// A "remove everything" sweep or a full profile dump: hundreds of
		// groups the identity is in.
		n := r.between(170, 500)
		memberOf := make([]any, 0, n)
		for x := 0; x < n; x++ {
			gn := groupName(r.intn(numGroups())) + "-" + strconv.Itoa(r.between(1, 999))
			memberOf = append(memberOf, fmt.Sprintf("CN=%s,OU=Groups,DC=corp,DC=example,DC=com", gn))
			if x%3 == 0 {
				inputs = append(inputs, g.groupEntity(&r, ds, gn))
			}
		}
		account.Attributes["memberOf"] = memberOf
	}

	request := veza.JobRequest{
		DataSource: veza.DataSource{
			ID:     g.ids.uuid(kindDataSource, as.st.ds),
			Type:   ds.typ,
			Name:   ds.name,
			Config: ds.config,
		},
		InputEntities: inputs,
		ActionType:    as.st.typ,
		ActionConfig:  g.actionConfig(&r, as.st, m, local, group),
	}

	result := veza.JobResult{OutputEntities: []veza.Entity{}, ErrorMessages: []string{}}
	switch js.state {
	case stCompleted:
		result.AnyChanges = js.changes
		created := js.changes && (as.st.typ == "CREATE_EMAIL" || as.st.typ == "CREATE_ENTITLEMENT" ||
			(as.st.typ == "SYNC_IDENTITIES" && policies[t.pl.pol].status == "NEW"))
		result.AnyCreated = created
		if js.changes {
			out := veza.Entity{EntityType: ds.userType, EntityID: account.EntityID, Attributes: map[string]any{
				"status":     "SUCCESS",
				"updated_at": tp(js.completed).Format("2006-01-02T15:04:05.000Z"),
			}}
			if created {
				out.Attributes["created"] = true
			}
			if relational {
				out.Attributes["membership"] = group
			}
			if as.st.typ == "CREATE_EMAIL" || as.st.typ == "WRITE_BACK_EMAIL" {
				out.Attributes["email"] = who.email
			}
			result.OutputEntities = append(result.OutputEntities, out)
		}
	case stErrored:
		result.ErrorMessages = append(result.ErrorMessages, m.errs[local])
		if r.chance(0.15) {
			result.ErrorMessages = append(result.ErrorMessages, pick(&r, []string{
				"job failed after 3 attempts", "no changes were applied", "rollback completed",
				fmt.Sprintf("agent log: /var/log/veza/insight-point/%s.log", g.ids.uuid(kindJob, k)[:8]),
			}))
		}
	}
	var err error
	if req, err = gojson.Marshal(request); err != nil {
		panic(err) // only plain maps, slices and strings: cannot fail
	}
	if res, err = gojson.Marshal(result); err != nil {
		panic(err)
	}
	if pushed := g.writes.pushedResult(k); pushed != nil {
		res = pushed
	}
	return req, res
}

// accountID is how the data source names the identity's account.
func (g *gen) accountID(ds *dataSource, who *identity) string {
	switch ds.addressing {
	case "dn":
		return fmt.Sprintf("CN=%s,OU=%s,OU=Employees,DC=corp,DC=example,DC=com", escapeDN(who.name), who.dept)
	case "login":
		return who.login
	case "email":
		return who.email
	}
	switch ds.typ {
	case "SLACK":
		return "U0" + strings.ToUpper(strconv.FormatUint(mix64(uint64(who.idx)^0x51ac)&0xfffffffff, 36))
	case "WORKDAY", "SAP_SUCCESSFACTORS":
		return strconv.Itoa(who.empID)
	}
	return "usr_" + strconv.FormatUint(mix64(uint64(who.idx)^uint64(g.seed))&0xffffffffff, 16)
}

func escapeDN(s string) string {
	return strings.NewReplacer(",", `\,`, "+", `\+`, `"`, `\"`).Replace(s)
}

func (g *gen) groupEntity(r *rng, ds *dataSource, name string) veza.Entity {
	return veza.Entity{
		EntityType: ds.groupType,
		EntityID:   ds.typ[:2] + "-" + r.hex(12),
		Attributes: map[string]any{
			"name":        name,
			"description": "Members of " + strings.ReplaceAll(name, "-", " "),
			"managed_by":  "Veza LCM",
		},
	}
}

var costCenters = []string{"CC-1001", "CC-1040", "CC-2210", "CC-3150", "CC-4420", "CC-5005"}

// attributes is the account profile the job sends: 15-25 attributes.
func (g *gen) attributes(r *rng, ds *dataSource, who *identity, m *taskMat) map[string]any {
	first, last := who.first, who.last
	if who.native {
		first, last = who.name, ""
	}
	a := map[string]any{
		"display_name":    who.name,
		"first_name":      first,
		"last_name":       last,
		"email":           who.email,
		"employee_id":     strconv.Itoa(who.empID),
		"department":      who.dept,
		"title":           who.title,
		"location":        who.location,
		"region":          who.region,
		"manager_name":    who.managerName,
		"manager_email":   who.managerEmail,
		"manager_id":      strconv.Itoa(who.managerID),
		"cost_center":     pick(r, costCenters),
		"employment_type": pick(r, []string{"FULL_TIME", "FULL_TIME", "FULL_TIME", "PART_TIME", "CONTRACTOR", "INTERN"}),
		"start_date":      tp(m.sk.created - int64(r.between(0, 400))*86400000).Format("2006-01-02"),
		"is_active":       m.task.IdentityStatus != "DELETED",
		"phone":           fmt.Sprintf("+1-555-%03d-%04d", r.intn(1000), r.intn(10000)),
	}
	switch ds.typ {
	case "ACTIVE_DIRECTORY":
		a["sAMAccountName"] = who.login
		a["userPrincipalName"] = who.login + "@corp.example.com"
		a["distinguishedName"] = g.accountID(ds, who)
		a["userAccountControl"] = pick(r, []int{512, 514, 66048})
		a["pwdLastSet"] = 0
	case "OKTA":
		a["login"] = who.email
		a["okta_status"] = pick(r, []string{"ACTIVE", "PROVISIONED", "SUSPENDED", "STAGED"})
		a["okta_id"] = "00u" + r.hex(17)
	case "AZURE_AD":
		a["userPrincipalName"] = who.login + "@example.onmicrosoft.com"
		a["usageLocation"] = pick(r, []string{"US", "GB", "DE", "IN", "JP", "BR"})
	case "GITHUB":
		a["github_login"] = who.login + "-ex"
		a["role"] = pick(r, []string{"member", "member", "admin"})
	case "SLACK":
		a["slack_handle"] = "@" + who.login
	case "SALESFORCE":
		a["profile"] = pick(r, []string{"Standard User", "Sales User", "Read Only"})
		a["federation_id"] = who.email
	}
	if r.chance(0.12) {
		a["notes"] = pick(r, unicodeNotes)
	}
	if r.chance(0.3) {
		a["preferred_language"] = pick(r, []string{"en-US", "de-DE", "ja-JP", "ar-SA", "zh-CN", "pt-BR"})
	}
	return a
}

// actionConfig is the step's configuration as sent to the agent.
func (g *gen) actionConfig(r *rng, st step, m *taskMat, local int, group string) map[string]any {
	who := &m.who
	switch st.typ {
	case "SYNC_IDENTITIES":
		return map[string]any{"create_allowed": policies[m.sk.pl.pol].status == "NEW", "continuous_sync": r.chance(0.5),
			"sync_attributes": []any{"display_name", "title", "department", "manager_email", "location"}}
	case "MANAGE_RELATIONSHIPS":
		add, remove := []any{group}, []any{}
		if policies[m.sk.pl.pol].status == "DELETED" || strings.HasPrefix(st.name, "Remove") {
			add, remove = remove, add
		}
		return map[string]any{"relationship_type": "GROUP_MEMBERSHIP", "add": add, "remove": remove, "remove_existing": r.chance(0.1)}
	case "CREATE_EMAIL":
		return map[string]any{"format": "{first_initial}{last_name}", "domain": "example.com",
			"fallback_formats": []any{"{first_initial}{last_name}{n}", "{first_name}.{last_name}"}}
	case "DEPROVISION_IDENTITY":
		return map[string]any{"disable": true, "remove_all_relationships": r.chance(0.5), "move_to_ou": "OU=Disabled Users,DC=corp,DC=example,DC=com"}
	case "ACCESS_PLAN":
		return map[string]any{"access_plan_id": g.ids.uuid(kindAccessPlan, m.sk.pl.pol*8+m.sk.pl.wf), "mode": "APPLY", "grant": []any{group}}
	case "WRITE_BACK_EMAIL":
		return map[string]any{"target_attribute": "Email_Address", "usage_type": "WORK", "primary": true, "value": who.email}
	case "SEND_NOTIFICATION":
		return map[string]any{"template": "lcm_" + strings.ToLower(strings.ReplaceAll(policies[m.sk.pl.pol].name, " ", "_")),
			"recipients": []any{who.managerEmail}, "subject": fmt.Sprintf("[LCM] %s: %s", m.task.Workflow, who.name)}
	case "CUSTOM_ACTION":
		return map[string]any{"table": pick(r, []string{"sc_req_item", "incident", "alm_hardware"}),
			"fields": map[string]any{"short_description": st.name + " for " + who.name, "assignment_group": "IT Service Desk", "caller_id": who.login}}
	case "CREATE_ENTITLEMENT":
		return map[string]any{"name": group, "description": "Created by Veza LCM for " + who.dept, "owner": who.managerEmail}
	case "CREATE_ACCESS_REVIEW":
		return map[string]any{"template": "Manager Access Review", "reviewer": who.managerEmail, "due_in_days": 14, "scope": who.dept}
	case "RESET_PASSWORD":
		return map[string]any{"length": 16, "require_change_on_login": true, "notify": who.managerEmail}
	case "DELETE_IDENTITY":
		return map[string]any{"hard_delete": r.chance(0.3), "retention_days": 90}
	case "SEND_REST_PAYLOAD":
		jobID := m.jobs[local].JobID
		return map[string]any{"url": "https://hooks.example.com/lcm/" + pick(r, []string{"vendor-portal", "security-oncall", "hr-events"}),
			"method": "POST", "headers": map[string]any{"Content-Type": "application/json"},
			"return_post_url": "/api/private/lifecycle_management/action_job_events/" + jobID + ":push",
			"body_template":   `{"identity":"{{identity.email}}","event":"{{workflow.name}}"}`}
	}
	return map[string]any{}
}
