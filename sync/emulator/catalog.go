package emulator

// The static world the generator draws from: data sources, policies with
// their workflows and action steps, people's names, groups. Everything here
// is read-only.

// Data sources (integrations) an action's jobs talk to.
const (
	dsAD = iota
	dsOkta
	dsWorkday
	dsServiceNow
	dsAzureAD
	dsGoogle
	dsSalesforce
	dsSuccessFactors
	dsGitHub
	dsSlack
	dsWebhook
	dsSMTP
	dsVeza
	numDataSources
)

type dataSource struct {
	name       string
	typ        string
	userType   string // entity type of an account in this system
	groupType  string // entity type of a group/role in this system
	config     map[string]any
	connector  bool // reached through an Insight Point agent
	insightPt  int
	addressing string // how accounts are addressed: "dn", "login", "email", "id"
}

var dataSources = [numDataSources]dataSource{
	dsAD: {name: "Active Directory (corp.example.com)", typ: "ACTIVE_DIRECTORY", userType: "ActiveDirectoryUser", groupType: "ActiveDirectoryGroup",
		config: map[string]any{"domain": "corp.example.com", "base_dn": "DC=corp,DC=example,DC=com", "host": "ldaps://dc01.corp.example.com:636",
			"user_ou": "OU=Employees,DC=corp,DC=example,DC=com", "insight_point": "insight-point-3", "use_ssl": true},
		connector: true, insightPt: 3, addressing: "dn"},
	dsOkta: {name: "Okta (example.okta.com)", typ: "OKTA", userType: "OktaUser", groupType: "OktaGroup",
		config: map[string]any{"url": "https://example.okta.com", "org_id": "00o1k2m3n4P5q6R7s8t9", "rate_limit_per_minute": 600}, addressing: "login"},
	dsWorkday: {name: "Workday Production", typ: "WORKDAY", userType: "WorkdayWorker", groupType: "WorkdaySupervisoryOrganization",
		config: map[string]any{"tenant": "example_prod", "url": "https://wd5-services1.myworkday.com/ccx/service/example_prod", "api_version": "v41.1"}, addressing: "id"},
	dsServiceNow: {name: "ServiceNow ITSM", typ: "SERVICENOW", userType: "ServiceNowUser", groupType: "ServiceNowGroup",
		config: map[string]any{"instance": "https://example.service-now.com", "table": "sys_user", "username": "integration.svc"}, addressing: "login"},
	dsAzureAD: {name: "Azure AD (Entra ID)", typ: "AZURE_AD", userType: "AzureADUser", groupType: "AzureADGroup",
		config: map[string]any{"tenant_id": "3f2c9a71-8d4e-4b6a-9c1f-5e7d2b8a0c44", "domain": "example.onmicrosoft.com", "graph_url": "https://graph.microsoft.com/v1.0"}, addressing: "email"},
	dsGoogle: {name: "Google Workspace (example.com)", typ: "GOOGLE_WORKSPACE", userType: "GoogleWorkspaceUser", groupType: "GoogleWorkspaceGroup",
		config: map[string]any{"customer_id": "C03az79cb", "domain": "example.com", "admin_email": "lcm-admin@example.com"}, addressing: "email"},
	dsSalesforce: {name: "Salesforce Production", typ: "SALESFORCE", userType: "SalesforceUser", groupType: "SalesforcePermissionSet",
		config: map[string]any{"instance_url": "https://example.my.salesforce.com", "api_version": "59.0"}, addressing: "email"},
	dsSuccessFactors: {name: "SAP SuccessFactors", typ: "SAP_SUCCESSFACTORS", userType: "SuccessFactorsUser", groupType: "SuccessFactorsPermissionGroup",
		config: map[string]any{"api_server": "https://api4.successfactors.com", "company_id": "EXAMPLECO", "odata_version": "v2"}, addressing: "id"},
	dsGitHub: {name: "GitHub (example-inc)", typ: "GITHUB", userType: "GitHubUser", groupType: "GitHubTeam",
		config: map[string]any{"org": "example-inc", "url": "https://api.github.com", "app_id": 284173}, addressing: "login"},
	dsSlack: {name: "Slack (example-inc)", typ: "SLACK", userType: "SlackUser", groupType: "SlackUserGroup",
		config: map[string]any{"workspace": "example-inc.slack.com", "scim_url": "https://api.slack.com/scim/v2"}, addressing: "id"},
	dsWebhook: {name: "HR Events Webhook", typ: "CUSTOM_REST", userType: "CustomUser", groupType: "CustomGroup",
		config: map[string]any{"url": "https://hooks.example.com/lcm", "method": "POST", "auth": "bearer", "timeout_ms": 15000}, addressing: "id"},
	dsSMTP: {name: "Corporate SMTP Relay", typ: "SMTP", userType: "EmailRecipient", groupType: "DistributionList",
		config: map[string]any{"host": "smtp.example.com", "port": 587, "from": "lcm-noreply@example.com", "starttls": true}, connector: true, insightPt: 7, addressing: "email"},
	dsVeza: {name: "Veza Access Reviews", typ: "VEZA", userType: "VezaUser", groupType: "VezaReviewWorkflow",
		config: map[string]any{"workflow_template": "Manager Access Review", "due_in_days": 14}, addressing: "email"},
}

// step is one configured action of a workflow.
type step struct {
	name             string
	typ              string
	ds               int // -1: no data source (PAUSE, NONE)
	minJobs, maxJobs int
}

type workflow struct {
	name   string
	weight int
	steps  []step
}

type policy struct {
	name       string
	weight     int
	source     int    // system of record the identity comes from
	status     string // identity_status of its tasks
	version    int    // policy_version_number at the start of the window
	workflows  []workflow
	accessPlan bool // some jobs are dispatched by an access plan
}

var (
	stNotifyManager = step{"Notify Manager", "SEND_NOTIFICATION", dsSMTP, 0, 1}
	stNotifyIT      = step{"Notify IT Service Desk", "SEND_NOTIFICATION", dsSMTP, 0, 1}
)

var policies = []policy{
	{name: "Joiner", weight: 16, source: dsWorkday, status: "NEW", version: 7, workflows: []workflow{
		{name: "Joiner - Full-Time Employees", weight: 6, steps: []step{
			{"Create AD Account", "SYNC_IDENTITIES", dsAD, 1, 1},
			{"Create Email", "CREATE_EMAIL", dsGoogle, 1, 1},
			{"Write Back Email to Workday", "WRITE_BACK_EMAIL", dsWorkday, 1, 1},
			{"Add Birthright Groups", "MANAGE_RELATIONSHIPS", dsOkta, 1, 5},
			{"Grant Slack Access", "MANAGE_RELATIONSHIPS", dsSlack, 1, 2},
			stNotifyManager,
		}},
		{name: "Joiner - Interns", weight: 1, steps: []step{
			{"Create AD Account", "SYNC_IDENTITIES", dsAD, 1, 1},
			{"Create Email", "CREATE_EMAIL", dsGoogle, 1, 1},
			{"Add Intern Groups", "MANAGE_RELATIONSHIPS", dsAD, 1, 3},
			stNotifyManager,
		}},
	}},
	{name: "Mover", weight: 12, source: dsWorkday, status: "NONE", version: 4, workflows: []workflow{
		{name: "Mover - Department Change", weight: 4, steps: []step{
			{"Evaluate Department Change", "NONE", -1, 0, 0},
			{"Sync AD Attributes", "SYNC_IDENTITIES", dsAD, 1, 2},
			{"Remove Okta/AD Group Memberships", "MANAGE_RELATIONSHIPS", dsOkta, 1, 5},
			{"Add New Department Groups", "MANAGE_RELATIONSHIPS", dsAD, 1, 5},
			{"Open Manager Access Review", "CREATE_ACCESS_REVIEW", dsVeza, 0, 1},
		}},
		{name: "Mover - Location Transfer", weight: 1, steps: []step{
			{"Sync Okta Profile", "SYNC_IDENTITIES", dsOkta, 1, 1},
			{"Update Office Groups", "MANAGE_RELATIONSHIPS", dsAzureAD, 1, 4},
			stNotifyIT,
		}},
	}},
	{name: "Leaver", weight: 12, source: dsWorkday, status: "DELETED", version: 9, workflows: []workflow{
		{name: "Leaver - Standard Offboarding", weight: 5, steps: []step{
			{"Disable AD Account", "DEPROVISION_IDENTITY", dsAD, 1, 1},
			{"Deactivate Okta User", "DEPROVISION_IDENTITY", dsOkta, 1, 1},
			{"Remove All Group Memberships", "MANAGE_RELATIONSHIPS", dsAzureAD, 1, 5},
			{"Deprovision Slack", "DEPROVISION_IDENTITY", dsSlack, 1, 1},
			{"Create Offboarding Ticket", "CUSTOM_ACTION", dsServiceNow, 1, 1},
			stNotifyIT,
		}},
	}},
	{name: "Rehire", weight: 3, source: dsWorkday, status: "NEW", version: 2, workflows: []workflow{
		{name: "Rehire - Returning Employee", weight: 1, steps: []step{
			{"Re-enable AD Account", "SYNC_IDENTITIES", dsAD, 1, 1},
			{"Reset AD Password", "RESET_PASSWORD", dsAD, 1, 1},
			{"Restore Birthright Groups", "MANAGE_RELATIONSHIPS", dsOkta, 1, 5},
			{"Write Back Email to SuccessFactors", "WRITE_BACK_EMAIL", dsSuccessFactors, 1, 1},
		}},
	}},
	{name: "Contractor Onboarding", weight: 5, source: dsSuccessFactors, status: "NEW", version: 3, accessPlan: true, workflows: []workflow{
		{name: "Contractor Onboarding - Vendors", weight: 2, steps: []step{
			{"Create Azure AD Guest", "SYNC_IDENTITIES", dsAzureAD, 1, 1},
			{"Create Vendor Group", "CREATE_ENTITLEMENT", dsAzureAD, 1, 1},
			{"Apply Contractor Access Plan", "ACCESS_PLAN", dsOkta, 1, 4},
			{"Grant GitHub Access", "MANAGE_RELATIONSHIPS", dsGitHub, 1, 3},
			{"Post to Vendor Portal", "SEND_REST_PAYLOAD", dsWebhook, 1, 1},
		}},
		{name: "Contractor Onboarding - Offshore Engineering", weight: 1, steps: []step{
			{"Create Okta Account", "SYNC_IDENTITIES", dsOkta, 1, 1},
			{"Grant GitHub Access", "MANAGE_RELATIONSHIPS", dsGitHub, 1, 5},
			{"Create ServiceNow Account", "CUSTOM_ACTION", dsServiceNow, 1, 1},
		}},
	}},
	{name: "Leave of Absence", weight: 3, source: dsWorkday, status: "NONE", version: 2, workflows: []workflow{
		{name: "Leave of Absence - Start", weight: 2, steps: []step{
			{"Suspend Okta User", "DEPROVISION_IDENTITY", dsOkta, 1, 1},
			{"Pause Until Return Date", "PAUSE", -1, 0, 0},
			{"Remove VPN Groups", "MANAGE_RELATIONSHIPS", dsAD, 1, 2},
			stNotifyManager,
		}},
		{name: "Leave of Absence - Return", weight: 1, steps: []step{
			{"Reactivate Okta User", "SYNC_IDENTITIES", dsOkta, 1, 1},
			{"Reset Okta Password", "RESET_PASSWORD", dsOkta, 1, 1},
			{"Restore VPN Groups", "MANAGE_RELATIONSHIPS", dsAD, 1, 2},
		}},
	}},
	{name: "Role Change", weight: 6, source: dsWorkday, status: "NONE", version: 5, accessPlan: true, workflows: []workflow{
		{name: "Role Change - Promotion to Manager", weight: 1, steps: []step{
			{"Apply Manager Access Plan", "ACCESS_PLAN", dsOkta, 1, 3},
			{"Create Direct Reports Group", "CREATE_ENTITLEMENT", dsAD, 1, 1},
			{"Add Salesforce Permission Sets", "MANAGE_RELATIONSHIPS", dsSalesforce, 1, 3},
			{"Open Access Review", "CREATE_ACCESS_REVIEW", dsVeza, 1, 1},
		}},
		{name: "Role Change - Job Profile Update", weight: 2, steps: []step{
			{"Sync Job Title to AD", "SYNC_IDENTITIES", dsAD, 1, 1},
			{"Apply Role Access Plan", "ACCESS_PLAN", dsAzureAD, 1, 4},
			{"Update Salesforce Profile", "SYNC_IDENTITIES", dsSalesforce, 1, 1},
		}},
	}},
	{name: "Emergency Termination", weight: 2, source: dsWorkday, status: "DELETED", version: 6, workflows: []workflow{
		{name: "Emergency Termination - Immediate", weight: 1, steps: []step{
			{"Reset AD Password", "RESET_PASSWORD", dsAD, 1, 1},
			{"Disable AD Account", "DEPROVISION_IDENTITY", dsAD, 1, 1},
			{"Revoke Okta Sessions", "DEPROVISION_IDENTITY", dsOkta, 1, 1},
			{"Remove GitHub Membership", "DELETE_IDENTITY", dsGitHub, 1, 1},
			{"Page Security On-Call", "SEND_REST_PAYLOAD", dsWebhook, 1, 1},
		}},
	}},
	{name: "Conversion", weight: 2, source: dsSuccessFactors, status: "NONE", version: 1, workflows: []workflow{
		{name: "Conversion - Contractor to Employee", weight: 1, steps: []step{
			{"Sync SuccessFactors Attributes", "SYNC_IDENTITIES", dsAD, 1, 1},
			{"Create Email", "CREATE_EMAIL", dsAzureAD, 1, 1},
			{"Write Back Email to SuccessFactors", "WRITE_BACK_EMAIL", dsSuccessFactors, 1, 1},
			{"Remove Contractor Groups", "MANAGE_RELATIONSHIPS", dsAzureAD, 1, 4},
		}},
	}},
	{name: "Name Change", weight: 3, source: dsWorkday, status: "NONE", version: 2, workflows: []workflow{
		{name: "Name Change - Legal Name Update", weight: 1, steps: []step{
			{"Sync Display Name to AD", "SYNC_IDENTITIES", dsAD, 1, 1},
			{"Add Email Alias", "CREATE_EMAIL", dsGoogle, 1, 1},
			{"Sync Okta Profile", "SYNC_IDENTITIES", dsOkta, 1, 1},
			{"Update ServiceNow User", "CUSTOM_ACTION", dsServiceNow, 1, 1},
		}},
	}},
	{name: "Account Retention Cleanup", weight: 3, source: dsWorkday, status: "DELETED", version: 3, workflows: []workflow{
		{name: "Retention - Purge Departed Accounts", weight: 1, steps: []step{
			{"Delete AD Account", "DELETE_IDENTITY", dsAD, 1, 1},
			{"Delete Okta User", "DELETE_IDENTITY", dsOkta, 1, 1},
			{"Freeze Salesforce User", "DEPROVISION_IDENTITY", dsSalesforce, 1, 1},
			{"Delete Slack Account", "DELETE_IDENTITY", dsSlack, 1, 1},
			{"Close ServiceNow Assets", "CUSTOM_ACTION", dsServiceNow, 1, 2},
		}},
	}},
	{name: "Birthright Access Refresh", weight: 18, source: dsWorkday, status: "NONE", version: 12, workflows: []workflow{
		{name: "Nightly Birthright Sync", weight: 3, steps: []step{
			{"Check Birthright Rules", "NONE", -1, 0, 0},
			{"Sync Okta Profile", "SYNC_IDENTITIES", dsOkta, 1, 1},
			{"Reconcile Birthright Groups", "MANAGE_RELATIONSHIPS", dsOkta, 0, 5},
			{"Sync Slack Profile", "SYNC_IDENTITIES", dsSlack, 1, 1},
			{"Sync Google Groups", "MANAGE_RELATIONSHIPS", dsGoogle, 0, 4},
		}},
		{name: "Quarterly Entitlement Review", weight: 1, steps: []step{
			{"Create Department Role", "CREATE_ENTITLEMENT", dsSalesforce, 1, 1},
			{"Open Quarterly Access Review", "CREATE_ACCESS_REVIEW", dsVeza, 1, 2},
			{"Notify Reviewers", "SEND_NOTIFICATION", dsSMTP, 1, 3},
		}},
	}},
}

// policyWeights and workflowWeights are the weights above as slices, for
// rng.weighted.
var policyWeights, workflowWeights = func() ([]int, [][]int) {
	pw := make([]int, len(policies))
	ww := make([][]int, len(policies))
	for i, p := range policies {
		pw[i] = p.weight
		for _, w := range p.workflows {
			ww[i] = append(ww[i], w.weight)
		}
	}
	return pw, ww
}()

// People. Latin names carry diacritics on purpose; the generator folds them
// to ASCII for logins and e-mail addresses.
var firstNames = []string{
	"Jane", "John", "Amir", "Priya", "Wei", "Carlos", "María", "José", "Zoë", "Chloé",
	"Søren", "Björn", "Ingrid", "Łukasz", "Małgorzata", "Tomás", "Siobhán", "Aoife", "Nnamdi", "Chiamaka",
	"Kwame", "Fatima", "Omar", "Aisha", "Hiroshi", "Yuki", "Dmitri", "Olga", "Anders", "Emma",
	"Liam", "Olivia", "Noah", "Ava", "Ethan", "Sophia", "Mason", "Isabella", "Lucas", "Mia",
	"Mateo", "Camila", "Raj", "Ananya", "Arjun", "Deepika", "Kofi", "Ama", "Elif", "Mehmet",
	"Noémie", "François", "Jürgen", "Renée", "André", "Zoltán", "Þóra", "Ngozi", "Thanh", "Linh",
	"Sean", "Grace", "David", "Sarah", "Michael", "Jennifer", "Robert", "Linda", "James", "Patricia",
	"William", "Elizabeth", "Daniel", "Susan", "Ahmed", "Layla", "Giulia", "Matteo", "Sven", "Astrid",
}

var lastNames = []string{
	"Smith", "Khan", "Müller", "O'Brien", "García", "Nguyen", "Patel", "Kim", "Johnson", "Williams",
	"Brown", "Jones", "Miller", "Davis", "Rodríguez", "Martínez", "Hernández", "López", "González", "Wilson",
	"Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Pérez", "Thompson", "White",
	"Harris", "Sánchez", "Clark", "Ramírez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
	"Wright", "Scott", "Torres", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
	"Schröder", "Nowak", "Kowalski", "Jensen", "Hansen", "Andersson", "Lindqvist", "Dubois", "Lefèvre", "Rossi",
	"Bianchi", "Novák", "Dvořák", "Okafor", "Mensah", "Yılmaz", "Öztürk", "Suzuki", "Tanaka", "Sato",
	"Park", "Choi", "Singh", "Sharma", "Gupta", "Ivanov", "Petrova", "D'Angelo", "van der Berg", "MacDonald",
}

// nativeNames are written in their own script; ascii is the romanised login
// base ("first.last" order as the person would type it).
var nativeNames = []struct{ name, first, last string }{
	{"王芳", "fang", "wang"}, {"李伟", "wei", "li"}, {"张敏", "min", "zhang"}, {"刘洋", "yang", "liu"},
	{"陈静", "jing", "chen"}, {"杨磊", "lei", "yang"}, {"佐藤 健", "ken", "sato"}, {"鈴木 花子", "hanako", "suzuki"},
	{"김민준", "minjun", "kim"}, {"이서연", "seoyeon", "lee"}, {"박지훈", "jihoon", "park"},
	{"محمد العلي", "mohammed", "alali"}, {"ليلى حداد", "layla", "haddad"}, {"יעל כהן", "yael", "cohen"},
	{"Αλέξανδρος Παπαδόπουλος", "alexandros", "papadopoulos"}, {"Анна Смирнова", "anna", "smirnova"},
}

var departments = []string{"Sales", "Finance", "Engineering", "Marketing", "Support", "HR", "Legal", "IT", "Product", "Operations"}

var regions = []string{"EMEA", "APAC", "NA", "LATAM"}

var titles = []string{"Account Executive", "Staff Software Engineer", "Financial Analyst", "Support Engineer II",
	"HR Business Partner", "Product Manager", "Paralegal", "IT Systems Administrator", "Marketing Coordinator",
	"Site Reliability Engineer", "Director of Sales", "Payroll Specialist", "Data Scientist", "Solutions Architect"}

var locations = []string{"New York, NY", "San Francisco, CA", "Austin, TX", "London", "Berlin", "Dublin",
	"Bengaluru", "Singapore", "Tokyo", "São Paulo", "Toronto", "Sydney", "Kraków", "Zürich"}

var specialGroups = []string{"VPN-Users", "Okta-Everyone", "AWS-ReadOnly", "GitHub-Developers", "Salesforce-Sales-Cloud",
	"Payroll-Admins", "HR-Confidential", "Support-Tier2", "Data-Platform-Oncall", "IT-Helpdesk",
	"Contractors-Restricted", "Managers-All", "Office-Berlin", "Office-Tokyo", "Office-NYC", "Jira-Users",
	"Confluence-Editors", "Zoom-Licensed", "Snowflake-Analysts", "PagerDuty-Responders"}

// groupName returns group n of a pool of department-region groups followed by
// the special groups.
func groupName(n int) string {
	dr := len(departments) * len(regions)
	n %= dr + len(specialGroups)
	if n < dr {
		return departments[n/len(regions)] + "-" + regions[n%len(regions)]
	}
	return specialGroups[n-dr]
}

func numGroups() int { return len(departments)*len(regions) + len(specialGroups) }

// unicodeNotes are free-text attribute values with emoji, CJK and RTL text.
var unicodeNotes = []string{
	"Welcome aboard! 🎉🚀", "新入社員 — 東京オフィス", "مرحبا بك في الفريق", "שלום וברוכים הבאים",
	"Relocating 🇩🇪 → 🇯🇵", "Équipe d'assistance — niveau 2", "负责亚太区销售", "테스트 계정 아님 ✅",
	"Remote 🏠 / on-call 📟", "Zoë's laptop: MacBook Pro 16\"", "Müller-Lüdenscheidt GmbH",
}

// hostileStrings are byte sequences a remote system might send back that a
// terminal must never interpret: window title, clear screen, clipboard
// write, an 8-bit CSI and a right-to-left override.
var hostileStrings = []string{
	"\x1b]0;pwned\x07",
	"\x1b[2J\x1b[H",
	"\x1b]52;c;ZXZpbA==\x07",
	"\u009b31m",
	"\u202egnp.exe",
	"\x1b[31mERROR\x1b[0m",
	"\x1b]8;;https://evil.example/\x07click me\x1b]8;;\x07",
}
