package signature

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// The example: one signature for both.
		{"user jsmith not found in group 'Sales-EMEA'", "user <name> not found in group '<name>'"},
		{"user akhan not found in group 'Finance'", "user <name> not found in group '<name>'"},
		{"User: j.smith2 not found", "User: <name> not found"},
		{"user not found", "user not found"},
		{"can't find user's group", "can't find user's group"},
		{"group \"Payroll Admins\" has no member `x`", "group \"<name>\" has no member `<name>`"},
		{"empty '' stays", "empty '' stays"},
		{"it's 'quoted' and isn't", "it's '<name>' and isn't"},
		{"manager lookup failed: no identity with employee_id '100234' (manager of Jane Doe)",
			"manager lookup failed: no identity with employee_id '<name>' (manager of <name>)"},
		{"access plan blocked by SoD rule SOD-012: 'Sales-EMEA' conflicts with 'Payroll-Admins' for jsmith",
			"access plan blocked by SoD rule SOD-<num>: '<name>' conflicts with '<name>' for <name>"},
		{"failed for unknown reasons", "failed for unknown reasons"},
		// numbers, units, hex, ids
		{"Okta API rate limit exceeded (429): retry after 43s (request id 0a1b2c3d4e5f6a7b8c9d)",
			"Okta API rate limit exceeded (<num>): retry after <num>s (request id <hex>)"},
		{"timeout after 30000ms waiting for agent insight-point-3 response",
			"timeout after <num>ms waiting for agent insight-point-<num> response"},
		{"Slack SCIM: 404 user_not_found: User U0ABC12DEF not found", "Slack SCIM: <num> user_not_found: User <id> not found"},
		{"x509 sha256 COE0019 v2 stay", "x509 sha256 COE0019 v2 stay"},
		{"pointer 0x7ffd1234 and 1.5 and 5.1.1", "pointer <hex> and <num> and <num>"},
		{"(512 of 512 in use)", "(<num> of <num> in use)"},
		// uuids, emails, IPs, timestamps, URLs, DNs
		{"job 6f1c2d3e-aaaa-4bbb-8ccc-0123456789ab failed", "job <uuid> failed"},
		{"email address jsmith3@example.com already exists", "email address <email> already exists"},
		{"SMTP 550 5.1.1 <jdoe@example.com>: Recipient address rejected", "SMTP <num> <num> <<email>>: Recipient address rejected"},
		{"connection reset by peer (10.20.3.44:636)", "connection reset by peer (<ip>:<num>)"},
		{"current time 2025-06-15T10:20:30Z is after 2025-06-14T09:00:00.123+02:00", "current time <ts> is after <ts>"},
		{"on 2025/06/15 at 10:20", "on <ts> at <ts>"},
		{"POST https://hooks.example.com/lcm/vendor-portal?x=1 returned 502", "POST https://hooks.example.com/<path> returned <num>"},
		{"GET http://10.0.0.1:8080/ failed", "GET http://<ip>:<num>/ failed"},
		{"modify CN=John Smith,OU=Sales,DC=corp,DC=example,DC=com: LDAP: error code 50", "modify <dn>: LDAP: error code <num>"},
		{"data 0 (CN=Jane Doe,OU=Sales,DC=corp,DC=com)", "data <num> (<dn>)"},
		{"entry cn=admin,dc=corp already exists", "entry <dn> already exists"},
		// white space
		{"  a \t\n b\u00a0c\u200bd  ", "a b c d"},
		{"", ""},
	} {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// TestNormalizeGroupsVariants: messages that differ only in their variable
// parts share a signature; messages of different failures do not.
func TestNormalizeGroupsVariants(t *testing.T) {
	same := [][]string{
		{"user jsmith not found in group 'Sales-EMEA'", "user akhan not found in group 'Finance'", "user Mary Ann Lee not found in group 'R&D'"},
		{"Okta API rate limit exceeded (429): retry after 3s (request id 9f8e7d6c5b4a39281706)",
			"Okta API rate limit exceeded (429): retry after 60s (request id 00aa11bb22cc33dd44ee)"},
		{"connection reset by peer (10.20.1.2:443)", "connection reset by peer (10.20.8.250:636)"},
		{"SCIM 409 Conflict: userName 'ann.lee' already exists", "SCIM 409 Conflict: userName 'bo' already exists"},
	}
	seen := map[string]int{}
	for i, group := range same {
		want := Normalize(group[0])
		for _, m := range group[1:] {
			if got := Normalize(m); got != want {
				t.Errorf("%q -> %q, want %q (as %q)", m, got, want, group[0])
			}
		}
		if j, dup := seen[want]; dup {
			t.Errorf("groups %d and %d share signature %q", j, i, want)
		}
		seen[want] = i
	}
}

func TestNormalizeBounded(t *testing.T) {
	long := strings.Repeat("user jsmith not found in group 'Finance'; ", 500)
	got := Normalize(long)
	if len(got) > MaxLen || !strings.HasSuffix(got, ellipsis) {
		t.Fatalf("len %d, %q", len(got), got)
	}
	if Normalize(got) != got {
		t.Fatalf("cut signature is not a fixed point:\n%q\n%q", got, Normalize(got))
	}
	// One huge token.
	got = Normalize(strings.Repeat("abcdefghij", 1000))
	if len(got) > MaxLen || Normalize(got) != got {
		t.Fatalf("len %d, %q", len(got), got)
	}
	// Pathological quoting stays linear (a quadratic scan would take
	// seconds here, and the fuzz target would time out).
	got = Normalize(strings.Repeat(" 'a", maxIn))
	if len(got) > MaxLen {
		t.Fatal(len(got))
	}
}

// TestEmulatorCauses: on the emulator's failed jobs (each of its ~25 root
// causes varies identities, groups, ids and numbers in its text) the
// signatures collapse thousands of distinct messages into a few dozen
// groups.
func TestEmulatorCauses(t *testing.T) {
	srv := httptest.NewServer(emulator.New(emulator.Options{Seed: 3, Scale: 8000}))
	defer srv.Close()
	c, err := veza.New(srv.URL, emulator.DefaultToken, veza.Options{})
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]bool{}
	sigs := map[string]int{}
	p := veza.NewPager(veza.ListParams{Filter: `state eq "ERRORED"`, Details: true, PageSize: 100}, c.ListJobs)
	for j, err := range p.All(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		var res veza.JobResult
		if err := json.Unmarshal(j.Result, &res); err != nil || len(res.ErrorMessages) == 0 {
			t.Fatalf("job %s: result %s: %v", j.JobID, j.Result, err)
		}
		m := res.ErrorMessages[0]
		msgs[m] = true
		sigs[Normalize(m)]++
	}
	if len(msgs) < 200 {
		t.Fatalf("only %d distinct messages: the emulator changed?", len(msgs))
	}
	// ~25 causes, a few of which legitimately split (4 ServiceNow tables,
	// 3 gateway errors, 3 Google calls, LDAP with and without a DN).
	if len(sigs) > 45 {
		var b strings.Builder
		for s, n := range sigs {
			if n < 3 {
				b.WriteString("\n  " + s)
			}
		}
		t.Errorf("%d distinct messages gave %d signatures; rare ones:%s", len(msgs), len(sigs), b.String())
	}
	for s := range sigs {
		if Normalize(s) != s {
			t.Errorf("not a fixed point: %q -> %q", s, Normalize(s))
		}
	}
	t.Logf("%d messages, %d signatures", len(msgs), len(sigs))
}

func checkInvariants(t *testing.T, in string) {
	got := Normalize(in)
	if len(got) > MaxLen {
		t.Fatalf("Normalize(%q): %d bytes > MaxLen", in, len(got))
	}
	if !utf8.ValidString(got) {
		t.Fatalf("Normalize(%q) = %q: invalid UTF-8", in, got)
	}
	if again := Normalize(got); again != got {
		t.Fatalf("not idempotent:\n in    %q\n once  %q\n twice %q", in, got, again)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"user jsmith not found in group 'Sales-EMEA'",
		"modify CN=John Smith,OU=Sales,DC=corp,DC=com: LDAP: error code 50 - 00002098: SecErr: DSID-03150F94",
		"POST https://hooks.example.com/lcm/x?y=1 returned 502 after 3 attempts",
		"SMTP 550 5.1.1 <a@b.com>: rejected at 2025-01-02T03:04:05Z from 10.0.0.1:25",
		"manager of Jane Doe-Smith) for jsmith",
		"it's 'a''b' \"c\" `d` 'e",
		"user abc.5x user:5 jsmith 0x1f <num>ms <<email>>",
		strings.Repeat("ab1 ", 100),
		"\xff\xfe user \u202e x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkInvariants(t, s) })
}

// BenchmarkNormalize: typical error texts, and inputs built to defeat
// the look-ahead (stray quotes, LDAP prefixes without an end, name runs),
// which must stay linear.
//
//	go test ./internal/signature -run '^$' -bench Normalize
func BenchmarkNormalize(b *testing.B) {
	typical := []string{
		"user jsmith not found in group 'Sales-EMEA'",
		"modify CN=John Smith,OU=Sales,OU=Employees,DC=corp,DC=example,DC=com: LDAP: error code 50 - Insufficient Access Rights: 00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0",
		"Okta API rate limit exceeded (429): retry after 43s (request id 0a1b2c3d4e5f6a7b8c9d)",
		"Google Workspace: users.insert jsmith@example.com: 403 Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com' for consumer 'project_number:804172335521'",
	}
	for _, c := range []struct {
		name string
		msgs []string
	}{
		{"typical", typical},
		{"quotes", []string{strings.Repeat(" 'a", 2000)}},
		{"dn", []string{strings.Repeat("cn=a ", 2000)}},
		{"for", []string{strings.Repeat("for a ", 2000)}},
		{"names", []string{"user " + strings.Repeat("Ab ", 2000)}},
		{"stacktrace", []string{strings.Repeat("at com.example.Foo.bar(Foo.java:123)\n", 200)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			for _, m := range c.msgs {
				n += min(len(m), maxIn)
			}
			b.SetBytes(int64(n / len(c.msgs)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				Normalize(c.msgs[i%len(c.msgs)])
				i++
			}
		})
	}
}
