package views

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/jsontree"
)

// copyChords are the clipboard chords of every detail view with a JSON
// tree: yv the selected value, yp its path, yy the whole object.
var copyChords = []string{"copy_value", "copy_path", "copy_job"}

// feedCopy feeds a key to a detail view's copy chord. fired names the
// chord completed ("" if none); used says the key belonged to a chord.
func feedCopy(c *Common, chord *keymap.Chord, k tea.KeyMsg) (fired string, used bool) {
	return chord.Feed(c.Keys, copyChords, k.String())
}

// copyFromTree does what a fired copy chord asks: the tree's selected value
// or path, or the whole object (whole, named by wholeLabel). loaded false
// means there is nothing to copy yet.
func copyFromTree(c *Common, tree jsontree.Model, what string, loaded bool, wholeLabel string, whole func() []byte) tea.Cmd {
	if !loaded {
		return ui.Flash(ui.FlashWarn, "nothing to copy yet")
	}
	switch what {
	case "copy_value":
		v := tree.SelectedValue()
		return copyText(c, v, fmt.Sprintf("value (%d bytes)", len(v)))
	case "copy_path":
		return copyText(c, tree.SelectedPath(), "path "+tree.SelectedPath())
	}
	b := whole()
	return copyText(c, string(b), fmt.Sprintf("%s (%d bytes)", wholeLabel, len(b)))
}
