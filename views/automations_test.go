package views

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/opsdeck/opsdeck/internal/automation"
	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
)

// harnessNow is the harness's pinned clock (harness_test.go).
var harnessNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// autoWorld is an emulated tenant, a client for it and a cache synced from
// it, with two workflows' attached lists fetched 5 minutes before the
// harness's clock.
type autoWorld struct {
	emu *emulator.Server
	srv *httptest.Server
	c   *veza.Client
	st  *store.Store
	wfs []emulator.ReviewWorkflow
	// put, when set, answers PUT requests instead of the emulator.
	put http.HandlerFunc
}

func newAutoWorld(t *testing.T) *autoWorld {
	t.Helper()
	w := &autoWorld{emu: emulator.New(emulator.Options{Seed: 3, Scale: 100, Token: "views-auto-token"})}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && w.put != nil {
			w.put(rw, r)
			return
		}
		w.emu.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.srv.Close)
	var err error
	if w.c, err = veza.New(w.srv.URL, "views-auto-token", veza.Options{MaxRetries: -1}); err != nil {
		t.Fatal(err)
	}
	if w.st, err = store.Open(filepath.Join(t.TempDir(), "c.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.st.Close() })
	ctx := context.Background()
	if err := opsync.New(w.st, w.c, opsync.Options{NoHead: true, Sources: []string{"automations"}}).SyncSource(ctx, "automations", nil); err != nil {
		t.Fatal(err)
	}
	w.wfs = w.emu.ReviewWorkflows()
	for _, wf := range w.wfs[:2] {
		if _, err := opsync.RefreshAttached(ctx, w.c, w.st, wf.ID, harnessNow.Add(-5*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *autoWorld) upstream(t *testing.T, id string) veza.Automation {
	t.Helper()
	r, err := w.c.GetAutomation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r.Value
}

func (w *autoWorld) byName(t *testing.T, name string) store.AutomationRow {
	t.Helper()
	rows, err := w.st.Automations(context.Background(), store.Query{}, nil, false, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Name == name {
			full, err := w.st.Automation(context.Background(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			return full
		}
	}
	t.Fatalf("no automation %q in the cache", name)
	return store.AutomationRow{}
}

func automationsRoot(filterText string) func(*Common) ui.View {
	return func(c *Common) ui.View {
		v, err := NewAutomations(c, filterText)
		if err != nil {
			panic(err)
		}
		return v
	}
}

// online harness: the list with a client, so writes are possible.
func (w *autoWorld) harness(t *testing.T, root func(*Common) ui.View, width, height int, online bool) *harness {
	t.Helper()
	h := newHarness(t, w.st, root, width, height)
	if online {
		h.common.Veza = w.c
	}
	return h
}

func ctrlS() tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyCtrlS} }

// frameHas asserts the current frame holds every want and returns it.
func frameHas(t *testing.T, h *harness, want ...string) string {
	t.Helper()
	f := h.view()
	for _, s := range want {
		if !strings.Contains(f, s) {
			t.Fatalf("frame lacks %q:\n%s", s, f)
		}
	}
	return f
}

func TestAutomationsGolden(t *testing.T) {
	w := newAutoWorld(t)
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		h := w.harness(t, automationsRoot(""), sz[0], sz[1], false)
		frame := h.view()
		checkFrame(t, frame, sz[0], sz[1])
		for _, want := range []string{"Highlight accounts", "HIGHLIGHT ██ #FFC107", "automations 22", "ACCEPTED", "NAME▲"} {
			if !strings.Contains(frame, want) {
				t.Fatalf("list lacks %q:\n%s", want, frame)
			}
		}
		golden(t, fmt.Sprintf("automations_%dx%d", sz[0], sz[1]), frame)

		// Detail of the seed's first example (offline: cached attachments
		// with their age).
		h.key("/")
		h.typeText("inactive sources") // plain words search the name
		h.key("enter")
		frameHas(t, h, `/name co "inactive sources" or`)
		h.key("enter")
		frame = h.view()
		checkFrame(t, frame, sz[0], sz[1])
		for _, want := range []string{"source.is_active eq false", "#FF6B35", "attached to 2 of 2 known workflows", "cached, 5m ago"} {
			if !strings.Contains(frame, want) {
				t.Fatalf("detail lacks %q:\n%s", want, frame)
			}
		}
		golden(t, fmt.Sprintf("automation_detail_%dx%d", sz[0], sz[1]), frame)
	}
}

func TestAutomationDetailPrettyFilterAndOnlineRefresh(t *testing.T) {
	w := newAutoWorld(t)
	row := w.byName(t, "Reject privileged account access")
	// Detach upstream behind the cache's back: the online detail asks again.
	if err := w.c.DetachAutomation(context.Background(), veza.DetachRequest{ID: row.ID, WorkflowID: w.wfs[0].ID}); err != nil {
		t.Fatal(err)
	}
	h := w.harness(t, func(c *Common) ui.View { return NewAutomationDetail(c, row.ID) }, 100, 30, false)
	frameHas(t, h, "attached to 2 of 2 known", "destination.name eq \"admin\"", "or source.name eq \"root\"")
	h = w.harness(t, func(c *Common) ui.View { return NewAutomationDetail(c, row.ID) }, 100, 30, true)
	h.send(ui.RevealedMsg{}) // the root's Init ran before the client was set
	h.key("w")
	frameHas(t, h, "attached to 1 of 2 known", "checked just now")
	if atts, _ := w.st.Attachments(context.Background(), row.ID); len(atts) != 1 || atts[0].WorkflowID != w.wfs[1].ID {
		t.Fatalf("cache not updated: %+v", atts)
	}
}

// openEditor opens the editor on the automation called name from the list.
func openEditor(t *testing.T, w *autoWorld, name string, width, height int) *harness {
	t.Helper()
	h := w.harness(t, automationsRoot(fmt.Sprintf("name eq %q", name)), width, height, true)
	h.key("e")
	frameHas(t, h, "Edit automation "+name)
	return h
}

func TestAutomationEditorGolden(t *testing.T) {
	w := newAutoWorld(t)
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		// A display action: the Display group after Automation, Criteria, Action.
		h := openEditor(t, w, "Highlight inactive sources", sz[0], sz[1])
		frame := h.view()
		checkFrame(t, frame, sz[0], sz[1])
		golden(t, fmt.Sprintf("automation_editor_%dx%d", sz[0], sz[1]), frame)
		h.key("tab", "tab", "tab", "tab", "tab", "tab", "tab")
		frame = frameHas(t, h, "display_text", "highlight_color", "██ preview")
		checkFrame(t, frame, sz[0], sz[1])
		golden(t, fmt.Sprintf("automation_editor_display_%dx%d", sz[0], sz[1]), frame)

		// A modification: its group has decision, sign-off and notes.
		h = openEditor(t, w, "Sign off rows signed off last cycle", sz[0], sz[1])
		h.key("tab", "tab", "tab", "tab", "tab", "tab", "tab")
		frame = frameHas(t, h, "decision", "signed_off_state", "→ ACCEPTED (2)", "→ SIGNED_OFF (2)")
		checkFrame(t, frame, sz[0], sz[1])
		golden(t, fmt.Sprintf("automation_editor_modification_%dx%d", sz[0], sz[1]), frame)

		// The diff shown before saving.
		h.key("tab", "tab")
		h.typeText("kept")
		h.send(ctrlS())
		frame = frameHas(t, h, "Review changes to Sign off rows signed off last cycle", `"notes": "kept"`, "y: save")
		checkFrame(t, frame, sz[0], sz[1])
		golden(t, fmt.Sprintf("automation_diff_%dx%d", sz[0], sz[1]), stable(frame))
	}
}

func TestAutomationEditorInvalidFilterBlocksSave(t *testing.T) {
	w := newAutoWorld(t)
	row := w.byName(t, "Highlight inactive sources")
	before := w.upstream(t, row.ID)
	h := openEditor(t, w, "Highlight inactive sources", 120, 40)
	h.key("tab", "tab", "tab", "tab") // name, description, attach, opt_in → criteria.filter
	h.typeText(" and")
	frameHas(t, h, "✗ col", "criteria.filter: col") // on the field, and in the preview
	// enter does not leave an invalid field, and ctrl+s does not save.
	h.key("enter")
	h.send(ctrlS())
	frameHas(t, h, "not saved: fix the marked fields first", "Edit automation Highlight inactive sources")
	if strings.Contains(h.view(), "Review changes") {
		t.Fatal("an invalid filter reached the review")
	}
	// joined_nodes.<alias> is refused with the alias to use instead.
	for range 4 {
		h.key("backspace")
	}
	h.typeText(` and joined_nodes.idp.department eq "IT"`)
	frameHas(t, h, "refer to a joined node by its", "(idp.department)")
	h.send(ctrlS())
	if got := w.upstream(t, row.ID); automation.Diff(before, got) != "" {
		t.Fatalf("the tenant changed:\n%s", automation.Diff(before, got))
	}
}

func TestAutomationEditSaveWritesTenantAndCache(t *testing.T) {
	w := newAutoWorld(t)
	row := w.byName(t, "Highlight inactive sources")
	h := openEditor(t, w, "Highlight inactive sources", 120, 40)
	h.key("tab", "tab", "tab", "tab")
	h.typeText(` and source.type ne "bot"`)
	h.key("tab", "tab", "tab", "tab") // mutable, kind → display_text → highlight_color
	for range 7 {
		h.key("backspace")
	}
	h.typeText("#00897b")
	frameHas(t, h, "HIGHLIGHT ██ #00897B")
	h.send(ctrlS())
	frameHas(t, h, "Review changes to Highlight inactive sources",
		`-    "filter": "source.is_active eq false",`,
		`+    "filter": "source.is_active eq false and source.type ne \"bot\"",`,
		`+    "highlight_color": "#00897b"`)
	h.key("n") // back to editing: nothing sent
	if w.upstream(t, row.ID).Criteria.Filter != "source.is_active eq false" {
		t.Fatal("n saved")
	}
	h.send(ctrlS())
	h.key("y")
	frameHas(t, h, "saved automation \"Highlight inactive sources\"")
	got := w.upstream(t, row.ID)
	if got.Criteria.Filter != `source.is_active eq false and source.type ne "bot"` || got.Action.HighlightColor != "#00897b" ||
		got.Action.DisplayText != "Source account is inactive" || got.Name != "Highlight inactive sources" || !got.AttachmentBehavior.OptIn {
		t.Fatalf("tenant holds %+v", got)
	}
	cached, err := w.st.Automation(context.Background(), row.ID)
	if err != nil || cached.Filter != got.Criteria.Filter || cached.HighlightColor != "#00897b" {
		t.Fatalf("cache holds %+v %v", cached, err)
	}
	var raw veza.Automation
	json.Unmarshal(cached.Raw, &raw)
	if automation.Diff(raw, got) != "" {
		t.Fatalf("cached object differs:\n%s", automation.Diff(raw, got))
	}
}

func TestAutomationCreateModification(t *testing.T) {
	w := newAutoWorld(t)
	h := w.harness(t, automationsRoot(""), 120, 40, true)
	h.key("n")
	frameHas(t, h, "New automation")
	h.typeText("Reject stale contractors")
	h.key("tab")
	h.typeText("idle for 60 days")
	h.key("tab", "tab", "tab")
	h.typeText(`idp.employee_type eq "Contractor"`)
	h.key("tab", "tab")
	h.key("up", "tab") // kind: HIGHLIGHT → modification
	h.typeText("3")
	frameHas(t, h, "→ REJECTED (3)")
	h.key("tab", "tab")
	h.typeText("idle contractor")
	h.send(ctrlS())
	frameHas(t, h, "Review: create automation Reject stale contractors", `+    "decision": "REJECTED",`)
	h.key("y")
	frameHas(t, h, "created automation \"Reject stale contractors\"")
	got := w.byName(t, "Reject stale contractors")
	up := w.upstream(t, got.ID)
	if up.Action.Decision != "REJECTED" || up.Action.Notes != "idle contractor" || up.Criteria.Filter != `idp.employee_type eq "Contractor"` ||
		up.Action.DisplayStyle != "" || got.Kind != "MODIFICATION" {
		t.Fatalf("tenant %+v cache %+v", up, got)
	}
}

func TestAutomationServerViolationsLandOnFieldsAndDraftIsKept(t *testing.T) {
	w := newAutoWorld(t)
	w.put = func(rw http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusBadRequest)
		io.WriteString(rw, `{"code":"InvalidArgument","message":"invalid automation","request_id":"0123456789abcdef0123456789abcdef",
			"details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"criteria.filter","description":"tenant says: attribute source.colour is unknown"}]}]}`)
	}
	row := w.byName(t, "Highlight accounts without MFA")
	h := openEditor(t, w, "Highlight accounts without MFA", 120, 40)
	h.key("tab", "tab", "tab", "tab")
	h.typeText(` and source.colour eq "red"`)
	h.send(ctrlS())
	h.key("y")
	frameHas(t, h, "✗ tenant says: attribute source.colour is unknown", "request_id", "0123456789abcdef0123456789abcdef", "draft is kept")
	if w.upstream(t, row.ID).Criteria.Filter != "source.mfa_enabled eq false" {
		t.Fatal("the tenant changed")
	}
	d, ok, err := w.st.GetAutomationDraft(context.Background(), row.ID)
	if !ok || err != nil || !strings.Contains(string(d.Draft), `source.colour eq \"red\"`) || !strings.Contains(d.Reason, "HTTP 400") {
		t.Fatalf("draft %+v %v %v", d, ok, err)
	}
	// Leave (discarding asks first), then edit again: the draft comes back.
	h.key("esc")
	frameHas(t, h, "Discard your changes?")
	h.key("y")
	h.key("e")
	frameHas(t, h, "reopened your unsaved draft")
	h.key("tab", "tab", "tab", "tab")
	frameHas(t, h, `source.colour eq "red"`)
}

func TestAutomationDeleteConfirmation(t *testing.T) {
	w := newAutoWorld(t)
	row := w.byName(t, "Highlight inactive sources")
	h := w.harness(t, automationsRoot(`name eq "Highlight inactive sources"`), 100, 30, true)
	h.key("D")
	frameHas(t, h, `Delete automation "Highlight inactive sources"?`, "attached to 2 workflows", "checked just now",
		"Workflows: ", "every new workflow", "cannot be undone")
	h.key("enter") // default No
	if _, err := w.c.GetAutomation(context.Background(), row.ID); err != nil {
		t.Fatal("enter deleted it:", err)
	}
	h.key("D")
	h.key("y")
	frameHas(t, h, `deleted automation "Highlight inactive sources"`)
	if _, err := w.c.GetAutomation(context.Background(), row.ID); !veza.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("still upstream: %v", err)
	}
	if _, err := w.st.Automation(context.Background(), row.ID); err == nil {
		t.Fatal("still cached")
	}
	if atts, _ := w.st.Attachments(context.Background(), row.ID); len(atts) != 0 {
		t.Fatalf("attachments left: %+v", atts)
	}
}

func TestAutomationDeleteFromDetailCountsAttachments(t *testing.T) {
	w := newAutoWorld(t)
	row := w.byName(t, "Suggest accept for read-only roles") // attached to some workflows only
	atts, _ := w.st.Attachments(context.Background(), row.ID)
	h := w.harness(t, func(c *Common) ui.View { return NewAutomationDetail(c, row.ID) }, 100, 30, true)
	h.key("D")
	frameHas(t, h, fmt.Sprintf("attached to %d workflow%s", len(atts), plural(len(atts))), "Suggest accept for read-only roles")
	h.key("n")
	if _, err := w.c.GetAutomation(context.Background(), row.ID); err != nil {
		t.Fatal(err)
	}
}

func TestAutomationAttachDetach(t *testing.T) {
	w := newAutoWorld(t)
	row := w.byName(t, "Reject access of terminated employees") // not attached by itself
	third := w.wfs[2].ID
	h := w.harness(t, func(c *Common) ui.View { return NewAutomationDetail(c, row.ID) }, 120, 40, true)
	h.send(ui.RevealedMsg{})
	h.key("+")
	frameHas(t, h, "Attach automation", "another workflow id")
	// Known workflows first, then "another workflow id…": pick that, type.
	for range 2 {
		h.key("down")
	}
	h.key("tab")
	h.typeText(third)
	h.key("tab")
	h.key("left") // opt_in: yes
	h.key("enter")
	frameHas(t, h, "Attach \"Reject access of terminated employees\" to workflow "+third[:8], "operators opt in")
	h.key("y")
	frameHas(t, h, "attached (workflow "+third+")")
	up, _ := w.c.AttachedAutomations(context.Background(), third)
	found := false
	for _, a := range up {
		found = found || (a.Automation.ID == row.ID && a.OptIn)
	}
	if !found {
		t.Fatalf("not attached (opt-in) upstream: %+v", up)
	}
	frameHas(t, h, third, "opt-in")
	if wfs, _ := w.st.Workflows(context.Background()); len(wfs) != 3 {
		t.Fatalf("the typed workflow is not known now: %+v", wfs)
	}

	// Detach from that workflow: offered with the others it is attached
	// to; type it to be sure which.
	atts, _ := w.st.Attachments(context.Background(), row.ID)
	h.key("-")
	frameHas(t, h, "Detach automation", third+" (attached)")
	for range atts {
		h.key("down")
	}
	h.key("tab")
	h.typeText(third)
	h.key("enter")
	frameHas(t, h, "Detach \"Reject access of terminated employees\" from workflow")
	h.key("y")
	if atts, _ := w.st.Attachments(context.Background(), row.ID); len(atts) != 0 {
		// It may still be attached to one of the first two (seeded at random).
		for _, a := range atts {
			if a.WorkflowID == third {
				t.Fatalf("still attached in the cache: %+v", atts)
			}
		}
	}
	up, _ = w.c.AttachedAutomations(context.Background(), third)
	for _, a := range up {
		if a.Automation.ID == row.ID {
			t.Fatal("still attached upstream")
		}
	}
}

func TestAutomationWritesRefusedOfflineAndReadOnly(t *testing.T) {
	w := newAutoWorld(t)
	for _, tc := range []struct {
		name   string
		online bool
		ro     bool
		want   string
	}{{"offline", false, false, "offline"}, {"read-only", true, true, "read-only"}} {
		t.Run(tc.name, func(t *testing.T) {
			h := w.harness(t, automationsRoot(`name eq "Highlight inactive sources"`), 100, 30, tc.online)
			h.common.ReadOnly = tc.ro
			for _, k := range []string{"n", "e", "D", "+", "-"} {
				h.key(k)
				f := frameHas(t, h, tc.want)
				if strings.Contains(f, "New automation") || strings.Contains(f, "Delete automation") || strings.Contains(f, "Attach automation") {
					t.Fatalf("%s opened a write screen:\n%s", k, f)
				}
			}
			h.key("enter")
			frameHas(t, h, tc.want) // the detail's status says why
		})
	}
}

func TestAutomationsHostileStrings(t *testing.T) {
	w := newAutoWorld(t)
	evil := "evil\x1b]0;pwned\x07\x1b[2J\u202ename"
	id, err := w.c.CreateAutomation(context.Background(), veza.Automation{Name: evil, Description: "d\x1b[31m",
		Criteria: veza.AutomationCriteria{Filter: `source.name eq "` + "\\u001b[2J" + `"`},
		Action:   veza.AutomationAction{Notes: "n\x1b]52;c;ZXZpbA==\x07"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opsync.RefreshAutomation(context.Background(), w.c, w.st, id); err != nil {
		t.Fatal(err)
	}
	h := w.harness(t, automationsRoot(`name co "evil"`), 80, 24, false)
	checkFrame(t, h.view(), 80, 24)
	h.key("enter")
	checkFrame(t, h.view(), 80, 24)
	h2 := w.harness(t, automationsRoot(`name co "evil"`), 80, 24, true)
	h2.key("e")
	checkFrame(t, h2.view(), 80, 24)
}

func TestPaintSwatches(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	th := ui.NewTheme(r)
	// The selected row's style (reverse) resumes after the swatch.
	line := "\x1b[7mrow HIGHLIGHT ██ #FF6B35 more\x1b[0m"
	got := paintSwatches(th, line)
	// (termenv may round a channel by one.)
	if !regexp.MustCompile(`^\x1b\[7mrow HIGHLIGHT \x1b\[38;2;255;10[67];5[234]m██\x1b\[0m\x1b\[7m #FF6B35 more\x1b\[0m$`).MatchString(got) {
		t.Fatalf("got %q", got)
	}
	// Two swatches on a line, none on another.
	got = paintSwatches(th, "a ██ #000000 b ██ #FFFFFF\nplain ██ #12345 x")
	if !strings.Contains(got, "\x1b[38;2;0;0;0m██") || !strings.Contains(got, "\x1b[38;2;255;255;255m██") ||
		!strings.HasSuffix(got, "\nplain ██ #12345 x") {
		t.Fatalf("%q", got)
	}
	if swatch(th, "red") != swatchGlyph || swatch(th, "") != swatchGlyph {
		t.Fatal("an invalid colour was painted")
	}
	// The ASCII profile of the golden files draws a plain block.
	a := lipgloss.NewRenderer(io.Discard)
	a.SetColorProfile(termenv.Ascii)
	if s := swatch(ui.NewTheme(a), "#FF6B35"); s != swatchGlyph {
		t.Fatalf("%q", s)
	}
}

var portRe = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// stable replaces the emulator's random port with zeros of the same length,
// so golden files do not depend on it.
func stable(frame string) string {
	return portRe.ReplaceAllStringFunc(frame, func(s string) string {
		host, port, _ := strings.Cut(s, ":")
		return host + ":" + strings.Repeat("0", len(port))
	})
}

func TestAutomationScreensTinyTerminal(t *testing.T) {
	w := newAutoWorld(t)
	row := w.byName(t, "Highlight inactive sources")
	for _, sz := range [][2]int{{20, 6}, {30, 8}, {45, 12}} {
		for name, root := range map[string]func(*Common) ui.View{ // map order: any is fine
			"list":   automationsRoot(""),
			"detail": func(c *Common) ui.View { return NewAutomationDetail(c, row.ID) },
			"editor": func(c *Common) ui.View { return NewAutomationEditor(c, row.ID) },
			"attach": func(c *Common) ui.View { return NewAttachForm(c, nil, row.ID, true) },
		} {
			h := w.harness(t, root, sz[0], sz[1], true)
			checkFrame(t, h.view(), sz[0], sz[1])
			h.key("tab", "down", "tab")
			checkFrame(t, h.view(), sz[0], sz[1])
			if name == "editor" {
				h.typeText("x")
				h.send(ctrlS())
				checkFrame(t, h.view(), sz[0], sz[1])
			}
		}
	}
}

func TestAutomationEditorEscWithoutChangesLeaves(t *testing.T) {
	w := newAutoWorld(t)
	h := openEditor(t, w, "Highlight inactive sources", 100, 30)
	h.key("esc")
	f := h.view()
	if strings.Contains(f, "Discard") || strings.Contains(f, "Edit automation") {
		t.Fatalf("esc on an unchanged editor should just leave:\n%s", f)
	}
	// With a change, esc asks, and n keeps the editor (and the text).
	h.key("e")
	h.typeText("!")
	h.key("esc")
	frameHas(t, h, "Discard your changes?")
	h.key("n")
	frameHas(t, h, "Highlight inactive sources!")
}

func TestAutomationsListRereadsWorkflows(t *testing.T) {
	w := newAutoWorld(t)
	row := w.byName(t, "Reject privileged account access")
	if err := w.c.DetachAutomation(context.Background(), veza.DetachRequest{ID: row.ID, WorkflowID: w.wfs[1].ID}); err != nil {
		t.Fatal(err)
	}
	h := w.harness(t, automationsRoot(""), 100, 30, true)
	h.key("w")
	frameHas(t, h, "re-read the attached automations of 2 workflows")
	atts, _ := w.st.Attachments(context.Background(), row.ID)
	if len(atts) != 1 || atts[0].WorkflowID != w.wfs[0].ID {
		t.Fatalf("cache not refreshed: %+v", atts)
	}
	h = w.harness(t, automationsRoot(""), 100, 30, false)
	h.key("w")
	frameHas(t, h, "offline")
}
