package ui

import (
	"reflect"
	"runtime/debug"

	tea "github.com/charmbracelet/bubbletea"
)

// Commands run on goroutines of bubbletea's own: a panic there never
// passes through App.Update's recover, and bubbletea's answer is to kill
// the program and print the stack over the user's screen. So every
// command the App hands to bubbletea (from Init and Update, whichever view
// made it) is guarded: a panic becomes a cmdPanicMsg, which Update turns
// into the same crash report and flash as a panic in Update, and the UI
// goes on. The members of tea.Batch and tea.Sequence are commands too:
// they are guarded when the batch (or sequence) is opened.

// cmdPanicMsg is a panic recovered while a command ran.
type cmdPanicMsg struct {
	value  any
	stack  []byte
	origin reflect.Type // of the message whose Update issued the command; nil for Init
}

// cmdType is tea.Cmd's type: a message of a slice type with this element
// (tea.BatchMsg, bubbletea's unexported sequenceMsg) is a list of commands
// bubbletea will run.
var cmdType = reflect.TypeFor[tea.Cmd]()

// guard wraps cmd so that a panic while it (or any command it returns in a
// batch or sequence) runs comes back as a cmdPanicMsg. origin is the
// message being handled when cmd was made (nil for Init).
func guard(cmd tea.Cmd, origin tea.Msg) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return guardFrom(cmd, reflect.TypeOf(origin)) // no formatting on the hot path
}

func guardFrom(cmd tea.Cmd, origin reflect.Type) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				msg = cmdPanicMsg{value: r, stack: debug.Stack(), origin: origin}
			}
		}()
		return guardMembers(cmd(), origin)
	}
}

// guardMembers guards the commands of a batch or sequence message (keeping
// its type, which tells bubbletea how to run them); other messages are
// returned as they are.
func guardMembers(msg tea.Msg, origin reflect.Type) tea.Msg {
	if b, ok := msg.(tea.BatchMsg); ok {
		out := make(tea.BatchMsg, len(b))
		for i, c := range b {
			out[i] = guardFrom(c, origin)
		}
		return out
	}
	t := reflect.TypeOf(msg)
	if t == nil || t.Kind() != reflect.Slice || t.Elem() != cmdType {
		return msg
	}
	in := reflect.ValueOf(msg)
	out := reflect.MakeSlice(t, in.Len(), in.Len())
	for i := range in.Len() {
		c, _ := in.Index(i).Interface().(tea.Cmd)
		out.Index(i).Set(reflect.ValueOf(guardFrom(c, origin)))
	}
	return out.Interface()
}
