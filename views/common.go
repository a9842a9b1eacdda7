// Package views holds opsdeck's screens: each reads the local cache through
// the store (so online and offline are one code path) and renders with the
// ui widgets. Writes to the API are not here yet; when they come they go
// through the client and write their result back to the store.
package views

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/socotra"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
)

// Common is the context every view shares (soft-serve style): no
// package-level mutable state anywhere else.
type Common struct {
	Theme *ui.Theme
	Keys  *keymap.Map
	Store *store.Store
	Log   *slog.Logger
	// Copy puts text on the user's clipboard (OSC52 in production).
	Copy func(string) error
	// Now is the clock, pinned in golden tests.
	Now func() time.Time
	// Loc is the time zone timestamps are shown in.
	Loc *time.Location
	// Timer schedules a delayed message (tea.Tick; nil = tea.Tick). Tests
	// replace it so they never sleep.
	Timer ui.Timer

	// Veza is the API client of the current profile; nil when offline or
	// the profile is not a Veza one. Views that write (restart, push,
	// automations) go through it and write the result back to the Store.
	Veza *veza.Client
	// Socotra is the Socotra client of the current profile.
	Socotra *socotra.Client // nil when offline or not a Socotra profile
	// ReadOnly disables every action that would change anything upstream
	// (--read-only); views say so instead of offering the action.
	ReadOnly bool

	ids atomic.Int64
}

// nextID gives each view a unique id so async replies find their view.
func (c *Common) nextID() int64 { return c.ids.Add(1) }

// SyncedMsg tells views that a sync committed new rows of Entity.
type SyncedMsg struct {
	Entity string
	Rows   int
}

// reloadThrottle bounds how often a list re-queries while a sync streams
// pages in: often enough to feel live, rare enough to stay cheap.
const reloadThrottle = 700 * time.Millisecond

type reloadTick struct{ id int64 }

// throttle spaces out the reloads a burst of synced pages asks for: the
// first runs at once, the rest collapse into one reloadTick after the
// interval. A view keeps one, calls ran() from its reload and fired() when
// its tick arrives.
type throttle struct {
	every   time.Duration
	last    time.Time
	pending bool
}

// request returns reload() now, or a reloadTick for view id once the
// interval has passed since the last reload (nil when one is on its way).
func (t *throttle) request(c *Common, id int64, reload func() tea.Cmd) tea.Cmd {
	if t.pending {
		return nil
	}
	since := time.Since(t.last)
	if since >= t.every {
		return reload()
	}
	t.pending = true
	return c.after(t.every-since, func(time.Time) tea.Msg { return reloadTick{id} })
}

func (t *throttle) ran()   { t.last = time.Now() }
func (t *throttle) fired() { t.pending = false }

func (c *Common) after(d time.Duration, fn func(time.Time) tea.Msg) tea.Cmd {
	if c.Timer != nil {
		return c.Timer(d, fn)
	}
	return tea.Tick(d, fn)
}

func (c *Common) fmtTime(ms int64) string {
	if ms == 0 {
		return "—"
	}
	t := time.UnixMilli(ms)
	if c.Loc != nil {
		t = t.In(c.Loc)
	}
	return t.Format("2006-01-02 15:04:05")
}

func (c *Common) fmtAgo(ms int64) string {
	if ms == 0 {
		return "—"
	}
	return humanAgo(c.Now().Sub(time.UnixMilli(ms)))
}

func humanAgo(d time.Duration) string {
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

// thousands formats n with thin separators: 1,234,567.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CanWrite says whether an upstream action is possible now, and if not,
// why, in words fit for a flash message.
func (c *Common) CanWrite() (bool, string) {
	switch {
	case c.ReadOnly:
		return false, "read-only mode (--read-only): actions are disabled"
	case c.Veza == nil:
		return false, "offline: actions need a connection to the tenant"
	}
	return true, ""
}
