// Package automation is the one place where the rules of access-review
// Automations (seed 003, API-CONTRACT.md §1.7) live: which filters an
// automation may hold, which action fields go together, the enum names and
// their numbers, and the diff an editor shows before saving. The editor
// (views), the emulator's server-side validation and the CLI all call it, so
// a rule is written once.
//
// It works on the wire type veza.Automation and knows nothing of the store
// or the screen.
package automation

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// Decisions are the action decision names by number (seed 003: UNKNOWN (0)
// … FIXED (4)). UNKNOWN is the protobuf default and means "no decision".
var Decisions = []string{"UNKNOWN", "NONE", "ACCEPTED", "REJECTED", "FIXED"}

// SignedOffStates are the signed_off_state names by number (seed 003:
// UNKNOWN_SIGNED_OFF = 0; NOT_SIGNED_OFF = 1; SIGNED_OFF = 2). The mutable
// filter spells the first one UNKNOWN; both spellings are accepted.
var SignedOffStates = []string{"UNKNOWN_SIGNED_OFF", "NOT_SIGNED_OFF", "SIGNED_OFF"}

// DisplayStyles are the display actions. Their numbers are not published
// (API-CONTRACT.md §1.7), so only the names are accepted.
var DisplayStyles = []string{"HIGHLIGHT", "SUGGEST_ACCEPT", "SUGGEST_REJECT"}

// PreviousDecisions are the values previous.decision takes in a mutable
// filter; PreviousSignedOffStates those of previous.signed_off_state.
var (
	PreviousDecisions       = []string{"RESULT_DECISION_UNKNOWN", "RESULT_DECISION_NONE", "RESULT_DECISION_ACCEPTED", "RESULT_DECISION_REJECTED", "RESULT_DECISION_FIXED"}
	PreviousSignedOffStates = []string{"UNKNOWN", "NOT_SIGNED_OFF", "SIGNED_OFF"}
)

// enum describes one enum field: its names by number, the prefix a name may
// carry, other spellings, and whether numbers are accepted at all.
type enum struct {
	what    string
	names   []string
	prefix  string
	aliases map[string]int
	numbers bool
}

var (
	decisionEnum  = enum{what: "decision", names: Decisions, prefix: "RESULT_DECISION_", numbers: true}
	signedOffEnum = enum{what: "signed_off_state", names: SignedOffStates, aliases: map[string]int{"UNKNOWN": 0}, numbers: true}
	displayEnum   = enum{what: "display_style", names: append([]string{"UNSPECIFIED"}, DisplayStyles...), prefix: "DISPLAY_STYLE_"}
)

// parse returns the canonical name of s and its number. Empty, 0 and the
// zero name all mean unset and yield ("", 0, nil).
func (e enum) parse(s string) (string, int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		switch {
		case n == 0:
			return "", 0, nil
		case !e.numbers:
			return "", 0, fmt.Errorf("%s numbers are not published; use a name: %s", e.what, strings.Join(e.names[1:], ", "))
		case n < 0 || n >= len(e.names):
			return "", 0, fmt.Errorf("%s %d is out of range: use 0-%d or a name (%s)", e.what, n, len(e.names)-1, e.list())
		}
		return e.names[n], n, nil
	}
	up := strings.ToUpper(s)
	up = strings.TrimPrefix(up, e.prefix)
	k := -1
	if a, ok := e.aliases[up]; ok {
		k = a
	}
	for i, n := range e.names {
		if n == up {
			k = i
		}
	}
	switch {
	case k < 0:
		return "", 0, fmt.Errorf("%s %q is not one of %s", e.what, s, e.list())
	case k == 0:
		return "", 0, nil
	}
	return e.names[k], k, nil
}

func (e enum) list() string {
	if !e.numbers {
		return strings.Join(e.names[1:], ", ")
	}
	parts := make([]string, len(e.names))
	for i, n := range e.names {
		parts[i] = fmt.Sprintf("%s (%d)", n, i)
	}
	return strings.Join(parts, ", ")
}

// ParseDecision reads a decision given as a name (any case, with or without
// the RESULT_DECISION_ prefix) or a number 0-4. It returns the canonical
// name and number; UNKNOWN, 0 and "" mean no decision and give "".
func ParseDecision(s string) (name string, number int, err error) { return decisionEnum.parse(s) }

// ParseSignedOffState reads a signed_off_state name (UNKNOWN or
// UNKNOWN_SIGNED_OFF, NOT_SIGNED_OFF, SIGNED_OFF) or number 0-2, like
// ParseDecision.
func ParseSignedOffState(s string) (name string, number int, err error) {
	return signedOffEnum.parse(s)
}

// ParseDisplayStyle reads a display_style name (HIGHLIGHT, SUGGEST_ACCEPT,
// SUGGEST_REJECT, any case, DISPLAY_STYLE_ prefix allowed). Numbers other
// than 0 are refused: their mapping is not published.
func ParseDisplayStyle(s string) (string, error) {
	n, _, err := displayEnum.parse(s)
	return n, err
}

// Label is how an enum value is shown: its canonical name, or the value as
// received when it is not one this build knows (a number the server sent
// for a display style, say), so nothing is hidden.
func Label(v veza.EnumValue, parse func(string) (string, int, error)) string {
	if n, _, err := parse(string(v)); err == nil {
		return n
	}
	return string(v)
}

// DecisionLabel is Label for a decision.
func DecisionLabel(v veza.EnumValue) string { return Label(v, ParseDecision) }

// SignedOffLabel is Label for a signed_off_state.
func SignedOffLabel(v veza.EnumValue) string { return Label(v, ParseSignedOffState) }

// DisplayLabel is Label for a display_style.
func DisplayLabel(v veza.EnumValue) string {
	if n, err := ParseDisplayStyle(string(v)); err == nil {
		return n
	}
	return string(v)
}
