package views

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/ui/jsontree"
	"github.com/opsdeck/opsdeck/ui/sanitize"
)

// EventDetail shows one system event: every field, its error object
// (reason, message, resolution, request id, metadata) laid out to read, and
// the raw event as a JSON tree below.
type EventDetail struct {
	c       *Common
	id      int64
	eventID string
	w, h    int

	ev    *store.EventRow
	err   error
	lines []string // the summary at width w
	top   int      // summary lines shown above the tree
	tree  jsontree.Model
	chord keymap.Chord
}

// NewEventDetail opens the detail of eventID, read from the cache.
func NewEventDetail(c *Common, eventID string) *EventDetail {
	return &EventDetail{c: c, id: c.nextID(), eventID: eventID,
		tree: jsontree.New(treeKeys(c.Keys), treeStyles(c.Theme)).SetStatusLine(false)}
}

type eventLoadedMsg struct {
	id  int64
	ev  store.EventRow
	err error
}

func (v *EventDetail) Init() tea.Cmd {
	st, id, eventID := v.c.Store, v.id, v.eventID
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ev, err := st.Event(ctx, eventID)
		return eventLoadedMsg{id: id, ev: ev, err: err}
	}
}

func (v *EventDetail) Title() string { return "Event " + shortID(v.eventID) }

func (v *EventDetail) Capturing() bool { return v.tree.SearchActive() }

func (v *EventDetail) HelpCategories() []string { return []string{keymap.Detail, keymap.Table} }

func (v *EventDetail) Status() string {
	if p := v.chord.Pending(); p != "" {
		return p + "- (v value, p path, y event)"
	}
	return v.tree.StatusText()
}

func (v *EventDetail) SetSize(w, h int) ui.View {
	v.w, v.h = w, h
	v.layout()
	return v
}

// layout renders the summary for the width and splits the height between
// it and the tree: the tree keeps at least a few lines (it holds
// everything, so a summary cut short loses nothing).
func (v *EventDetail) layout() {
	v.lines, v.top = nil, 0
	if v.ev != nil && v.w > 0 {
		v.lines = v.summary(v.w)
		limit := v.h / 2
		if v.h >= 16 {
			limit = v.h - 4
		}
		v.top = min(len(v.lines), max(limit, 0))
	}
	v.tree = v.tree.SetSize(v.w, max(1, v.h-v.top))
}

func (v *EventDetail) Update(msg tea.Msg) (ui.View, tea.Cmd) {
	switch msg := msg.(type) {
	case eventLoadedMsg:
		if msg.id != v.id {
			return v, nil
		}
		if msg.err != nil {
			v.err = msg.err
			return v, nil
		}
		v.ev, v.err = &msg.ev, nil
		raw := msg.ev.Raw
		if len(raw) == 0 {
			raw = []byte("null")
		}
		v.tree = v.tree.SetDocs(jsontree.Doc{Title: "raw event", JSON: raw})
		v.layout()
		return v, nil
	case tea.KeyMsg:
		if !v.tree.SearchActive() {
			fired, used := feedCopy(v.c, &v.chord, msg)
			if fired != "" {
				return v, v.copy(fired)
			}
			if used {
				return v, nil
			}
		}
	}
	var cmd tea.Cmd
	v.tree, cmd = v.tree.Update(msg)
	return v, cmd
}

func (v *EventDetail) copy(what string) tea.Cmd {
	return copyFromTree(v.c, v.tree, what, v.ev != nil, "event "+v.eventID, func() []byte { return prettyJSON(v.ev.Raw) })
}

func (v *EventDetail) View() string {
	t := v.c.Theme
	if v.err != nil {
		msg := v.err.Error()
		if errors.Is(v.err, store.ErrNotFound) {
			msg = fmt.Sprintf("event %s is not in the cache", v.eventID)
		}
		return ui.Fit(t.FlashErr.Render(sanitize.Line(msg)), v.w, v.h)
	}
	if v.ev == nil {
		return ui.Fit(t.Dim.Render("loading event "+sanitize.Line(v.eventID)+"…"), v.w, v.h)
	}
	var b strings.Builder
	if v.top > 0 {
		shown := v.lines[:v.top]
		if v.top < len(v.lines) {
			shown = append(slices.Clone(shown[:v.top-1]),
				t.Dim.Render(ansi.Truncate(fmt.Sprintf("… %d more lines: the raw event below has every field", len(v.lines)-v.top+1), v.w, "…")))
		}
		b.WriteString(strings.Join(shown, "\n"))
		b.WriteByte('\n')
	}
	b.WriteString(v.tree.View())
	return ui.Fit(b.String(), v.w, v.h)
}

// labelW is the width of the labels of the summary.
const labelW = 13

type field struct {
	k, v  string
	style *lipgloss.Style
}

// summary lays the event out for width w, most telling first (the raw
// tree below has everything a short terminal cuts): time, severity and
// kind (two columns when there is room), the message wrapped, the error
// object with its metadata, then the ids. Every server string is
// sanitized here.
func (v *EventDetail) summary(w int) []string {
	t, e := v.c.Theme, v.ev
	sevStyle := t.State(strings.ToUpper(e.Severity))
	head := []field{
		{"time", v.c.fmtTime(e.Timestamp) + "  (" + v.c.fmtAgo(e.Timestamp) + ")", nil},
		{"severity", e.Severity, &sevStyle},
		{"category", e.Category, nil},
		{"event type", e.EventType, nil},
		{"name", e.Name, nil},
		{"entity", strings.TrimSpace(e.Entity + "  " + e.EntityName), nil},
	}
	ids := []field{{"entity id", e.EntityID, nil}, {"provider id", e.ProviderID, nil}, {"id", e.ID, nil}}
	if e.PersistedAt != 0 {
		ids = append(ids, field{"persisted", v.c.fmtTime(e.PersistedAt), nil})
	}
	lines := v.fieldLines(head, w)
	lines = append(lines, wrapField(v.label("message"), sanitize.Line(e.Message), w, t.Value)...)
	lines = append(lines, v.errorLines(w)...)
	return append(lines, v.fieldLines(ids, w)...)
}

func (v *EventDetail) label(s string) string {
	return v.c.Theme.Label.Render(fmt.Sprintf("%-*s", labelW, s))
}

// fieldLines renders label/value pairs, in two columns when w allows.
func (v *EventDetail) fieldLines(fs []field, w int) []string {
	cell := func(f field, width int) string {
		val := sanitize.Line(f.v)
		if val == "" {
			val = "—"
		}
		if f.style != nil {
			val = f.style.Render(val)
		}
		return ansi.Truncate(v.label(f.k)+val, width, "…")
	}
	var lines []string
	if w < 100 {
		for _, f := range fs {
			lines = append(lines, cell(f, w))
		}
		return lines
	}
	half, colW := (len(fs)+1)/2, w/2
	for i := range half {
		l := padCells(cell(fs[i], colW-1), colW)
		if j := i + half; j < len(fs) {
			l += cell(fs[j], w-colW)
		}
		lines = append(lines, l)
	}
	return lines
}

// errorLines lays out the error object: its reason on the "error" line,
// then message, resolution, request id, any other member, and the metadata
// map one entry a line.
func (v *EventDetail) errorLines(w int) []string {
	t, e := v.c.Theme, v.ev
	if len(e.Error) == 0 || string(e.Error) == "null" {
		return []string{ansi.Truncate(v.label("error")+t.Dim.Render("none"), w, "…")}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(e.Error, &obj); err != nil {
		return wrapField(v.label("error"), sanitize.Line(string(e.Error)), w, t.FlashErr)
	}
	reason := "(no reason)"
	if r, ok := obj["reason"]; ok {
		reason = jsonText(r)
	}
	lines := wrapField(v.label("error"), sanitize.Line(reason), w, t.FlashErr)
	sub := func(s string) string { return v.label("  " + s) }
	known := []struct{ key, label string }{{"message", "message"}, {"resolution", "resolution"}, {"request_id", "request id"}}
	for _, k := range known {
		if raw, ok := obj[k.key]; ok {
			lines = append(lines, wrapField(sub(k.label), sanitize.Line(jsonText(raw)), w, t.Value)...)
		}
	}
	var others []string
	for k := range obj {
		switch k {
		case "reason", "message", "resolution", "request_id", "metadata":
		default:
			others = append(others, k)
		}
	}
	slices.Sort(others)
	for _, k := range others {
		lines = append(lines, wrapField(sub(ansi.Truncate(sanitize.Line(k), labelW-3, "…")), sanitize.Line(jsonText(obj[k])), w, t.Value)...)
	}
	meta := e.Metadata
	if len(meta) == 0 {
		meta = obj["metadata"]
	}
	var m map[string]json.RawMessage
	if len(meta) == 0 || json.Unmarshal(meta, &m) != nil || len(m) == 0 {
		return lines
	}
	keys := make([]string, 0, len(m))
	keyW := 0
	for k := range m {
		keys = append(keys, k)
		keyW = max(keyW, ansi.StringWidth(sanitize.Line(k)))
	}
	slices.SortFunc(keys, metaKeyOrder)
	keyW = min(keyW, 24)
	lines = append(lines, ansi.Truncate(sub("metadata")+t.Dim.Render(fmt.Sprintf("%d entries", len(keys))), w, "…"))
	for _, k := range keys {
		kl := ansi.Truncate(sanitize.Line(k), keyW, "…")
		prefix := "    " + t.JSONKey.Render(kl) + strings.Repeat(" ", keyW-ansi.StringWidth(kl)) + "  "
		lines = append(lines, ansi.Truncate(prefix+sanitize.Line(jsonText(m[k])), w, "…"))
	}
	return lines
}

// metaKeyOrder sorts "0", "1", ... "10" as numbers, before other keys.
func metaKeyOrder(a, b string) int {
	na, ea := strconv.Atoi(a)
	nb, eb := strconv.Atoi(b)
	switch {
	case ea == nil && eb == nil:
		return na - nb
	case ea == nil:
		return -1
	case eb == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// jsonText is a JSON string's value, or the compact JSON of anything else.
func jsonText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.String()
	}
	return string(raw)
}

// wrapField writes label then val wrapped to w, continuation lines
// indented under the value. val must already be sanitized.
func wrapField(label, val string, w int, style lipgloss.Style) []string {
	lw := ansi.StringWidth(label)
	if val == "" {
		val = "—"
	}
	if w-lw < 10 {
		return []string{ansi.Truncate(label+style.Render(val), w, "…")}
	}
	wrapped := strings.Split(ansi.Wrap(val, w-lw, " "), "\n")
	const maxLines = 6
	out := make([]string, 0, min(len(wrapped), maxLines))
	for i, l := range wrapped {
		if i == maxLines-1 && len(wrapped) > maxLines {
			l = ansi.Truncate(l+" …", w-lw, "…")
		}
		pre := strings.Repeat(" ", lw)
		if i == 0 {
			pre = label
		}
		out = append(out, ansi.Truncate(pre+style.Render(l), w, "…"))
		if i == maxLines-1 {
			break
		}
	}
	return out
}
