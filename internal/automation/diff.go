package automation

import (
	"encoding/json"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// Pretty is a as indented JSON, the form Diff compares and editors show.
func Pretty(a veza.Automation) string {
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil { // cannot happen: the type has no unmarshalable members
		return err.Error()
	}
	return string(b) + "\n"
}

// Diff is a unified diff of old and new as pretty JSON ("" when they are
// the same): what a PUT of new changes. Labels name the automation.
func Diff(old, new veza.Automation) string {
	a, b := Pretty(old), Pretty(new)
	if a == b {
		return ""
	}
	label := new.ID
	if label == "" {
		label = old.ID
	}
	if label == "" {
		label = "new automation"
	}
	return udiff.Unified("a/"+label, "b/"+label, a, b)
}

// PrettyFilter lays a SCIM filter out one comparison per line, with the
// operator that joins it first and groups indented, for a detail pane. A
// filter that does not parse is returned as given.
func PrettyFilter(src string) string {
	n, err := filter.Parse(src)
	if err != nil || n == nil {
		return strings.TrimSpace(src)
	}
	return strings.Join(filterLines(n), "\n")
}

const indent = "  "

func filterLines(n filter.Node) []string {
	switch n := n.(type) {
	case *filter.Logical:
		op := strings.ToLower(n.Op)
		var out []string
		for i, t := range flatten(n, op) {
			sub := filterLines(t)
			if l, ok := t.(*filter.Logical); ok && l != nil && len(sub) > 1 {
				// A nested chain of the other operator: parenthesise it.
				sub = append(append([]string{"("}, indentAll(sub)...), ")")
			}
			if i > 0 {
				sub[0] = op + " " + sub[0]
			}
			out = append(out, sub...)
		}
		return out
	case *filter.Not:
		sub := filterLines(n.X)
		if len(sub) == 1 {
			return []string{"not (" + sub[0] + ")"}
		}
		return append(append([]string{"not ("}, indentAll(sub)...), ")")
	case nil:
		return nil
	}
	return []string{n.String()}
}

// flatten turns a left- or right-leaning chain of one operator into its terms.
func flatten(n filter.Node, op string) []filter.Node {
	if l, ok := n.(*filter.Logical); ok && l != nil && strings.EqualFold(l.Op, op) {
		return append(flatten(l.Left, op), flatten(l.Right, op)...)
	}
	return []filter.Node{n}
}

func indentAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = indent + l
	}
	return out
}
