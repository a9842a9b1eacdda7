package keymap

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestDefaultHasNoConflicts(t *testing.T) {
	if c := Default().Conflicts(); len(c) > 0 {
		t.Fatalf("default keymap conflicts: %v", c)
	}
}

func TestConflictDetected(t *testing.T) {
	m := Default()
	if err := m.Rebind(map[string][]string{"down": {"k"}}); err != nil {
		t.Fatal(err)
	}
	c := m.Conflicts()
	if len(c) == 0 || !strings.Contains(c[0], `"k"`) {
		t.Fatalf("expected a conflict on k, got %v", c)
	}
}

func TestRebindUnknownAndEmpty(t *testing.T) {
	m := Default()
	err := m.Rebind(map[string][]string{"nope": {"x"}, "up": nil})
	if err == nil || !strings.Contains(err.Error(), `unknown binding "nope"`) || !strings.Contains(err.Error(), `"up": no keys`) {
		t.Fatalf("err = %v", err)
	}
}

func TestRebindChangesKeysAndHelp(t *testing.T) {
	m := Default()
	if err := m.Rebind(map[string][]string{"down": {"ctrl+n", "j"}}); err != nil {
		t.Fatal(err)
	}
	b := m.Get("down")
	if b.Keys()[0] != "ctrl+n" || b.Help().Key != "ctrl+n" || b.Help().Desc != "down" {
		t.Fatalf("rebind: %v %v", b.Keys(), b.Help())
	}
}

func TestHelpGeneratedFromBindings(t *testing.T) {
	m := Default()
	secs := m.Help(Global, Detail)
	if len(secs) != 2 || secs[0].Title != Global || secs[1].Title != Detail {
		t.Fatalf("sections: %+v", secs)
	}
	var found bool
	for _, r := range secs[1].Rows {
		if r[0] == "yp" {
			found = true
		}
	}
	if !found {
		t.Fatal("copy-path chord missing from detail help")
	}
	m.Rebind(map[string][]string{"copy_path": {"yP"}})
	for _, r := range m.Help(Detail)[0].Rows {
		if r[0] == "yp" {
			t.Fatal("help not regenerated after rebind")
		}
	}
}

func TestGetUnknownNeverMatches(t *testing.T) {
	if Default().Get("missing").Enabled() {
		t.Fatal("unknown binding must be disabled")
	}
}

func TestChord(t *testing.T) {
	m := Default()
	var c Chord
	names := []string{"copy_value", "copy_path", "copy_job"}
	if f, used := c.Feed(m, names, "j"); f != "" || used {
		t.Fatalf("plain key consumed: %q %v", f, used)
	}
	if f, used := c.Feed(m, names, "y"); f != "" || !used || c.Pending() != "y" {
		t.Fatalf("y should arm: %q %v %q", f, used, c.Pending())
	}
	if f, used := c.Feed(m, names, "p"); f != "copy_path" || !used || c.Pending() != "" {
		t.Fatalf("yp: %q %v", f, used)
	}
	c.Feed(m, names, "y")
	if f, used := c.Feed(m, names, "x"); f != "" || !used || c.Pending() != "" {
		t.Fatalf("yx should cancel: %q %v", f, used)
	}
}

// upstreamVerbs are words that say a binding changes something upstream.
var upstreamVerbs = regexp.MustCompile(`(?i)\b(restart|unblock|abandon|delete|discard|resume|detach|attach|push|rerun|retry)`)

func TestDestructiveDefaults(t *testing.T) {
	m := Default()
	for _, d := range defaults {
		if upstreamVerbs.MatchString(d.name+" "+d.help) && !m.IsDestructive(d.name) {
			t.Errorf("binding %q (%q) looks like it changes things upstream: add it to destructive", d.name, d.help)
		}
		if !m.IsDestructive(d.name) {
			continue
		}
		for _, k := range d.keys {
			if contains(accidentKeys, k) {
				t.Errorf("destructive binding %q is on accident key %q", d.name, k)
			}
		}
	}
	for _, n := range destructive {
		if _, ok := m.byName[n]; !ok {
			t.Errorf("destructive lists %q, which is no binding", n)
		}
	}
}

func TestRebindRefusesDestructiveOnAccidentKeys(t *testing.T) {
	m := Default()
	// Stand-in for a destructive binding (restart, ...) whatever the
	// defaults hold today.
	b := m.byName["resync"]
	b.Destructive = true
	for _, k := range []string{"ctrl+d", "ctrl+k", "enter"} {
		err := m.Rebind(map[string][]string{"resync": {"R", k}})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("may not be on %q", k)) {
			t.Fatalf("%s: err = %v", k, err)
		}
		if got := m.Get("resync").Keys(); fmt.Sprint(got) != "[ctrl+r]" {
			t.Fatalf("refused remap still changed the keys: %v", got)
		}
	}
	if err := m.Rebind(map[string][]string{"resync": {"R"}}); err != nil {
		t.Fatal(err)
	}
	if !m.IsDestructive("resync") || m.Get("resync").Keys()[0] != "R" {
		t.Fatal("a safe remap must apply and keep the flag")
	}
	// Non-destructive bindings may use those keys.
	if err := m.Rebind(map[string][]string{"half_down": {"ctrl+d"}}); err != nil {
		t.Fatal(err)
	}
}

func TestConflictListNamesBothBindings(t *testing.T) {
	m := Default()
	if err := m.Rebind(map[string][]string{"top": {"j"}}); err != nil {
		t.Fatal(err)
	}
	cs := m.ConflictList()
	if len(cs) != 1 || cs[0] != (Conflict{Key: "j", First: "down", Second: "top"}) {
		t.Fatalf("%v", cs)
	}
	if m.Conflicts()[0] != `key "j" is bound to both "down" and "top"` {
		t.Fatal(m.Conflicts())
	}
}
