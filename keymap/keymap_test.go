package keymap

import (
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
