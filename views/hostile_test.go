package views

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/internal/hostile"
	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/socotra"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
)

// hostileWorld is a cache filled by the real sync engines from an
// emulator in hostile mode: every free-text string of every source carries
// a string of the internal/hostile corpus (terminal escapes, C1 controls,
// bidi overrides, invalid UTF-8, tabs, line breaks…).
type hostileWorld struct {
	st  *store.Store
	vc  *veza.Client
	sc  *socotra.Client
	pol string // a policy locator with scheduled events
}

func newHostileWorld(t *testing.T) *hostileWorld {
	t.Helper()
	emu := emulator.New(emulator.Options{Seed: 8, Scale: 300, Hostile: true})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	w := &hostileWorld{}
	var err error
	if w.vc, err = veza.New(srv.URL, emulator.DefaultToken, veza.Options{MaxRetries: -1}); err != nil {
		t.Fatal(err)
	}
	if w.sc, err = socotra.New(srv.URL, emu.SocotraTenant(), emulator.DefaultToken, socotra.ClientOptions{MaxRetries: -1}); err != nil {
		t.Fatal(err)
	}
	if w.st, err = store.Open(filepath.Join(t.TempDir(), "c.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.st.Close() })
	ctx := context.Background()
	if err := opsync.New(w.st, w.vc, opsync.Options{NoHead: true}).Run(ctx, nil); err != nil {
		t.Fatalf("veza sync of the hostile tenant: %v", err)
	}
	if err := socotra.NewSyncer(w.st, w.sc, socotra.Options{}).Run(ctx, nil); err != nil {
		t.Fatalf("socotra sync of the hostile tenant: %v", err)
	}

	// The test is only worth something if the cache really holds hostile
	// strings from every source.
	jobs, err := w.st.Jobs(ctx, store.Query{}, nil, false, 1000)
	if err != nil || len(jobs) == 0 {
		t.Fatalf("jobs: %d, %v", len(jobs), err)
	}
	dirty := 0
	for _, j := range jobs {
		if hostile.Forbidden(j.ErrorMessage+j.IdentityName+j.WorkflowName) != "" {
			dirty++
		}
	}
	evs, _ := w.st.Events(ctx, store.Query{}, nil, false, 1000)
	autos, _ := w.st.Automations(ctx, store.Query{}, nil, false, 1000)
	socs, _ := w.st.SocotraEvents(ctx, store.Query{}, nil, false, 1000)
	failed, _ := w.st.SocotraFailed(ctx, store.Query{}, nil, false, 1000)
	if dirty == 0 || len(evs) == 0 || len(autos) == 0 || len(socs) == 0 || len(failed) == 0 {
		t.Fatalf("hostile cache too clean: %d/%d dirty jobs, %d events, %d automations, %d socotra events, %d failed",
			dirty, len(jobs), len(evs), len(autos), len(socs), len(failed))
	}
	for _, f := range failed {
		if p, ok := strings.CutPrefix(f.TriggerGroup, "policy:"); ok {
			w.pol = strings.Fields(p)[0] // hostile mode appends to the group too
			break
		}
	}
	if w.pol == "" {
		t.Fatal("no failed job of a policy: nothing for :schedules")
	}
	return w
}

// hostileMarkers are the printable parts of corpus cases: seeing one on
// screen proves hostile data was rendered (sanitized) rather than missing.
var hostileMarkers = []string{"hidden", "tabs", "line1", "rm-rf~", "zerowidth", "isolate", "1e999999", "clickme", "utf8", "red"}

func hasMarker(frame string) bool {
	for _, m := range hostileMarkers {
		if strings.Contains(frame, m) {
			return true
		}
	}
	return false
}

// TestHostileTenantEveryView opens every view over a cache synced from a
// hostile emulator, at three sizes, scrolls and opens details, and checks
// every frame: exact size, no control rune, nothing hostile.Forbidden
// finds.
func TestHostileTenantEveryView(t *testing.T) {
	w := newHostileWorld(t)
	for _, sz := range [][2]int{{160, 48}, {80, 24}, {20, 5}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			width, height := sz[0], sz[1]
			root := func(c *Common) ui.View {
				c.Veza, c.Socotra = w.vc, w.sc // online: details refresh from the hostile API too
				v, err := NewJobs(c, "")
				if err != nil {
					panic(err)
				}
				return v
			}
			h := newHarness(t, w.st, root, width, height)
			frames := 0
			seen := map[string]bool{} // view -> a marker was on screen
			check := func(label, view string) {
				t.Helper()
				frame := h.view()
				frames++
				if p := frameProblem(frame, width, height); p != "" {
					t.Fatalf("%s: %s:\n%s", label, p, frame)
				}
				checkFrame(t, frame, width, height)
				if f := hostile.Forbidden(frame); f != "" {
					t.Fatalf("%s: %s on screen:\n%q", label, f, frame)
				}
				if hasMarker(frame) {
					seen[view] = true
				}
			}
			do := func(label string, keys ...string) {
				t.Helper()
				check(label, label)
				for _, k := range keys {
					h.key(k)
					check(label+" "+k, label)
				}
			}
			command := func(line string) {
				t.Helper()
				h.key(":")
				h.typeText(line)
				check(":"+line+" (typing)", "")
				before := h.app.Top().Title()
				h.key("enter")
				if title := h.app.Top().Title(); title == "" || title == before {
					t.Fatalf(":%s opened no view:\n%s", line, h.view())
				}
			}
			scroll := []string{"j", "j", "j", "pgdown", "G", "k", "g", "j", "j"}
			// A detail: unfold everything, page through it, back.
			detail := []string{"E", "pgdown", "pgdown", "G", "g", "esc"}

			do("jobs", scroll...)
			do("jobs enter", "enter")
			do("job detail", detail...)
			do("jobs help", "?", "?")

			command("tasks")
			do("tasks", scroll...)
			do("task detail", append([]string{"enter"}, detail...)...)
			command("actions")
			do("actions", scroll...)
			do("action detail", append([]string{"enter"}, detail...)...)
			command("errors")
			do("errors", scroll...)
			do("errors group", "enter", "j", "j", "enter")
			do("errors group job", detail...)
			do("errors back", "esc")

			command("events")
			do("events", scroll...)
			do("event detail", append([]string{"enter"}, detail...)...)

			command("automations")
			do("automations", scroll...)
			do("automation detail", "enter", "j", "pgdown", "G", "esc")
			do("automation editor", "e", "tab", "tab", "tab", "tab", "tab", "tab", "tab", "tab", "tab", "esc")
			if strings.Contains(h.view(), "discard") { // leaving an editor with changes asks first
				do("automation editor discard", "y")
			}

			command("socotra")
			do("socotra", scroll...)
			do("socotra detail", "enter", "E", "pgdown", "G")
			do("socotra request", "esc", "s", "j", "pgdown", "esc")
			do("socotra policy schedules", "p", "j", "G", "esc")
			command("failed")
			do("failed", scroll...)
			command("schedules " + w.pol)
			do("schedules", scroll...)
			do("help", "?", "?")

			if frames < 100 {
				t.Fatalf("only %d frames checked", frames)
			}
			// The lists of Socotra events and schedules show only ids,
			// enums and times, which hostile mode leaves alone.
			if width >= 160 {
				for _, v := range []string{"jobs", "job detail", "tasks", "task detail", "actions", "action detail", "errors", "events", "event detail", "automations", "automation detail", "automation editor", "socotra detail", "socotra request", "failed"} {
					if !seen[v] {
						t.Errorf("%s: no sanitized hostile text on screen: the view may not show server strings at all", v)
					}
				}
			}
		})
	}
}

// frameProblem is checkFrame's test as a value, so a failure can name the
// step that produced the frame.
func frameProblem(frame string, w, h int) string {
	lines := strings.Split(frame, "\n")
	if len(lines) != h {
		return fmt.Sprintf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if sw := ansi.StringWidth(l); sw > w {
			return fmt.Sprintf("line %d is %d cells wide (> %d): %q", i, sw, w, l)
		}
		if f := hostile.Forbidden(l); f != "" {
			return fmt.Sprintf("line %d holds a %s: %q", i, f, l)
		}
	}
	return ""
}

// TestHostileExtremes puts the generated extremes where they hurt most: a
// 1 MB single-line error message and identity name, a request payload
// nested 10,000 levels deep, huge numbers and every corpus case as both a
// JSON key and a value, then lists the job, opens it and walks the tree.
func TestHostileExtremes(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var res strings.Builder
	res.WriteString(`{"huge":[` + strings.Join(hostile.HugeNumbers, ",") + `],"cases":{`)
	for i, c := range hostile.Cases() {
		if i > 0 {
			res.WriteByte(',')
		}
		k, _ := json.Marshal(c.Value) // invalid UTF-8 becomes U+FFFD here: the raw bytes go in the message
		fmt.Fprintf(&res, "%s:%s", k, k)
	}
	res.WriteString(`},"error_messages":["` + strings.Repeat("x", 1<<20) + `"]}`)
	var msg strings.Builder
	for _, c := range hostile.Cases() {
		msg.WriteString(c.Value)
		msg.WriteByte(' ')
	}
	job := store.JobRow{
		JobID: "00000000-0000-4000-8000-0000000e7e7e", State: "ERRORED", PolicyTask: "t", ActionName: "a" + hostile.OneMBLine(),
		ActionType: "SYNC_IDENTITIES", IdentityName: hostile.OneMBLine(), WorkflowName: msg.String(),
		CreatedAt:    time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC).UnixMilli(),
		ErrorMessage: msg.String(), Request: []byte(hostile.DeepJSON(10_000)), Result: []byte(res.String()),
		Raw: []byte(`{"job_id":"00000000-0000-4000-8000-0000000e7e7e"}`),
	}
	if _, err := st.WriteJobs(context.Background(), []store.JobRow{job}, nil); err != nil {
		t.Fatal(err)
	}
	for _, sz := range [][2]int{{160, 48}, {80, 24}, {20, 5}} {
		h := newHarness(t, st, jobsRoot(""), sz[0], sz[1])
		check := func(label string) {
			t.Helper()
			frame := h.view()
			if p := frameProblem(frame, sz[0], sz[1]); p != "" {
				t.Fatalf("%dx%d %s: %s:\n%s", sz[0], sz[1], label, p, frame)
			}
			checkFrame(t, frame, sz[0], sz[1])
		}
		check("list")
		for _, k := range []string{"enter", "E", "pgdown", "G", "E", "l", "l", "l", "j", "j", "pgdown", "G", "g", "esc", "j", "c"} {
			h.key(k)
			check(k)
		}
	}
}
