package views

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/sanitize"
	"github.com/opsdeck/opsdeck/ui/vtable"
)

// The :timeline screen: for one time window, everything that went wrong
// that the cache knows about, in one chronological list, newest first:
// ERRORED jobs and tasks grouped by error signature per five-minute bucket
// (three hundred jobs failing the same way read as one line), system events
// of severity WARNING or ERROR, and Socotra failed scheduled jobs. So an
// Insight Point outage event shows right below the burst of failed jobs it
// caused. Enter opens what a line stands for. The window is read in one
// query per source off the UI goroutine (store.Timeline) and capped at
// store.DefaultTimelineLimit lines; the rows behind a group stay keyset-
// paged in the list Enter opens.

func init() {
	commandSets = append(commandSets, func(c *Common) []ui.Command {
		return []ui.Command{{Name: "timeline",
			Help:     "failures across jobs, tasks, events and Socotra in a window [6h | 2d | 2026-01-10..2026-01-12]",
			Run:      func(args string) (ui.View, error) { return NewTimeline(c, args) },
			Complete: func(string) []string { return []string{"1h", "6h", "24h", "2d", "7d"} }}}
	})
}

// defaultTimelineWindow is the window of a bare :timeline: the last day of
// the newest data in the cache (offline, "now" may be long after it).
const defaultTimelineWindow = 24 * time.Hour

// maxTimelineWindow keeps a typo (6000h) from grouping the whole cache.
const maxTimelineWindow = 366 * 24 * time.Hour

// timelineReloadThrottle: a window is re-read at most this often while a
// sync streams pages in.
const timelineReloadThrottle = 3 * time.Second

// timelineWindow is a window as typed: the last Last of the cached data,
// or a fixed [Since, Until) in unix ms.
type timelineWindow struct {
	last         time.Duration
	since, until int64
}

var errTimelineWindow = errors.New("timeline: give a duration (6h, 90m, 2d, 1w) or a range of dates or times (2026-01-10..2026-01-12, 2026-01-10T08:00..2026-01-10T12:00)")

// parseTimelineWindow reads the window of `:timeline ARGS` in loc (the
// zone dates and times without an offset are in).
func parseTimelineWindow(args string, loc *time.Location) (timelineWindow, error) {
	s := strings.TrimSpace(args)
	if s == "" {
		return timelineWindow{last: defaultTimelineWindow}, nil
	}
	if lo, hi, ok := strings.Cut(s, ".."); ok {
		a, _, err := parseTimelinePoint(strings.TrimSpace(lo), loc)
		if err != nil {
			return timelineWindow{}, err
		}
		b, day, err := parseTimelinePoint(strings.TrimSpace(hi), loc)
		if err != nil {
			return timelineWindow{}, err
		}
		if day {
			b = b.AddDate(0, 0, 1) // a date ends the window with its day
		}
		if !b.After(a) {
			return timelineWindow{}, fmt.Errorf("timeline: the window %s ends before it starts", s)
		}
		if b.Sub(a) > maxTimelineWindow {
			return timelineWindow{}, fmt.Errorf("timeline: %s is longer than a year", s)
		}
		return timelineWindow{since: a.UnixMilli(), until: b.UnixMilli()}, nil
	}
	if t, day, err := parseTimelinePoint(s, loc); err == nil && day {
		return timelineWindow{since: t.UnixMilli(), until: t.AddDate(0, 0, 1).UnixMilli()}, nil
	}
	d, err := parseLongDuration(s)
	if err != nil {
		return timelineWindow{}, fmt.Errorf("%w: %q", errTimelineWindow, s)
	}
	if d <= 0 || d > maxTimelineWindow {
		return timelineWindow{}, fmt.Errorf("timeline: a window of %s: give one from a minute to a year", s)
	}
	return timelineWindow{last: d}, nil
}

// parseTimelinePoint reads a date (day true) or a date and time.
func parseTimelinePoint(s string, loc *time.Location) (t time.Time, day bool, err error) {
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, true, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s)); err == nil {
		return t, false, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%w: %q", errTimelineWindow, s)
}

// parseLongDuration is time.ParseDuration plus whole days (d) and weeks
// (w) in front: 2d, 1w, 1d12h.
func parseLongDuration(s string) (time.Duration, error) {
	var d time.Duration
	for _, unit := range []struct {
		suffix byte
		len    time.Duration
	}{{'w', 7 * 24 * time.Hour}, {'d', 24 * time.Hour}} {
		i := strings.IndexByte(s, unit.suffix)
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 || n > 10000 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		d += time.Duration(n) * unit.len
		s = s[i+1:]
	}
	if s == "" {
		return d, nil
	}
	rest, err := time.ParseDuration(s)
	return d + rest, err
}

// timelineColumns: TIME first (the order), then what triage reads; the
// entity is the first to go on a narrow terminal.
var timelineColumns = []vtable.Column{
	{Title: "TIME", Width: 19, Min: 19},
	{Title: "SOURCE", Width: 7, Min: 7},
	{Title: "STATE", Width: 7, Min: 7},
	{Title: "COUNT", Width: 6, Min: 5, Align: lipgloss.Right},
	{Title: "WHAT", Min: 30},
	{Title: "ENTITY", Width: 30, Min: 16},
}

// Timeline is the cross-source timeline screen.
type Timeline struct {
	c     *Common
	id    int64
	w, h  int
	table vtable.Model
	args  string // the window as typed
	win   timelineWindow

	res          store.TimelineResult
	since, until int64 // the window read (a relative one resolved)
	loaded       bool
	err          error
	seq          int64

	reloads throttle
}

// NewTimeline opens the timeline of the window args (see
// parseTimelineWindow; "" is the last day of the cached data).
func NewTimeline(c *Common, args string) (*Timeline, error) {
	loc := c.Loc
	if loc == nil {
		loc = time.Local
	}
	win, err := parseTimelineWindow(args, loc)
	if err != nil {
		return nil, err
	}
	v := &Timeline{c: c, id: c.nextID(), args: strings.TrimSpace(args), win: win, reloads: throttle{every: timelineReloadThrottle}}
	v.table = vtable.New(timelineColumns, tableKeys(c.Keys), socotraStyles(c.Theme)).SetStatusLine(false)
	return v, nil
}

func (v *Timeline) Init() tea.Cmd { return v.load() }

func (v *Timeline) Title() string {
	if v.args == "" {
		return "Timeline"
	}
	return "Timeline " + sanitize.Line(v.args)
}

func (v *Timeline) Capturing() bool { return false }

func (v *Timeline) HelpCategories() []string { return []string{keymap.Table} }

func (v *Timeline) Status() string {
	s := "newest first"
	if n := len(v.res.Entries); v.loaded && n > 0 {
		s += fmt.Sprintf(" · %d/%d", max(v.table.Position(), 0)+1, n)
	}
	return s
}

func (v *Timeline) SetSize(w, h int) ui.View {
	v.w, v.h = w, h
	v.table = v.table.SetSize(w, max(1, h-2))
	return v
}

// timelineMsg carries a load's result to the view that asked.
type timelineMsg struct {
	id, seq      int64
	res          store.TimelineResult
	since, until int64
	err          error
}

func (v *Timeline) load() tea.Cmd {
	v.seq++
	v.reloads.ran()
	st, id, seq, win := v.c.Store, v.id, v.seq, v.win
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		since, until := win.since, win.until
		if win.last > 0 {
			newest, err := st.NewestTime(ctx)
			if err != nil {
				return timelineMsg{id: id, seq: seq, err: err}
			}
			if newest == 0 {
				return timelineMsg{id: id, seq: seq} // an empty cache
			}
			until = newest + 1 // the newest row is in
			since = until - win.last.Milliseconds()
		}
		res, err := st.Timeline(ctx, store.TimelineOptions{Since: since, Until: until})
		return timelineMsg{id: id, seq: seq, res: res, since: since, until: until, err: err}
	}
}

func (v *Timeline) requestReload() tea.Cmd {
	return v.reloads.request(v.c, v.id, v.load)
}

// timelineEntities are the tables whose syncs change a timeline.
var timelineEntities = map[string]bool{
	store.EntityJobs: true, store.EntityTasks: true, store.EntityEvents: true, store.EntitySocotraFailed: true,
}

func (v *Timeline) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	switch msg := msg.(type) {
	case timelineMsg:
		if msg.id != v.id || msg.seq != v.seq {
			return v, nil // another view's, or superseded
		}
		v.loaded, v.err = true, msg.err
		if msg.err != nil {
			return v, nil
		}
		v.res, v.since, v.until = msg.res, msg.since, msg.until
		rows := make([]vtable.Row, len(v.res.Entries))
		for i := range v.res.Entries {
			rows[i] = v.row(i)
		}
		var cmd tea.Cmd
		v.table, cmd = v.table.SetSource(sliceSource(rows))
		return v, cmd
	case SyncedMsg:
		if !timelineEntities[msg.Entity] {
			return v, nil
		}
		return v, v.requestReload()
	case reloadTick:
		if msg.id != v.id {
			return v, nil
		}
		v.reloads.fired()
		return v, v.load()
	case ui.RevealedMsg, reloadMsg:
		return v, v.load()
	case tea.KeyMsg:
		return v, v.handleKey(msg)
	}
	var cmd tea.Cmd
	v.table, cmd = v.table.Update(msg)
	return v, cmd
}

// row is entry i as a table row; the table sanitizes the cells.
func (v *Timeline) row(i int) vtable.Row {
	e := &v.res.Entries[i]
	style := strings.ToUpper(e.State)
	if e.Source == store.TimelineSocotra {
		style = "f:" + e.State
	}
	return vtable.Row{Key: i, ID: e.ID(), Style: style,
		Cells: []string{v.c.fmtTime(e.Time), e.Source, e.State, thousands(e.Count), oneLine(e.What), e.Entity}}
}

// selected is the entry under the cursor.
func (v *Timeline) selected() (*store.TimelineEntry, bool) {
	r, ok := v.table.Selected()
	if !ok {
		return nil, false
	}
	i, ok := r.Key.(int)
	if !ok || i < 0 || i >= len(v.res.Entries) {
		return nil, false
	}
	return &v.res.Entries[i], true
}

func (v *Timeline) handleKey(k tea.KeyMsg) tea.Cmd {
	keys := v.c.Keys
	switch {
	case key.Matches(k, keys.Get("open")):
		if e, ok := v.selected(); ok {
			return v.open(e)
		}
		return nil
	case key.Matches(k, keys.Get("copy_id")):
		if e, ok := v.selected(); ok {
			what := e.Key
			if what == "" {
				what = e.Signature
			}
			return copyText(v.c, what, what)
		}
		return nil
	}
	var cmd tea.Cmd
	v.table, cmd = v.table.Update(k)
	return cmd
}

// scimTime is ms as a SCIM time literal, to the millisecond.
func scimTime(ms int64) string {
	return `"` + time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00") + `"`
}

// timelineGroupFilter selects the rows of a job or task group: ERRORED,
// its signature, from its first to its last occurrence.
func timelineGroupFilter(e *store.TimelineEntry, timeField string) string {
	return `state eq "ERRORED" and error_signature eq ` + scimString(e.Signature) +
		" and " + timeField + " ge " + scimTime(e.First) + " and " + timeField + " le " + scimTime(e.Time)
}

// open pushes what the entry stands for: a job group's jobs (one job: its
// detail), a task group's tasks (one task: its actions), the event's
// detail, the Socotra failed job in its list.
func (v *Timeline) open(e *store.TimelineEntry) tea.Cmd {
	c := v.c
	var view ui.View
	var err error
	switch e.Source {
	case store.TimelineJob:
		if e.Count == 1 && e.Key != "" {
			return ui.Push(NewJobDetail(c, e.Key))
		}
		view, err = NewJobs(c, timelineGroupFilter(e, "created_at"))
	case store.TimelineTask:
		if e.Count == 1 && e.Key != "" {
			return openTaskActions(c, e.Key)
		}
		view, err = NewTasks(c, timelineGroupFilter(e, "started_at"))
	case store.TimelineEvent:
		return ui.Push(NewEventDetail(c, e.Key))
	case store.TimelineSocotra:
		view, err = NewSocotraFailed(c, "trigger_group eq "+scimString(e.Group)+" and trigger_name eq "+scimString(e.Key))
	default:
		return nil
	}
	if err != nil {
		return ui.Flash(ui.FlashError, "%v", err)
	}
	return ui.Push(view)
}

// summaryLine names the window and what it holds.
func (v *Timeline) summaryLine() string {
	t := v.c.Theme
	switch {
	case v.err != nil:
		return t.FlashErr.Render("timeline failed: " + sanitize.Line(v.err.Error()))
	case !v.loaded:
		return t.Dim.Render("reading the window…")
	case v.until == 0:
		return t.Dim.Render("the cache is empty: nothing to put on a timeline yet")
	}
	span := timelineSpan(v.c, v.since, v.until)
	if v.win.last > 0 {
		span += " (last " + fmtWindow(v.win.last) + " of the cached data)"
	}
	r := v.res
	var parts []string
	if r.Jobs > 0 {
		parts = append(parts, t.State("ERRORED").Render(thousands(r.Jobs)+" job"+plural(r.Jobs)))
	}
	if r.Tasks > 0 {
		parts = append(parts, t.State("ERRORED").Render(thousands(r.Tasks)+" task"+plural(r.Tasks)))
	}
	if r.Events > 0 {
		parts = append(parts, t.State("WARNING").Render(thousands(r.Events)+" event"+plural(r.Events)))
	}
	if r.Socotra > 0 {
		parts = append(parts, thousands(r.Socotra)+" Socotra")
	}
	what := t.Dim.Render("nothing failed")
	if len(parts) > 0 {
		what = strings.Join(parts, t.Dim.Render(" · "))
	}
	line := what + t.Dim.Render(" │ "+span)
	if r.Capped {
		line = t.FlashWarn.Render(fmt.Sprintf("capped at the newest %s lines: narrow the window", thousands(len(r.Entries)))) +
			t.Dim.Render(" │ ") + line
	}
	return line
}

// timelineTime formats ms in the view's zone.
func timelineTime(c *Common, ms int64, layout string) string {
	t := time.UnixMilli(ms)
	if c.Loc != nil {
		t = t.In(c.Loc)
	}
	return t.Format(layout)
}

// timelineSpan writes a window, the end without what it shares with the
// start: 2026-11-20 11:50 → 11-21 11:50.
func timelineSpan(c *Common, since, until int64) string {
	from := timelineTime(c, since, "2006-01-02 15:04")
	to := timelineTime(c, until, "2006-01-02 15:04")
	switch {
	case from[:10] == to[:10]:
		to = to[11:]
	case from[:4] == to[:4]:
		to = to[5:]
	}
	return from + " → " + to
}

// fmtWindow writes d the way it is typed: 24h, 90m, 2d, 1w.
func fmtWindow(d time.Duration) string {
	switch {
	case d%(7*24*time.Hour) == 0:
		return fmt.Sprintf("%dw", d/(7*24*time.Hour))
	case d%(24*time.Hour) == 0 && d > 24*time.Hour:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// detailLine spells out the selected entry: its span, its full text.
func (v *Timeline) detailLine() string {
	t := v.c.Theme
	e, ok := v.selected()
	if !ok {
		if v.loaded && v.err == nil && v.until != 0 && len(v.res.Entries) == 0 {
			return t.Dim.Render("no ERRORED job or task, WARNING/ERROR event or Socotra failed job in this window")
		}
		return ""
	}
	var s string
	switch e.Source {
	case store.TimelineJob, store.TimelineTask:
		noun := e.Source + "s"
		if e.Count == 1 {
			s = "1 " + e.Source + " · enter: " + map[string]string{store.TimelineJob: "its detail", store.TimelineTask: "its actions"}[e.Source]
		} else {
			s = fmt.Sprintf("%s %s %s–%s · enter: the %s", thousands(e.Count), noun,
				timelineTime(v.c, e.First, "15:04:05"), timelineTime(v.c, e.Time, "15:04:05"), noun)
		}
	case store.TimelineEvent:
		s = "event · enter: its detail"
	case store.TimelineSocotra:
		s = fmt.Sprintf("failed %s times · enter: in the failed jobs list", thousands(e.Count))
	}
	return t.Dim.Render(sanitize.Line(s + " │ " + oneLine(e.What)))
}

func (v *Timeline) View() string {
	var b strings.Builder
	b.WriteString(ansi.Truncate(v.summaryLine(), v.w, "…"))
	b.WriteByte('\n')
	b.WriteString(v.table.View())
	b.WriteByte('\n')
	b.WriteString(ansi.Truncate(v.detailLine(), v.w, "…"))
	return ui.Fit(b.String(), v.w, v.h)
}
