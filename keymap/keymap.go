// Package keymap is the one place where opsdeck's key bindings live: every
// binding is data (a name, a category, keys and help text), help screens are
// generated from it, users remap by name, and conflicts are reported at
// start-up instead of surfacing as a key that silently does the wrong thing.
package keymap

import (
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
)

// Categories group bindings in the help overlay; a binding is active in the
// scope its category names (global keys everywhere, table keys in lists...).
const (
	Global = "global"
	List   = "list"
	Table  = "navigation"
	Detail = "job detail"
	Triage = "triage"
	// Automations are the access-review automation screens' keys.
	Automations = "automations"
	// Socotra are the Socotra screens' keys (events, failed jobs).
	Socotra = "socotra"
	Prompt  = "prompt"
)

// Binding is one named action. Keys may be chords written as two keys with
// no separator, e.g. "yv": the first key arms the chord, the second fires it.
type Binding struct {
	Name     string
	Category string
	// Destructive bindings change something upstream (see destructive).
	Destructive bool
	key.Binding
}

// Map holds every binding by name. It is built once at start-up and passed
// to the views through their shared context; nothing mutates it afterwards.
type Map struct {
	byName map[string]*Binding
	order  []string
}

type def struct {
	name, cat string
	keys      []string
	helpKey   string
	help      string
}

// destructive names the bindings whose action changes something upstream
// (restart, unblock, delete, push...). The view asks for confirmation before
// acting on them, and Rebind refuses to put them on a key people hit by
// accident (accidentKeys). Add the name of every such binding here: a test
// catches one whose name or help says restart/delete/... and is missing.
var destructive = []string{"auto_new", "auto_edit", "auto_delete", "auto_attach", "auto_detach", "restart", "unblock", "push", "socotra_resume", "socotra_delete"}

// accidentKeys are keys a vim, emacs or tmux hand presses without thinking
// (half-page down, kill-line, interrupt, confirm, mark, back): never the
// trigger of a destructive action, even a confirmed one.
var accidentKeys = []string{"ctrl+d", "ctrl+k", "ctrl+c", "enter", " ", "space", "esc", "tab"}

// The default bindings. Destructive ones must be listed in destructive and
// must never sit on an accident key (TestDestructiveDefaults).
var defaults = []def{
	{"quit", Global, []string{"q", "ctrl+c"}, "q", "quit"},
	{"help", Global, []string{"?"}, "?", "toggle help"},
	{"back", Global, []string{"esc"}, "esc", "back / close"},
	{"command", Global, []string{":"}, ":", "command (:jobs, :errors …)"},
	{"resync", Global, []string{"ctrl+r"}, "ctrl+r", "sync now"},

	{"up", Table, []string{"k", "up"}, "k/↑", "up"},
	{"down", Table, []string{"j", "down"}, "j/↓", "down"},
	{"page_up", Table, []string{"pgup", "ctrl+b"}, "pgup", "page up"},
	{"page_down", Table, []string{"pgdown", "ctrl+f"}, "pgdn", "page down"},
	{"half_up", Table, []string{"ctrl+u"}, "ctrl+u", "half page up"},
	{"half_down", Table, []string{"ctrl+d"}, "ctrl+d", "half page down"},
	{"top", Table, []string{"g", "home"}, "g", "first row"},
	{"bottom", Table, []string{"G", "end"}, "G", "last row"},

	{"open", List, []string{"enter"}, "enter", "open"},
	{"filter", List, []string{"/"}, "/", "filter (SCIM)"},
	{"clear_filter", List, []string{"backspace"}, "bksp", "clear filter"},
	{"sort_next", List, []string{">"}, ">", "sort by next column"},
	{"sort_prev", List, []string{"<"}, "<", "sort by previous column"},
	{"sort_reverse", List, []string{"r"}, "r", "reverse sort"},
	{"mark", List, []string{" "}, "space", "mark row (bulk actions)"},
	{"unmark_all", List, []string{"M"}, "M", "clear marks"},
	{"copy_id", List, []string{"c"}, "c", "copy id (OSC52)"},
	{"copy_row", List, []string{"C"}, "C", "copy the row as JSON (OSC52)"},
	{"export_view", List, []string{"x"}, "x", "export this view (CSV / JSON lines)"},
	{"sort_col", List, []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, "1-9", "sort by column N (again: reverse)"},
	{"follow", List, []string{"F"}, "F", "follow the newest events (tail -f); moving pauses"},

	{"toggle", Detail, []string{"e", "enter", " "}, "e", "fold/unfold node"},
	{"toggle_all", Detail, []string{"E"}, "E", "fold/unfold all"},
	{"expand", Detail, []string{"l", "right"}, "l/→", "expand"},
	{"collapse", Detail, []string{"h", "left"}, "h/←", "collapse / parent"},
	{"search", Detail, []string{"/"}, "/", "search in payloads"},
	{"next_match", Detail, []string{"n"}, "n", "next match"},
	{"prev_match", Detail, []string{"N"}, "N", "previous match"},
	{"copy_value", Detail, []string{"yv"}, "yv", "copy value (OSC52)"},
	{"copy_path", Detail, []string{"yp"}, "yp", "copy JSON path (OSC52)"},
	{"copy_job", Detail, []string{"yy"}, "yy", "copy whole job JSON"},

	{"ack", Triage, []string{"a"}, "a", "acknowledge / un-acknowledge (local mark)"},
	{"next_unacked", Triage, []string{"]"}, "]", "next unacknowledged ERRORED"},
	{"goto_task", Triage, []string{"T"}, "T", "go to the task"},
	{"goto_action", Triage, []string{"A"}, "A", "go to the action"},
	{"restart", Triage, []string{"R"}, "R", "restart task (asks first)"},
	{"unblock", Triage, []string{"B"}, "B", "unblock BLOCKED task: run or abandon (asks first)"},
	{"push", Triage, []string{"P"}, "P", "push a job result (form)"},
	{"pager", Triage, []string{"o"}, "o", "open payload in $PAGER"},
	{"editor", Triage, []string{"v"}, "v", "open payload in $EDITOR (read-only copy)"},

	{"auto_new", Automations, []string{"n"}, "n", "new automation (editor)"},
	{"auto_edit", Automations, []string{"e"}, "e", "edit automation (diff, then save)"},
	{"auto_delete", Automations, []string{"D"}, "D", "delete automation (asks first)"},
	{"auto_attach", Automations, []string{"+"}, "+", "attach to a workflow (asks first)"},
	{"auto_detach", Automations, []string{"-"}, "-", "detach from a workflow (asks first)"},
	{"auto_workflows", Automations, []string{"w"}, "w", "re-read which workflows use it"},
	{"auto_save", Automations, []string{"ctrl+s"}, "ctrl+s", "editor: review the diff, then save"},
	{"socotra_resume", Socotra, []string{"R"}, "R", "resume failed job(s) (asks first)"},
	{"socotra_delete", Socotra, []string{"D"}, "D", "delete failed job(s) (asks first)"},
	{"socotra_request", Socotra, []string{"s"}, "s", "all events of the same request"},
	{"socotra_schedules", Socotra, []string{"p"}, "p", "scheduled events of the policy"},

	{"accept", Prompt, []string{"enter"}, "enter", "apply"},
	{"cancel", Prompt, []string{"esc"}, "esc", "cancel"},
	{"complete", Prompt, []string{"tab"}, "tab", "complete"},
	{"history_prev", Prompt, []string{"up"}, "↑", "previous in history"},
	{"history_next", Prompt, []string{"down"}, "↓", "next in history"},
}

// Default returns the built-in bindings.
func Default() *Map {
	m := &Map{byName: map[string]*Binding{}}
	for _, d := range defaults {
		b := &Binding{Name: d.name, Category: d.cat, Destructive: contains(destructive, d.name),
			Binding: key.NewBinding(key.WithKeys(d.keys...), key.WithHelp(d.helpKey, d.help))}
		m.byName[d.name] = b
		m.order = append(m.order, d.name)
	}
	return m
}

// Get returns the binding with the given name. Unknown names are a
// programming error caught by tests, so an empty (never matching) binding is
// returned rather than a panic in the UI.
func (m *Map) Get(name string) key.Binding {
	if b, ok := m.byName[name]; ok {
		return b.Binding
	}
	return key.NewBinding(key.WithDisabled())
}

// IsDestructive reports whether the named binding changes something
// upstream (and so always confirms).
func (m *Map) IsDestructive(name string) bool {
	b, ok := m.byName[name]
	return ok && b.Destructive
}

// Names lists all binding names in definition order.
func (m *Map) Names() []string { return append([]string(nil), m.order...) }

// Rebind replaces the keys of the named bindings, e.g. from a config file:
// {"down": ["j", "ctrl+n"]}. Help text follows the first key. A destructive
// binding is never moved onto an accident key (ctrl+d, ctrl+k, enter...):
// that remap is refused and the binding keeps its keys.
func (m *Map) Rebind(over map[string][]string) error {
	var errs []string
	names := make([]string, 0, len(over))
	for n := range over {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b, ok := m.byName[n]
		if !ok {
			errs = append(errs, fmt.Sprintf("unknown binding %q", n))
			continue
		}
		keys := over[n]
		if len(keys) == 0 {
			errs = append(errs, fmt.Sprintf("binding %q: no keys given", n))
			continue
		}
		if b.Destructive {
			var bad []string
			for _, k := range keys {
				if contains(accidentKeys, k) {
					bad = append(bad, fmt.Sprintf("%q", k))
				}
			}
			if len(bad) > 0 {
				errs = append(errs, fmt.Sprintf("binding %q changes things upstream and may not be on %s, a key that is easily hit by accident (kept %s)", n, strings.Join(bad, ", "), strings.Join(b.Keys(), ", ")))
				continue
			}
		}
		b.Binding = key.NewBinding(key.WithKeys(keys...), key.WithHelp(keys[0], b.Help().Desc))
	}
	if len(errs) > 0 {
		return fmt.Errorf("keymap: %s", strings.Join(errs, "; "))
	}
	return nil
}

// scopes says which categories are live at the same time: a key bound twice
// within one live set is a conflict. Global keys are live everywhere except
// in a prompt, where keys are text.
var scopes = [][]string{
	{Global, Table, List, Triage, Automations},
	{Global, Table, Detail, Triage},
	{Global, Table, List, Socotra},
	{Global, Table, Detail, Socotra},
}

// Conflict is one key bound to two bindings that can be live at once.
type Conflict struct {
	Key, First, Second string // binding names in definition order
}

func (c Conflict) String() string {
	return fmt.Sprintf("key %q is bound to both %q and %q", c.Key, c.First, c.Second)
}

// Conflicts reports keys bound to two actions that can be live at once.
// Identical keys across scopes that are never active together are fine
// (enter opens in a list and folds in the detail view).
func (m *Map) Conflicts() []string {
	var out []string
	for _, c := range m.ConflictList() {
		out = append(out, c.String())
	}
	return out
}

// ConflictList is Conflicts with the binding names kept apart, so a caller
// can say which line of its config file caused one.
func (m *Map) ConflictList() []Conflict {
	var out []Conflict
	seen := map[Conflict]bool{}
	for _, scope := range scopes {
		owner := map[string]string{}
		for _, name := range m.order {
			b := m.byName[name]
			if !contains(scope, b.Category) {
				continue
			}
			for _, k := range b.Keys() {
				if prev, ok := owner[k]; ok && prev != name {
					c := Conflict{Key: k, First: prev, Second: name}
					if !seen[c] {
						seen[c] = true
						out = append(out, c)
					}
					continue
				}
				owner[k] = name
			}
		}
	}
	return out
}

// Section is one block of the generated help.
type Section struct {
	Title string
	Rows  [][2]string // key, description
}

// Help generates help sections for the given categories, in that order.
func (m *Map) Help(categories ...string) []Section {
	var out []Section
	for _, c := range categories {
		s := Section{Title: c}
		for _, name := range m.order {
			b := m.byName[name]
			if b.Category != c || !b.Enabled() {
				continue
			}
			h := b.Help()
			s.Rows = append(s.Rows, [2]string{h.Key, h.Desc})
		}
		if len(s.Rows) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// Chord tracks a two-key sequence such as "yv". Feed every key string; it
// reports the binding name that fired, or whether it is waiting for a second
// key so the view can show "y-" in its status line.
type Chord struct {
	pending string
}

// Pending is the armed first key, "" when none.
func (c *Chord) Pending() string { return c.pending }

// Feed consumes one key. fired is the name of a chord binding completed by
// this key; consumed says the key was used by the chord machinery (armed or
// completed or cancelled an armed chord) and must not be handled further.
func (c *Chord) Feed(m *Map, names []string, k string) (fired string, consumed bool) {
	if c.pending != "" {
		seq := c.pending + k
		c.pending = ""
		for _, n := range names {
			for _, bk := range m.Get(n).Keys() {
				if bk == seq {
					return n, true
				}
			}
		}
		return "", true
	}
	for _, n := range names {
		b := m.Get(n)
		if !b.Enabled() {
			continue
		}
		for _, bk := range b.Keys() {
			if len(bk) == 2 && bk[:1] == k {
				c.pending = k
				return "", true
			}
		}
	}
	return "", false
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
