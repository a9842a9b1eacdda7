package filter

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		schema *Schema
		src    string
		pos    int
		field  string
		msg    string // exact message, or a prefix ending in "…"
	}{
		{Jobs, `any_changes eq true and state co "x"`, 24, "state", `field "state" does not allow operator "co" (allowed: eq)`},
		{Jobs, `stat eq "ERRORED"`, 0, "stat", `unknown field "stat" for jobs; did you mean state?`},
		{Jobs, `identity eq "x"`, 0, "identity", `unknown field "identity" for jobs; did you mean identity_id or identity_name?`},
		{Jobs, `bogus pr`, 0, "bogus", `unknown field "bogus" for jobs (fields: acked, action_name, action_type, any_changes, …`},
		{Jobs, `state eq "ERRORD"`, 0, "state", `field "state" has no value "ERRORD"; did you mean ERRORED? (valid: INITIAL, RUNNING, COMPLETED, ERRORED, SKIPPED, SCHEDULED, PENDING, BLOCKED, ABANDONED)`},
		{Jobs, `state eq "zzz"`, 0, "state", `field "state" has no value "zzz" (valid: INITIAL, …`},
		{Jobs, `event_source eq "POLICIES"`, 0, "event_source", `field "event_source" has no value "POLICIES"; did you mean POLICY? (valid: POLICY, ACCESS_PLAN)`},
		{Jobs, `action_type eq "SYNC_IDENTITY"`, 0, "action_type", `field "action_type" has no value "SYNC_IDENTITY"; did you mean SYNC_IDENTITIES? …`},
		{Jobs, `state eq 3`, 0, "state", `field "state" expects one of INITIAL, …`},
		{Jobs, `any_changes eq "true"`, 0, "any_changes", `field "any_changes" expects true or false, found "true"`},
		{Jobs, `any_changes eq 1`, 0, "any_changes", `field "any_changes" expects true or false, found 1`},
		{Jobs, `started_at gt "yesterday"`, 0, "started_at", `field "started_at" expects a quoted RFC 3339 time such as "2024-05-01T13:45:00Z", found "yesterday"`},
		{Jobs, `started_at gt "2024-05-01"`, 0, "started_at", `field "started_at" expects a quoted RFC 3339 time …`},
		{Jobs, `started_at gt 1714521600000`, 0, "started_at", `field "started_at" expects a quoted RFC 3339 time such as "2024-05-01T13:45:00Z", found 1714521600000`},
		{Jobs, `started_at eq "2024-05-01T00:00:00Z"`, 0, "started_at", `field "started_at" does not allow operator "eq" (allowed: gt, ge, lt, le)`},
		{Jobs, `started_at eq null`, 0, "started_at", `field "started_at" does not allow operator "eq" (allowed: gt, ge, lt, le); to test for a value use "started_at pr" or "not (started_at pr)"`},
		{Jobs, `started_at gt null`, 0, "started_at", `null can only be compared with eq or ne, not "gt"`},
		{Jobs, `events_created eq 1.5`, 0, "events_created", `field "events_created" expects an integer, found 1.5`},
		{Jobs, `events_created eq 1e30`, 0, "events_created", `field "events_created" expects an integer, found 1e+30`},
		{Jobs, `events_created eq "3"`, 0, "events_created", `field "events_created" expects an integer, found "3" (numbers are not quoted)`},
		{Jobs, `events_created gt 3`, 0, "events_created", `field "events_created" does not allow operator "gt" (allowed: eq)`},
		{Jobs, `job_id eq 5`, 0, "job_id", `field "job_id" expects a string, found 5 (quote it: "5")`},
		{Jobs, `job_id eq true`, 0, "job_id", `field "job_id" expects a string, found true (quote it: "true")`},
		{Jobs, `job_id sw "x"`, 0, "job_id", `field "job_id" does not allow operator "sw" (allowed: eq, co)`},
		{Jobs, `extraction_event_type co "x"`, 0, "extraction_event_type", `field "extraction_event_type" does not allow operator "co" (allowed: eq, ne)`},
		{Jobs, `state eq "ERRORED" or (job_id eq "1" and not (policy_id co "x"))`, 46, "policy_id", `field "policy_id" does not allow operator "co" (allowed: eq)`},
		{Tasks, `priority eq 1.5`, 0, "priority", `field "priority" expects an integer, found 1.5`},
		{Tasks, `workflow sw "x"`, 0, "workflow", `field "workflow" does not allow operator "sw" (allowed: eq, ne, co)`},
		{Actions, `event_source eq "POLICY"`, 0, "event_source", `unknown field "event_source" for actions (fields: …`},
		{Actions, `jobs_started eq -1.25`, 0, "jobs_started", `field "jobs_started" expects an integer, found -1.25`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			n, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for name, check := range map[string]func() error{
				"Validate":  func() error { return Validate(n, tt.schema) },
				"ToSQL":     func() error { _, _, err := ToSQL(n, tt.schema); return err },
				"Predicate": func() error { _, err := Predicate(n, tt.schema); return err },
				"ParseFor":  func() error { _, err := ParseFor(tt.src, tt.schema); return err },
			} {
				err := check()
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: error %v (%T) is not *Error", name, err, err)
				}
				if prefix, ok := strings.CutSuffix(tt.msg, "…"); ok {
					if !strings.HasPrefix(e.Msg, prefix) {
						t.Errorf("%s: msg %q, want prefix %q", name, e.Msg, prefix)
					}
				} else if e.Msg != tt.msg {
					t.Errorf("%s: msg\n  %s\nwant\n  %s", name, e.Msg, tt.msg)
				}
				if e.Pos != tt.pos || e.Field != tt.field {
					t.Errorf("%s: pos %d field %q, want pos %d field %q", name, e.Pos, e.Field, tt.pos, tt.field)
				}
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		schema *Schema
		src    string
	}{
		{Jobs, `state eq "errored"`},
		{Jobs, `STATE eq "Errored"`}, // attribute names are case-insensitive
		{Jobs, `state eq null or state pr`},
		{Tasks, `priority ne null`},
		{Jobs, `action_type eq "sync_identities" and event_source eq "access_plan"`},
		{Jobs, `started_at ge "2024-05-01T00:00:00Z" and completed_at lt "2024-05-01T12:30:00.123+02:00"`},
		{Jobs, `created_at le "2024-05-01t00:00:00.5z"`},
		{Jobs, `events_created eq 0 and events_created eq -3 and events_created eq 1e3`},
		{Jobs, `any_changes eq false`},
		{Jobs, `extraction_event_type ne "FULL"`},
		{Jobs, `error_message co "timeout" and not (error_message eq null)`},
		{Tasks, `priority ge 1 and priority ne 5 and dry_run eq true and id co "abc" and workflow ne "x"`},
		{Tasks, `t_created_at gt "2024-05-01T00:00:00Z" and scheduled_at lt "2025-01-01T00:00:00Z"`},
		{Actions, `jobs_started eq 2 and action_name co "sync" and identity_id ew "42"`},
	}
	for _, tt := range tests {
		if _, err := ParseFor(tt.src, tt.schema); err != nil {
			t.Errorf("%s: %v", tt.src, err)
		}
	}
	// pr is allowed on every field of every schema.
	for _, s := range []*Schema{Tasks, Actions, Jobs} {
		for _, name := range s.Names() {
			if _, err := ParseFor(name+" pr", s); err != nil {
				t.Errorf("%s: %s pr: %v", s.Entity, name, err)
			}
		}
	}
}

func TestValidateHandBuilt(t *testing.T) {
	cmp := &Compare{Attr: "state", Op: "EQ", Value: Value{Kind: ValueString, Str: "RUNNING"}}
	if err := Validate(cmp, Jobs); err != nil {
		t.Errorf("upper-case operator: %v", err)
	}
	bad := []Node{
		&Compare{Attr: "state", Op: "is", Value: Value{Kind: ValueString, Str: "RUNNING"}},
		&Compare{Attr: "state", Op: OpEq},
		&Compare{Attr: "state", Op: OpPr, Value: Value{Kind: ValueString, Str: "x"}},
		&Logical{Op: "xor", Left: cmp, Right: cmp},
		&Logical{Op: "and", Left: cmp},
		&Not{},
		&Not{X: (*Compare)(nil)},
	}
	for _, n := range bad {
		if err := Validate(n, Jobs); err == nil {
			t.Errorf("Validate(%s) accepted it", sexpr(n))
		}
	}
	if err := Validate(cmp, nil); err == nil {
		t.Error("Validate with a nil schema succeeded")
	}
}

// TestSchemas pins the schemas to API-CONTRACT.md §1.2-1.4 and seeds 000/001.
func TestSchemas(t *testing.T) {
	type spec struct{ ops, kind string }
	str := func(ops string) spec { return spec{ops, "string"} }
	fold := func(ops string) spec { return spec{ops, "string fold"} }
	enum := spec{"eq", "enum fold"}
	tm := spec{"gt ge lt le", "time"}
	boolean := spec{"eq", "bool"}
	want := map[*Schema]map[string]spec{
		Jobs: {
			"state": enum, "job_id": str("eq co"), "policy_task": str("eq"), "action_name": fold("eq co"),
			"action_type": enum, "policy_id": str("eq"), "workflow_name": str("eq co"),
			"identity_id": str("eq co sw ew"), "identity_name": fold("eq co sw ew"), "event_source": enum,
			"event_source_id": str("eq"), "extraction_event": str("eq"), "extraction_event_type": fold("eq ne"),
			"started_at": tm, "completed_at": tm, "created_at": tm, "any_changes": boolean,
			"events_created": {"eq", "integer"}, "error_message": fold("eq co"),
			"error_signature": str("eq ne co"), "acked": boolean,
		},
		Actions: {
			"state": enum, "policy_task": str("eq"), "action_name": fold("eq co"), "action_type": enum,
			"policy_id": str("eq"), "workflow_name": str("eq co"), "identity_id": str("eq co sw ew"),
			"identity_name": fold("eq co sw ew"), "started_at": tm, "completed_at": tm, "any_changes": boolean,
			"extraction_event": str("eq"), "jobs_started": {"eq", "integer"}, "error_message": fold("eq co"),
		},
		Tasks: {
			"state": enum, "policy_id": str("eq"), "workflow": str("eq ne co"), "identity_id": str("eq co sw ew"),
			"identity_name": fold("eq co sw ew"), "started_at": tm, "completed_at": tm, "scheduled_at": tm,
			"t_created_at": tm, "t_updated_at": tm, "any_changes": boolean, "dry_run": boolean,
			"priority": {"eq ne gt ge lt le", "integer"}, "id": str("eq co"), "error_message": fold("eq co"),
			"error_signature": str("eq ne co"), "acked": boolean,
		},
	}
	for s, fields := range want {
		if len(s.Fields) != len(fields) {
			t.Errorf("%s: %d fields, want %d", s.Entity, len(s.Fields), len(fields))
		}
		names := s.Names()
		if !slices.IsSorted(names) || len(names) != len(s.Fields) {
			t.Errorf("%s: Names() = %v", s.Entity, names)
		}
		for _, f := range s.Fields {
			w, ok := fields[f.Name]
			if !ok {
				t.Errorf("%s: unexpected field %s", s.Entity, f.Name)
				continue
			}
			kind := f.Kind.String()
			if f.Fold {
				kind += " fold"
			}
			if got := strings.ReplaceAll(joinOps(f.Ops), ",", ""); got != w.ops || kind != w.kind {
				t.Errorf("%s.%s: ops %q kind %q, want %q %q", s.Entity, f.Name, got, kind, w.ops, w.kind)
			}
			if f.Column != f.Name && f.Name != "acked" { // acked is computed (ackedField)
				t.Errorf("%s.%s: Column %q", s.Entity, f.Name, f.Column)
			}
			for _, op := range f.Ops {
				if !kindSupports(f.Kind, op) {
					t.Errorf("%s.%s: operator %s makes no sense for %s", s.Entity, f.Name, op, f.Kind)
				}
			}
			if (f.Kind == KindEnum) != (len(f.Values) > 0) {
				t.Errorf("%s.%s: Values %v for kind %s", s.Entity, f.Name, f.Values, f.Kind)
			}
			if got, ok := s.Field(strings.ToUpper(f.Name)); !ok || got.Name != f.Name {
				t.Errorf("%s: Field(%q) not found case-insensitively", s.Entity, strings.ToUpper(f.Name))
			}
		}
	}
	if len(actionTypeValues) != 15 || len(stateValues) != 9 {
		t.Errorf("enum lists: %d action types, %d states", len(actionTypeValues), len(stateValues))
	}
	if _, ok := Jobs.Field("nope"); ok {
		t.Error("Field(nope) found")
	}
}
