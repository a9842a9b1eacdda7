package automation

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// Field names of violations: the JSON path of the field, as the server names
// it in field_violations, so a server's answer and ours land on the same
// editor field.
const (
	FieldName               = "name"
	FieldDescription        = "description"
	FieldFilter             = "criteria.filter"
	FieldMutableFilter      = "criteria.mutable_filter"
	FieldAction             = "action"
	FieldDecision           = "action.decision"
	FieldSignedOffState     = "action.signed_off_state"
	FieldNotes              = "action.notes"
	FieldReviewerAssignment = "action.reviewer_assignment"
	FieldDisplayStyle       = "action.display_style"
	FieldDisplayText        = "action.display_text"
	FieldHighlightColor     = "action.highlight_color"
)

// Fields lists every field a violation may name, in editor order.
var Fields = []string{FieldName, FieldDescription, FieldFilter, FieldMutableFilter, FieldAction,
	FieldDecision, FieldSignedOffState, FieldNotes, FieldReviewerAssignment,
	FieldDisplayStyle, FieldDisplayText, FieldHighlightColor}

// MaxNameBytes bounds a name (the emulator and, we assume, the API).
const MaxNameBytes = 256

// Violation is one problem with one field.
type Violation = veza.FieldViolation

// ValidationError carries the violations of an automation that failed
// Validate, for callers that want an error.
type ValidationError struct{ Violations []Violation }

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid automation: ")
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.Field + ": " + v.Description)
	}
	return b.String()
}

// Err returns nil when vs is empty, else a *ValidationError.
func Err(vs []Violation) error {
	if len(vs) == 0 {
		return nil
	}
	return &ValidationError{Violations: vs}
}

var (
	hexColor  = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)
	aliasName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// mutableSchema is what criteria.mutable_filter may refer to, with the
// values seed 003 documents.
var mutableSchema = &filter.Schema{Entity: "criteria.mutable_filter", Fields: []filter.Field{
	{Name: "previous.decision", Column: "decision", Kind: filter.KindEnum, Ops: []filter.Op{filter.OpEq, filter.OpNe}, Fold: true,
		Values: PreviousDecisions},
	{Name: "previous.notes", Column: "notes", Kind: filter.KindString,
		Ops: []filter.Op{filter.OpEq, filter.OpNe, filter.OpCo, filter.OpSw, filter.OpEw}},
	{Name: "previous.signed_off_state", Column: "signed_off_state", Kind: filter.KindEnum, Ops: []filter.Op{filter.OpEq, filter.OpNe}, Fold: true,
		Values: PreviousSignedOffStates},
}}

// MutableFields are the attributes a mutable filter may name.
func MutableFields() []string { return mutableSchema.Names() }

// CheckFilter checks criteria.filter: SCIM syntax (store/filter), and every
// attribute is source.<attr>, destination.<attr> or <alias>.<attr> for a
// joined node (idp.department), never joined_nodes.<alias>.<attr> and never
// previous.* (that belongs in the mutable filter). Blank is allowed.
func CheckFilter(src string) error {
	if !utf8.ValidString(src) {
		return errInvalidUTF8 // JSON would silently turn it into U+FFFD
	}
	n, err := filter.Parse(src)
	if err != nil {
		return err
	}
	return walkCompares(n, func(c *filter.Compare) error {
		prefix, attr, ok := strings.Cut(c.Attr, ".")
		at := func(format string, args ...any) error {
			return &filter.Error{Pos: c.Pos, Field: c.Attr, Msg: fmt.Sprintf(format, args...)}
		}
		switch p := strings.ToLower(prefix); {
		case !ok || attr == "" || strings.HasSuffix(attr, ".") || !aliasName.MatchString(prefix):
			return at("%q must be source.<attribute>, destination.<attribute> or <alias>.<attribute> of a joined node", c.Attr)
		case p == "joined_nodes":
			return at("%q: refer to a joined node by its alias (%s), not joined_nodes.<alias>", c.Attr, attr)
		case p == "previous":
			return at("%q: previous.* belongs in criteria.mutable_filter", c.Attr)
		}
		return nil
	})
}

// CheckMutableFilter checks criteria.mutable_filter: SCIM over
// previous.decision (RESULT_DECISION_…), previous.notes and
// previous.signed_off_state (UNKNOWN, NOT_SIGNED_OFF, SIGNED_OFF) only.
// Blank is allowed.
func CheckMutableFilter(src string) error {
	if !utf8.ValidString(src) {
		return errInvalidUTF8
	}
	_, err := filter.ParseFor(src, mutableSchema)
	return err
}

func walkCompares(n filter.Node, fn func(*filter.Compare) error) error {
	switch n := n.(type) {
	case *filter.Logical:
		if n == nil {
			return nil
		}
		if err := walkCompares(n.Left, fn); err != nil {
			return err
		}
		return walkCompares(n.Right, fn)
	case *filter.Not:
		if n == nil {
			return nil
		}
		return walkCompares(n.X, fn)
	case *filter.Compare:
		if n == nil {
			return nil
		}
		return fn(n)
	}
	return nil
}

// CheckColor checks a highlight colour: "" (the default colour) or #RRGGBB.
func CheckColor(s string) error {
	if s == "" || hexColor.MatchString(s) {
		return nil
	}
	return fmt.Errorf("highlight_color must be a 6-digit hex colour #RRGGBB (e.g. #FF6B35), got %q", s)
}

// ParseColor returns the red, green and blue of a #RRGGBB colour.
func ParseColor(s string) (r, g, b uint8, err error) {
	if !hexColor.MatchString(s) {
		return 0, 0, 0, errors.New("not a #RRGGBB colour")
	}
	var v [3]uint8
	for i := range v {
		var x uint8
		for _, c := range s[1+2*i : 3+2*i] {
			x <<= 4
			switch {
			case c >= '0' && c <= '9':
				x |= uint8(c - '0')
			case c >= 'a' && c <= 'f':
				x |= uint8(c - 'a' + 10)
			default:
				x |= uint8(c - 'A' + 10)
			}
		}
		v[i] = x
	}
	return v[0], v[1], v[2], nil
}

// errInvalidUTF8: the API speaks JSON, which would replace the bad bytes
// with U+FFFD, so what is saved would differ from what was checked.
var errInvalidUTF8 = errors.New("not valid UTF-8 text")

// CheckName checks the name: required, valid UTF-8, at most MaxNameBytes.
func CheckName(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return errors.New("name is required")
	case !utf8.ValidString(s):
		return errInvalidUTF8
	case len(s) > MaxNameBytes:
		return fmt.Errorf("name is %d bytes long; at most %d", len(s), MaxNameBytes)
	}
	return nil
}

// Validate returns every rule a violates (nil when it is valid).
func Validate(a veza.Automation) []Violation {
	_, vs := Normalize(a)
	return vs
}

// Normalize returns a in canonical form (trimmed name, enum names instead
// of numbers or other spellings, unset enums empty) together with the rules
// it violates. Enums that do not parse are kept as given.
func Normalize(a veza.Automation) (veza.Automation, []Violation) {
	var vs []Violation
	bad := func(field string, err error) {
		vs = append(vs, Violation{Field: field, Description: err.Error()})
	}
	out := a
	out.Name = strings.TrimSpace(a.Name)
	if err := CheckName(a.Name); err != nil {
		bad(FieldName, err)
	}
	if err := CheckFilter(a.Criteria.Filter); err != nil {
		bad(FieldFilter, err)
	}
	if err := CheckMutableFilter(a.Criteria.MutableFilter); err != nil {
		bad(FieldMutableFilter, fmt.Errorf("%w (previous.decision, previous.notes and previous.signed_off_state only)", err))
	}

	act := &out.Action
	decision, _, err := ParseDecision(string(act.Decision))
	if err != nil {
		bad(FieldDecision, err)
	} else {
		act.Decision = veza.EnumValue(decision)
	}
	signed, _, err := ParseSignedOffState(string(act.SignedOffState))
	if err != nil {
		bad(FieldSignedOffState, err)
	} else {
		act.SignedOffState = veza.EnumValue(signed)
	}
	style, err := ParseDisplayStyle(string(act.DisplayStyle))
	if err != nil {
		bad(FieldDisplayStyle, err)
	} else {
		act.DisplayStyle = veza.EnumValue(style)
	}
	if act.ReviewerAssignment.IsZero() {
		act.ReviewerAssignment = nil
	}

	display := act.DisplayStyle != ""
	if display {
		// Seed 003: "When using display_style actions, you cannot set
		// decision, signed_off_state, notes, or reviewer_assignment".
		kind := string(act.DisplayStyle)
		if act.Decision != "" {
			bad(FieldDecision, fmt.Errorf("a display action (%s) may not set decision", kind))
		}
		if act.SignedOffState != "" {
			bad(FieldSignedOffState, fmt.Errorf("a display action (%s) may not set signed_off_state", kind))
		}
		if act.Notes != "" {
			bad(FieldNotes, fmt.Errorf("a display action (%s) may not set notes; use display_text", kind))
		}
		if act.ReviewerAssignment != nil {
			bad(FieldReviewerAssignment, fmt.Errorf("a display action (%s) may not set reviewer_assignment", kind))
		}
	} else {
		if act.DisplayText != "" {
			bad(FieldDisplayText, errors.New("display_text belongs to a display action (set display_style); a modification action may not set it"))
		}
		if act.ReviewerAssignment != nil {
			bad(FieldReviewerAssignment, errors.New("reviewer assignment is not supported by the preview API"))
		}
	}
	if c := act.HighlightColor; c != "" {
		if err := CheckColor(c); err != nil {
			bad(FieldHighlightColor, err)
		} else if act.DisplayStyle != "HIGHLIGHT" && !hasField(vs, FieldDisplayStyle) {
			bad(FieldHighlightColor, errors.New("highlight_color only applies to display_style HIGHLIGHT"))
		}
	}
	modification := act.Decision != "" || act.SignedOffState != "" || act.Notes != "" || act.ReviewerAssignment != nil
	if !modification && !display && !hasField(vs, FieldDecision, FieldSignedOffState, FieldDisplayStyle) {
		bad(FieldAction, errors.New("the action does nothing: set a decision, signed_off_state or notes, or a display_style"))
	}
	return out, vs
}

func hasField(vs []Violation, fields ...string) bool {
	for _, v := range vs {
		for _, f := range fields {
			if v.Field == f {
				return true
			}
		}
	}
	return false
}

// Kind is what an automation's action does.
type Kind string

const (
	KindNone          Kind = ""             // an action that does nothing (invalid)
	KindModification  Kind = "MODIFICATION" // decision, signed_off_state, notes
	KindHighlight     Kind = "HIGHLIGHT"
	KindSuggestAccept Kind = "SUGGEST_ACCEPT"
	KindSuggestReject Kind = "SUGGEST_REJECT"
)

// Kinds are the kinds an editor offers, modification first.
var Kinds = []Kind{KindModification, KindHighlight, KindSuggestAccept, KindSuggestReject}

// KindOf says what a's action is. A display style this build does not know
// is returned as received.
func KindOf(a veza.Automation) Kind {
	act := a.Action
	if act.DisplayStyle != "" {
		if s, err := ParseDisplayStyle(string(act.DisplayStyle)); err == nil {
			if s != "" {
				return Kind(s)
			}
		} else {
			return Kind(act.DisplayStyle)
		}
	}
	d, _, _ := ParseDecision(string(act.Decision))
	s, _, _ := ParseSignedOffState(string(act.SignedOffState))
	if d != "" || s != "" || act.Notes != "" || !act.ReviewerAssignment.IsZero() {
		return KindModification
	}
	return KindNone
}

// IsDisplay reports whether k is one of the display actions.
func (k Kind) IsDisplay() bool {
	return k == KindHighlight || k == KindSuggestAccept || k == KindSuggestReject
}
