package emulator

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The system event catalogue of seed 002: every event type, its category,
// the entity it is about, how often it happens, and (in fill) what its
// messages and errors look like.

var eventCategories = []string{"SYSTEM", "INTEGRATIONS", "RULE", "TAG", "NOTIFICATION"}

type eventType struct {
	name     string // the event_type constant
	title    string // the event's name
	category string
	entity   string
	weight   int
}

var eventTypes = []eventType{
	// Integration events.
	{"OUTDATED_AWS_EXTRACTION_POLICY", "Outdated AWS extraction policy", "INTEGRATIONS", "DATASOURCE", 2},
	{"DATASOURCE_PARSED", "Data Source parsed", "INTEGRATIONS", "DATASOURCE", 140},
	{"DATASOURCE_PARSED_NO_CHANGE", "Data Source parsed, no change", "INTEGRATIONS", "DATASOURCE", 80},
	{"DATASOURCE_EXTRACTED", "Data Source extracted", "INTEGRATIONS", "DATASOURCE", 180},
	{"DATASOURCE_EXTRACTED_NO_CHANGE", "Data Source extracted, no change", "INTEGRATIONS", "DATASOURCE", 100},
	{"DATASOURCE_REGISTERED", "Data Source registered", "INTEGRATIONS", "DATASOURCE", 3},
	{"DATASOURCE_REMOVED", "Data Source removed", "INTEGRATIONS", "DATASOURCE", 2},
	{"DISCOVERY_FAILED", "Discovery failed", "INTEGRATIONS", "PROVIDER", 6},
	{"DISCOVERY_SUCCESS", "Discovery succeeded", "INTEGRATIONS", "PROVIDER", 20},
	{"OAA_PUSH", "OAA push", "INTEGRATIONS", "DATASOURCE", 50},
	{"PROVIDER_CONFIG_CHANGED", "Provider configuration changed", "INTEGRATIONS", "PROVIDER", 5},
	{"AUDITLOG_EXTRACTED", "Audit log extracted", "INTEGRATIONS", "DATASOURCE", 40},
	{"INSIGHT_POINT_UNAVAILABLE", "Insight Point unavailable", "INTEGRATIONS", "INSIGHT_POINT", 3},
	{"INSIGHT_POINT_DEGRADED", "Insight Point degraded", "INTEGRATIONS", "INSIGHT_POINT", 5},
	{"INSIGHT_POINT_INSTANCE_OUT_OF_SYNC", "Insight Point instance out of sync", "INTEGRATIONS", "INSIGHT_POINT", 4},
	{"SNOWFLAKE_EXPORT", "Snowflake export", "INTEGRATIONS", "DATASOURCE", 12},
	// User management.
	{"USER_LOGIN", "User login", "SYSTEM", "USER", 140},
	{"USER_LOGOUT", "User logout", "SYSTEM", "USER", 45},
	{"USER_CREATED", "User created", "SYSTEM", "USER", 4},
	{"USER_DELETED", "User deleted", "SYSTEM", "USER", 2},
	{"USER_ENABLED", "User enabled", "SYSTEM", "USER", 2},
	{"USER_DISABLED", "User disabled", "SYSTEM", "USER", 2},
	{"USER_EMAIL_UPDATED", "User email updated", "SYSTEM", "USER", 1},
	{"USER_ROLES_UPDATED", "User roles updated", "SYSTEM", "USER", 4},
	{"USER_PASSWORD_FORCED_RESET", "User password reset forced", "SYSTEM", "USER", 1},
	{"USER_PASSWORD_RESET", "User password reset", "SYSTEM", "USER", 3},
	{"USER_AUTH_FACTORS_RESET", "User authentication factors reset", "SYSTEM", "USER", 2},
	{"USER_AUTH_FACTORS_FORCED_RESET", "User authentication factors reset forced", "SYSTEM", "USER", 1},
	// API keys.
	{"API_KEY_CREATED", "API key created", "SYSTEM", "API_KEY", 3},
	{"API_KEY_UPDATED", "API key updated", "SYSTEM", "API_KEY", 2},
	{"API_KEY_DELETED", "API key deleted", "SYSTEM", "API_KEY", 1},
	{"API_KEY_REVOKED", "API key revoked", "SYSTEM", "API_KEY", 1},
	{"API_KEY_REINSTATED", "API key reinstated", "SYSTEM", "API_KEY", 1},
	// System and infrastructure.
	{"RULE_NOTIFICATION_FAILED", "Rule notification failed", "RULE", "RULE", 6},
	{"TAGGING_REQUEST_FAILED", "Tagging request failed", "TAG", "TAG", 4},
	{"EMAIL_NOTIFICATION", "Email notification", "NOTIFICATION", "NOTIFICATION", 25},
	{"EMAIL_SENT", "Email sent", "NOTIFICATION", "NOTIFICATION", 35},
	{"DOMAIN_NOT_IN_ALLOWLIST", "Domain not in allowlist", "NOTIFICATION", "NOTIFICATION", 2},
	{"WEBHOOK_NOT_IN_ALLOWLIST", "Webhook not in allowlist", "NOTIFICATION", "NOTIFICATION", 2},
	// Access reviews.
	{"ACCESS_REVIEW_CONFIGURATION_MODIFIED", "Access review configuration modified", "SYSTEM", "ACCESS_REVIEW", 6},
	{"EMPTY_ACCESS_REVIEW_CLEANED_UP", "Empty access review cleaned up", "SYSTEM", "ACCESS_REVIEW", 3},
	// Authentication settings.
	{"MFA_ENABLED", "MFA enabled", "SYSTEM", "ORGANIZATION", 1},
	{"MFA_DISABLED", "MFA disabled", "SYSTEM", "ORGANIZATION", 1},
	{"SCIM_PROVISIONING_ENABLED", "SCIM provisioning enabled", "SYSTEM", "ORGANIZATION", 1},
	{"SCIM_PROVISIONING_DISABLED", "SCIM provisioning disabled", "SYSTEM", "ORGANIZATION", 1},
	{"SSO_REDIRECT_ENABLED", "SSO redirect enabled", "SYSTEM", "ORGANIZATION", 1},
	{"SSO_REDIRECT_DISABLED", "SSO redirect disabled", "SYSTEM", "ORGANIZATION", 1},
	{"IDP_MANAGED_ROLES_ENABLED", "IdP-managed roles enabled", "SYSTEM", "ORGANIZATION", 1},
	{"IDP_MANAGED_ROLES_DISABLED", "IdP-managed roles disabled", "SYSTEM", "ORGANIZATION", 1},
	{"LOCAL_ACCOUNTS_ENABLED", "Local accounts enabled", "SYSTEM", "ORGANIZATION", 1},
	{"LOCAL_ACCOUNTS_DISABLED", "Local accounts disabled", "SYSTEM", "ORGANIZATION", 1},
	{"AUTH_PROVIDER_ENABLED", "Authentication provider enabled", "SYSTEM", "AUTH_PROVIDER", 1},
	{"AUTH_PROVIDER_DISABLED", "Authentication provider disabled", "SYSTEM", "AUTH_PROVIDER", 1},
}

var eventTypeNames, eventTypeWeights = func() ([]string, []int) {
	var names []string
	var weights []int
	for _, t := range eventTypes {
		names = append(names, t.name)
		weights = append(weights, t.weight)
	}
	return names, weights
}()

func eventTypeIndex(name string) int {
	for i, t := range eventTypes {
		if t.name == name {
			return i
		}
	}
	panic("unknown event type " + name)
}

// exampleEvents are the two events printed in seed 002, verbatim but for
// the timestamp, which moves to where the event sits in the data set
// (keeping its nanoseconds). Their event_type is the title, as in the seed.
var exampleEvents = [2]SystemEvent{{
	ID:         "e1560da1-bb88-4ef0-8d7f-e220fa2b33ca",
	Timestamp:  time.Date(2023, 9, 21, 12, 41, 27, 111852371, time.UTC),
	Category:   "INTEGRATIONS",
	Severity:   "WARNING",
	Name:       "OAA push",
	Message:    `OAA data source pushed "VEZAFILESERVER"`,
	Entity:     "DATASOURCE",
	EntityID:   "b408b41f-a73b-4a73-90dc-013111d3b2d2",
	EntityName: "VEZAFILESERVER",
	EventType:  "OAA push",
	ProviderID: "cbb69418-e9de-422a-945c-7e62ba3ae1ac",
	Error: &EventError{
		Reason: "OAA_PUSH_WARNINGS",
		Metadata: map[string]string{
			"0": "Cannot find identity by names (values: CN=Domain Admins,CN=Users,DC=evergreentrucks,DC=local)",
			"1": "Cannot find identity by names (values: CN=Domain Users,CN=Users,DC=evergreentrucks,DC=local)",
			"2": "Empty permissions field",
			"3": "Empty identity_to_permissions field",
		},
		Message:    "OAA push had warnings.",
		Resolution: "Address the warnings and push the datasource again.",
		RequestID:  "be920721634911577b8223f36f06ff1e",
	},
}, {
	ID:         "ee79c82d-4574-42d9-840a-7fa5c32e8c37",
	Timestamp:  time.Date(2023, 9, 21, 12, 42, 16, 300711343, time.UTC),
	Category:   "INTEGRATIONS",
	Severity:   "INFO",
	Name:       "Data Source extracted",
	Message:    `"VEZAFILESERVER" Data Source extracted (0s)`,
	Entity:     "DATASOURCE",
	EntityID:   "b408b41f-a73b-4a73-90dc-013111d3b2d2",
	EntityName: "VEZAFILESERVER",
	EventType:  "Data Source extracted",
	ProviderID: "cbb69418-e9de-422a-945c-7e62ba3ae1ac",
}}

var exampleTypes = [2]string{"OAA_PUSH", "DATASOURCE_EXTRACTED"}

// eventSource is a data source as the event log names it.
type eventSource struct {
	name, provider string
	oaa            bool
}

var eventSources = func() []eventSource {
	var out []eventSource
	for _, ds := range dataSources {
		out = append(out, eventSource{name: ds.name, provider: ds.typ})
	}
	for _, n := range []string{"VEZAFILESERVER", "HR-LEGACY-ORACLE", "SAP-ECC-PRD", "CYBERARK-PAM", "NETSUITE-ERP", "BITBUCKET-DC"} {
		out = append(out, eventSource{name: n, provider: "CUSTOM_OAA", oaa: true})
	}
	for _, n := range []string{"aws-prod-payments (412398765120)", "aws-shared-services (739184620031)", "aws-sandbox-ml (208114533907)"} {
		out = append(out, eventSource{name: n, provider: "AWS"})
	}
	out = append(out, eventSource{name: "Snowflake (EXAMPLE_PROD)", provider: "SNOWFLAKE"}, eventSource{name: "Jira Cloud (example.atlassian.net)", provider: "JIRA"})
	return out
}()

var eventProviders = func() []string {
	var out []string
	for _, s := range eventSources {
		if !strings.Contains(strings.Join(out, "\x00")+"\x00", s.provider+"\x00") {
			out = append(out, s.provider)
		}
	}
	return out
}()

func providerIndex(p string) int {
	for i, x := range eventProviders {
		if x == p {
			return i
		}
	}
	return 0
}

var (
	apiKeyNames   = []string{"ci-sync-prod", "terraform-veza", "opsdeck-readonly", "splunk-forwarder", "okta-workflows", "lcm-automation", "servicenow-integration"}
	alertRules    = []string{"Admins without MFA", "New AWS IAM administrator", "Dormant privileged accounts", "Public S3 bucket access", "Service account key older than 90 days", "Okta super admin granted"}
	tagNames      = []string{"SYSTEM_resource_managers:500008", "SYSTEM_resource_managers:500117", "pci-scope:true", "data-owner:finance", "crown-jewel:payments"}
	insightPoints = []string{"insight-point-3", "insight-point-7", "ip-eu-west-1", "ip-datacenter-dal"}
	vezaRoles     = []string{"admin", "operator", "viewer", "access_reviewer", "reviewer_admin", "nhi_security_admin", "lifecycle_manager"}
	mailSubjects  = []string{"Access review due in 3 days", "You have 12 pending review items", "Weekly integration health summary",
		"Rule \"Admins without MFA\" matched 4 new results", "Certification \"Q1 Okta Admins\" completed", "Your API key expires in 7 days"}
	authProviders = []string{"Okta SAML (example.okta.com)", "Azure AD OIDC", "Google Workspace SAML"}
	clientIPs     = []string{"203.0.113.24", "198.51.100.7", "192.0.2.181", "203.0.113.250", "2001:db8:85a3::8a2e:370:7334"}
)

func dur(r *rng, lo, hi int) string {
	return (time.Duration(r.between(lo, hi)) * time.Second).String()
}

// fill writes the type-specific parts of an event.
func (l *eventLog) fill(r *rng, et *eventType, e *SystemEvent) {
	g := l.g
	admin := func() string {
		_, _, _, login, _ := g.person(r.intn(12))
		return login + "@example.com"
	}
	source := func() {
		k := r.intn(len(eventSources))
		src := eventSources[k]
		idx := k
		if k >= numDataSources {
			idx = 100 + k
		}
		e.EntityID = g.ids.uuid(kindDataSource, idx)
		e.EntityName = src.name
		e.ProviderID = g.ids.uuid(kindProvider, providerIndex(src.provider))
	}
	fail := func(reason, msg, resolution string, meta map[string]string) {
		e.Error = &EventError{Reason: reason, Metadata: meta, Message: msg, Resolution: resolution, RequestID: requestHex(r)}
	}
	user := func() {
		k := r.intn(200)
		_, _, _, login, _ := g.person(k)
		e.EntityID = g.ids.uuid(kindVezaUser, k)
		e.EntityName = login + "@example.com"
	}
	switch et.name {
	case "DATASOURCE_EXTRACTED", "DATASOURCE_PARSED":
		source()
		verb := map[string]string{"DATASOURCE_EXTRACTED": "extracted", "DATASOURCE_PARSED": "parsed"}[et.name]
		if r.chance(0.06) {
			e.Severity = "ERROR"
			e.Name = "Data Source " + map[string]string{"extracted": "extraction", "parsed": "parsing"}[verb] + " failed"
			e.Message = fmt.Sprintf("%q Data Source %s failed after %s", e.EntityName, map[string]string{"extracted": "extraction", "parsed": "parsing"}[verb], dur(r, 3, 900))
			cause := pick(r, []struct{ reason, msg, res string }{
				{"PERMISSION_DENIED", "403 Forbidden: the service account lacks read access to the directory", "Grant the Veza service account the documented read permissions and retry."},
				{"RATE_LIMITED", "429 Too Many Requests from the provider API after 5 retries", "Lower the extraction concurrency or raise the API rate limit for the Veza client."},
				{"CONNECTION_FAILED", "dial tcp 10.20.4.17:636: i/o timeout", "Check that the Insight Point can reach the data source and that the port is open."},
				{"INVALID_CREDENTIALS", "invalid_client: client secret has expired", "Rotate the client secret and update the integration configuration."},
				{"PARSE_ERROR", "unexpected end of JSON input while reading page 37 of /api/v1/users", "Retry the extraction; contact support if it fails again."},
			})
			fail(cause.reason, cause.msg, cause.res, map[string]string{"phase": map[string]string{"extracted": "extraction", "parsed": "parsing"}[verb], "attempt": strconv.Itoa(r.between(1, 3))})
			return
		}
		e.Message = fmt.Sprintf("%q Data Source %s (%s)", e.EntityName, verb, dur(r, 0, 1500))
	case "DATASOURCE_PARSED_NO_CHANGE", "DATASOURCE_EXTRACTED_NO_CHANGE":
		source()
		verb := "parsed"
		if et.name == "DATASOURCE_EXTRACTED_NO_CHANGE" {
			verb = "extracted"
		}
		e.Message = fmt.Sprintf("%q Data Source %s (%s), Access Graph unchanged", e.EntityName, verb, dur(r, 0, 600))
	case "OUTDATED_AWS_EXTRACTION_POLICY":
		e.Severity = "WARNING"
		k := len(eventSources) - 5 + r.intn(3)
		e.EntityID, e.EntityName = g.ids.uuid(kindDataSource, 100+k), eventSources[k].name
		e.ProviderID = g.ids.uuid(kindProvider, providerIndex("AWS"))
		perms := pick(r, []string{`lambda:GetFunctionUrlConfig, ecr:DescribeRepositories`, `identitystore:ListGroupMemberships`, `sso:ListPermissionSets, sso:DescribePermissionSet`})
		e.Message = fmt.Sprintf("AWS account %q uses an outdated Veza extraction policy (missing: %s)", e.EntityName, perms)
		fail("OUTDATED_EXTRACTION_POLICY", "The IAM policy attached to the Veza role is missing permissions.",
			"Update the IAM policy of the Veza role to the current version from the integration page.", map[string]string{"missing_permissions": perms})
	case "DATASOURCE_REGISTERED", "DATASOURCE_REMOVED":
		source()
		verb := "registered"
		if et.name == "DATASOURCE_REMOVED" {
			verb = "removed"
		}
		e.Message = fmt.Sprintf("Data Source %q %s by %s", e.EntityName, verb, admin())
	case "DISCOVERY_FAILED", "DISCOVERY_SUCCESS":
		src := eventSources[r.intn(len(eventSources))]
		e.EntityID = g.ids.uuid(kindProvider, providerIndex(src.provider))
		e.ProviderID = e.EntityID
		e.EntityName = src.provider
		if et.name == "DISCOVERY_SUCCESS" {
			e.Message = fmt.Sprintf("Discovery for provider %s found %d data sources", src.provider, r.between(1, 40))
			break
		}
		e.Severity = "ERROR"
		e.Message = fmt.Sprintf("Discovery for provider %s failed", src.provider)
		fail("DISCOVERY_FAILED", pick(r, []string{"AccessDenied: not authorized to perform organizations:ListAccounts",
			"token refresh failed: invalid_grant", "the provider returned 503 Service Unavailable"}),
			"Check the provider credentials and permissions, then run discovery again.", nil)
	case "OAA_PUSH":
		k := numDataSources + r.intn(6)
		e.EntityID, e.EntityName = g.ids.uuid(kindDataSource, 100+k), eventSources[k].name
		e.ProviderID = g.ids.uuid(kindProvider, providerIndex("CUSTOM_OAA"))
		e.Message = fmt.Sprintf("OAA data source pushed %q", e.EntityName)
		if r.chance(0.25) {
			e.Severity = "WARNING"
			meta := map[string]string{}
			for w := 0; w < r.between(1, 5); w++ {
				meta[strconv.Itoa(w)] = pick(r, []string{
					"Cannot find identity by names (values: CN=Domain Admins,CN=Users,DC=corp,DC=example,DC=com)",
					"Empty permissions field", "Empty identity_to_permissions field",
					fmt.Sprintf("Unknown local role %q on resource %q", "db_owner", "FIN-REPORTING"),
					fmt.Sprintf("Duplicate local user id %q", strconv.Itoa(r.between(1000, 9999))),
				})
			}
			fail("OAA_PUSH_WARNINGS", "OAA push had warnings.", "Address the warnings and push the datasource again.", meta)
		}
	case "PROVIDER_CONFIG_CHANGED":
		p := eventProviders[r.intn(len(eventProviders))]
		e.EntityID, e.EntityName = g.ids.uuid(kindProvider, providerIndex(p)), p
		e.ProviderID = e.EntityID
		e.Message = fmt.Sprintf("Provider %s configuration changed by %s (%s)", p, admin(),
			pick(r, []string{"extraction schedule", "credentials rotated", "Insight Point changed", "extraction scope"}))
	case "AUDITLOG_EXTRACTED":
		source()
		e.Message = fmt.Sprintf("%d audit log entries extracted from %q", r.between(0, 250000), e.EntityName)
	case "INSIGHT_POINT_UNAVAILABLE", "INSIGHT_POINT_DEGRADED", "INSIGHT_POINT_INSTANCE_OUT_OF_SYNC":
		k := r.intn(len(insightPoints))
		e.EntityID, e.EntityName = g.ids.uuid(kindInsightPoint, k), insightPoints[k]
		switch et.name {
		case "INSIGHT_POINT_UNAVAILABLE":
			e.Severity = "ERROR"
			e.Message = fmt.Sprintf("Insight Point %q is unavailable: no heartbeat from any instance for %s", e.EntityName, dur(r, 300, 7200))
			fail("INSIGHT_POINT_UNAVAILABLE", "All instances are unavailable.", "Check that the Insight Point host is running and can reach the Veza control plane.",
				map[string]string{"instances": strconv.Itoa(r.between(1, 3)), "last_heartbeat": time.UnixMilli(l.g.nowMs - int64(r.between(300, 7200))*1000).UTC().Format(time.RFC3339)})
		case "INSIGHT_POINT_DEGRADED":
			e.Severity = "WARNING"
			up, all := r.between(1, 2), 3
			e.Message = fmt.Sprintf("Insight Point %q is degraded: %d of %d instances available", e.EntityName, up, all)
			fail("INSIGHT_POINT_DEGRADED", "Some instances are unavailable or out of sync.", "Restart the unavailable instances.",
				map[string]string{"available": strconv.Itoa(up), "total": strconv.Itoa(all)})
		default:
			e.Severity = "WARNING"
			drift := r.between(31, 900)
			e.Message = fmt.Sprintf("Insight Point %q instance %s clock drifts %ds from the control plane", e.EntityName, r.hex(8), drift)
			fail("INSIGHT_POINT_TIME_DRIFT", "Instance time is not synchronized with the control plane.", "Enable NTP on the Insight Point host.",
				map[string]string{"drift_seconds": strconv.Itoa(drift)})
		}
	case "SNOWFLAKE_EXPORT":
		e.EntityID, e.EntityName = g.ids.uuid(kindDataSource, 100+len(eventSources)-2), "Snowflake (EXAMPLE_PROD)"
		e.ProviderID = g.ids.uuid(kindProvider, providerIndex("SNOWFLAKE"))
		e.Message = fmt.Sprintf("Exported %d rows to Snowflake table VEZA_EXPORT.%s (%s)", r.between(1000, 4000000),
			pick(r, []string{"ACCESS_GRAPH_NODES", "ENTITLEMENTS", "LCM_JOB_EVENTS"}), dur(r, 5, 1200))
	case "USER_LOGIN":
		user()
		e.Message = fmt.Sprintf("User %s logged in from %s (%s)", e.EntityName, pick(r, clientIPs), pick(r, append([]string{"local"}, authProviders...)))
	case "USER_LOGOUT":
		user()
		e.Message = fmt.Sprintf("User %s logged out", e.EntityName)
	case "USER_CREATED", "USER_DELETED", "USER_ENABLED", "USER_DISABLED":
		user()
		verb := strings.ToLower(strings.TrimPrefix(et.name, "USER_"))
		e.Message = fmt.Sprintf("User %s %s by %s", e.EntityName, verb, admin())
		if et.name == "USER_CREATED" {
			e.Message += " with role " + pick(r, vezaRoles)
		}
	case "USER_EMAIL_UPDATED":
		user()
		e.Message = fmt.Sprintf("User email changed from %s to %s", e.EntityName, strings.Replace(e.EntityName, "@example.com", "@corp.example.com", 1))
	case "USER_ROLES_UPDATED":
		user()
		e.Message = fmt.Sprintf("Roles of %s changed by %s: [%s] -> [%s]", e.EntityName, admin(), pick(r, vezaRoles), pick(r, vezaRoles)+", "+pick(r, vezaRoles))
	case "USER_PASSWORD_FORCED_RESET", "USER_AUTH_FACTORS_FORCED_RESET":
		user()
		e.Severity = "WARNING"
		what := "password"
		if et.name == "USER_AUTH_FACTORS_FORCED_RESET" {
			what = "MFA factors"
		}
		e.Message = fmt.Sprintf("%s forced a %s reset for %s", admin(), what, e.EntityName)
	case "USER_PASSWORD_RESET", "USER_AUTH_FACTORS_RESET":
		user()
		what := "password"
		if et.name == "USER_AUTH_FACTORS_RESET" {
			what = "MFA factors"
		}
		e.Message = fmt.Sprintf("User %s reset their %s", e.EntityName, what)
	case "API_KEY_CREATED", "API_KEY_UPDATED", "API_KEY_DELETED", "API_KEY_REVOKED", "API_KEY_REINSTATED":
		k := r.intn(len(apiKeyNames))
		e.EntityID, e.EntityName = g.ids.uuid(kindAPIKey, k), apiKeyNames[k]
		verb := strings.ToLower(strings.TrimPrefix(et.name, "API_KEY_"))
		e.Message = fmt.Sprintf("API key %q %s by %s", e.EntityName, verb, admin())
		switch et.name {
		case "API_KEY_CREATED":
			e.Message += fmt.Sprintf(" (role %s, expires in %d days)", pick(r, vezaRoles), pick(r, []int{30, 90, 180, 365}))
		case "API_KEY_REVOKED", "API_KEY_DELETED":
			e.Severity = "WARNING"
		}
	case "RULE_NOTIFICATION_FAILED":
		k := r.intn(len(alertRules))
		e.EntityID, e.EntityName = g.ids.uuid(kindRule, k), alertRules[k]
		e.Severity = "ERROR"
		hook := pick(r, []struct {
			url  string
			code int
		}{{"https://hooks.slack.com/services/T024BE7LD/B05QK8U4N3F/XXXXXXXXXXXXXXXXXXXXXXXX", 404}, {"https://example.pagerduty.com/integration/3f1c/enqueue", 400},
			{"https://example.webhook.office.com/webhookb2/7c1e", 500}, {"https://jira.example.com/rest/api/2/issue", 401}, {"https://hooks.example.com/veza-alerts", 502}})
		target, code := hook.url, hook.code
		e.Message = fmt.Sprintf("Notification for rule %q failed: %s returned %d", e.EntityName, target, code)
		fail("NOTIFICATION_DELIVERY_FAILED", fmt.Sprintf("POST %s: %d %s", target, code, httpStatusText(code)),
			"Check the notification integration settings and that the endpoint accepts requests from Veza.",
			map[string]string{"status_code": strconv.Itoa(code), "attempts": strconv.Itoa(r.between(1, 5))})
	case "TAGGING_REQUEST_FAILED":
		k := r.intn(len(tagNames))
		e.EntityID, e.EntityName = g.ids.uuid(kindEntity, 1<<20+k), tagNames[k]
		e.Severity = "ERROR"
		node := pick(r, []string{"test1", "prod-db-01", "arn:aws:s3:::example-payments-logs", "FIN-REPORTING"})
		e.Message = "Tagging request failed for node " + node
		fail("TAGGING_FAILED", "node "+node+" was not found in the latest Access Graph snapshot", "Retry after the next extraction of the node's data source.", nil)
	case "EMAIL_NOTIFICATION":
		e.EntityID = g.ids.uuid(kindEntity, 1<<21+r.intn(50))
		e.EntityName = pick(r, mailSubjects)
		e.Message = fmt.Sprintf("Email notification %q queued for %d recipients", e.EntityName, r.between(1, 80))
	case "EMAIL_SENT":
		user()
		subject := pick(r, mailSubjects)
		e.Message = fmt.Sprintf("Email %q sent to %s", subject, e.EntityName)
	case "DOMAIN_NOT_IN_ALLOWLIST":
		e.Severity = "WARNING"
		addr := pick(r, []string{"partner@contoso.io", "auditor@big4-audit.example.net", "jane.doe@gmail.com"})
		e.EntityName = addr
		e.Message = fmt.Sprintf("Email to %s blocked: domain %q is not in the allowlist", addr, addr[strings.IndexByte(addr, '@')+1:])
	case "WEBHOOK_NOT_IN_ALLOWLIST":
		e.Severity = "WARNING"
		u := pick(r, []string{"https://webhook.site/6f1d2c9e", "http://10.0.0.12:8080/hook", "https://requestbin.example.org/r/abc123"})
		e.EntityName = u
		e.Message = fmt.Sprintf("Webhook %s blocked: URL is not in the allowlist", u)
	case "ACCESS_REVIEW_CONFIGURATION_MODIFIED", "EMPTY_ACCESS_REVIEW_CLEANED_UP":
		k := r.intn(len(reviewWorkflows))
		e.EntityID, e.EntityName = g.ids.uuid(kindReviewFlow, k), reviewWorkflows[k]
		if et.name == "EMPTY_ACCESS_REVIEW_CLEANED_UP" {
			e.Message = fmt.Sprintf("Empty review of %q (0 results) was removed automatically", e.EntityName)
			break
		}
		e.Message = fmt.Sprintf("Review configuration %q modified by %s: %s", e.EntityName, admin(),
			pick(r, []string{"reviewers", "due date", "query", "automations", "reminder schedule"}))
	default: // authentication settings
		on := strings.HasSuffix(et.name, "_ENABLED")
		what := strings.TrimSuffix(strings.TrimSuffix(et.title, " enabled"), " disabled")
		verb := "enabled"
		if !on {
			verb = "disabled"
			e.Severity = "WARNING"
		}
		if et.entity == "AUTH_PROVIDER" {
			k := r.intn(len(authProviders))
			e.EntityID, e.EntityName = g.ids.uuid(kindEntity, 1<<22+k), authProviders[k]
			e.Message = fmt.Sprintf("Authentication provider %q %s by %s", e.EntityName, verb, admin())
			break
		}
		e.EntityName = "example-inc"
		e.Message = fmt.Sprintf("%s %s by %s", what, verb, admin())
	}
}

func httpStatusText(code int) string {
	switch code {
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 404:
		return "Not Found"
	case 500:
		return "Internal Server Error"
	case 502:
		return "Bad Gateway"
	}
	return ""
}
