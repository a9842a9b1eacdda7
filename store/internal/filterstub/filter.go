// Package filterstub is a TEMPORARY stand-in for store/filter while that
// package is being written; it will be deleted once store/filter lands.
package filterstub

import (
	"fmt"
	"strings"
)

type Kind int

const (
	KindString Kind = iota
	KindEnum
	KindBool
	KindInt
	KindTime
)

type Field struct {
	Name, Column string
	Kind         Kind
}

type Schema struct {
	Entity string
	Fields []Field
}

func (s *Schema) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

type Node interface{ String() string }

type Compare struct {
	Field, Op string
	Value     any
}

func (c *Compare) String() string { return fmt.Sprintf("%s %s %v", c.Field, c.Op, c.Value) }

func ToSQL(n Node, s *Schema) (string, []any, error) {
	if n == nil {
		return "", nil, nil
	}
	c := n.(*Compare)
	f, ok := s.Field(c.Field)
	if !ok {
		return "", nil, fmt.Errorf("unknown field %q", c.Field)
	}
	ops := map[string]string{"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
	return f.Column + " " + ops[c.Op] + " ?", []any{c.Value}, nil
}

func mk(entity string, spec string) *Schema {
	s := &Schema{Entity: entity}
	for _, w := range strings.Fields(spec) {
		name, kind, _ := strings.Cut(w, ":")
		k := KindString
		switch kind {
		case "b":
			k = KindBool
		case "i":
			k = KindInt
		case "t":
			k = KindTime
		case "e":
			k = KindEnum
		}
		s.Fields = append(s.Fields, Field{Name: name, Column: name, Kind: k})
	}
	return s
}

var (
	Jobs    = mk("jobs", "state:e job_id policy_task action_name action_type:e policy_id workflow_name identity_id identity_name event_source:e event_source_id extraction_event extraction_event_type started_at:t completed_at:t created_at:t any_changes:b events_created:i error_message")
	Tasks   = mk("tasks", "state:e policy_id workflow identity_id identity_name started_at:t completed_at:t scheduled_at:t t_created_at:t t_updated_at:t any_changes:b dry_run:b priority:i error_message")
	Actions = mk("actions", "state:e policy_task action_name action_type:e policy_id workflow_name identity_id identity_name started_at:t completed_at:t any_changes:b extraction_event jobs_started:i error_message")
)
