package sync

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

type autoEnv struct {
	emu *emulator.Server
	c   *veza.Client
	st  *store.Store
	eng *Engine
}

func newAutoEnv(t *testing.T) *autoEnv {
	t.Helper()
	emu := emulator.New(emulator.Options{Seed: 3, Scale: 100, Token: "auto-token"})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c, err := veza.New(srv.URL, "auto-token", veza.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &autoEnv{emu: emu, c: c, st: st, eng: New(st, c, Options{NoHead: true, Sources: []string{"automations"}})}
}

// cacheMatches asserts the cache holds exactly the emulator's automations,
// each with the object the API returns.
func (e *autoEnv) cacheMatches(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	upstream, err := e.c.ListAutomations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, r := range upstream {
		want = append(want, r.Value.ID)
		row, err := e.st.Automation(ctx, r.Value.ID)
		if err != nil {
			t.Fatalf("%s (%s) not cached: %v", r.Value.ID, r.Value.Name, err)
		}
		var cached veza.Automation
		if err := json.Unmarshal(row.Raw, &cached); err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(cached)
		b, _ := json.Marshal(r.Value)
		if string(a) != string(b) || row.Name != r.Value.Name {
			t.Fatalf("cached %s\nupstream %s", a, b)
		}
	}
	rows, err := e.st.Automations(ctx, store.Query{}, nil, false, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		got = append(got, r.ID)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Fatalf("cache %v\nupstream %v", got, want)
	}
	return len(got)
}

func TestSyncAutomationsFollowsUpstream(t *testing.T) {
	e := newAutoEnv(t)
	ctx := context.Background()
	var last Progress
	if err := e.eng.SyncSource(ctx, "automations", func(p Progress) { last = p }); err != nil {
		t.Fatal(err)
	}
	n := e.cacheMatches(t)
	if n < 20 || !last.Done || last.Err != nil || last.Stats.Inserted != n {
		t.Fatalf("%d automations, progress %+v", n, last)
	}
	counts, _ := e.st.StateCounts(ctx, store.EntityAutomations)
	if counts["HIGHLIGHT"] == 0 || counts["MODIFICATION"] == 0 || counts["SUGGEST_REJECT"] == 0 || counts["SUGGEST_ACCEPT"] == 0 {
		t.Fatalf("kinds %v", counts)
	}
	seed, err := e.st.Automation(ctx, "e48dd2c8-3633-463b-a477-0177a942b5a6")
	if err != nil || seed.Kind != "HIGHLIGHT" || seed.HighlightColor != "#FF6B35" || seed.Filter != "source.is_active eq false" || !seed.OptIn {
		t.Fatalf("seed example: %+v %v", seed, err)
	}

	// Upstream changes: one created, one deleted, one edited.
	list, _ := e.c.ListAutomations(ctx)
	id, err := e.c.CreateAutomation(ctx, veza.Automation{Name: "Created upstream", Criteria: veza.AutomationCriteria{Filter: `source.name sw "tmp-"`},
		Action: veza.AutomationAction{Decision: "3", Notes: "temporary accounts"}})
	if err != nil {
		t.Fatal(err)
	}
	gone := list[3].Value.ID
	if err := e.c.DeleteAutomation(ctx, gone); err != nil {
		t.Fatal(err)
	}
	edited := list[5].Value
	edited.Description = "edited upstream"
	if err := e.c.UpdateAutomation(ctx, edited); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.SyncSource(ctx, "automations", func(p Progress) { last = p }); err != nil {
		t.Fatal(err)
	}
	if got := e.cacheMatches(t); got != n {
		t.Fatalf("%d cached after +1 -1, want %d", got, n)
	}
	if last.Stats.Inserted != 1 || last.Stats.Updated != 1 || last.Stats.Unchanged != n-2 {
		t.Fatalf("second sync %+v", last.Stats)
	}
	if _, err := e.st.Automation(ctx, gone); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted upstream, still cached: %v", err)
	}
	created, err := e.st.Automation(ctx, id)
	if err != nil || created.Decision != "REJECTED" || created.Kind != "MODIFICATION" {
		t.Fatalf("created: %+v %v", created, err)
	}
	if d, _ := e.st.Automation(ctx, edited.ID); d.Description != "edited upstream" {
		t.Fatalf("edit not synced: %+v", d)
	}
}

func TestSyncAutomationsFailureKeepsCache(t *testing.T) {
	e := newAutoEnv(t)
	ctx := context.Background()
	if err := e.eng.SyncSource(ctx, "automations", nil); err != nil {
		t.Fatal(err)
	}
	n := e.cacheMatches(t)
	bad, err := veza.New(e.c.BaseURL(), "wrong-token", veza.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	eng := New(e.st, bad, Options{NoHead: true, Sources: []string{"automations"}})
	var last Progress
	err = eng.SyncSource(ctx, "automations", func(p Progress) { last = p })
	if !veza.IsStatus(err, http.StatusUnauthorized) || !last.Done || last.Err == nil {
		t.Fatalf("err %v progress %+v", err, last)
	}
	if got, _ := e.st.Count(ctx, store.EntityAutomations, nil); got != n {
		t.Fatalf("a failed sync changed the cache: %d, want %d", got, n)
	}
}

func TestRefreshHelpers(t *testing.T) {
	e := newAutoEnv(t)
	ctx := context.Background()
	if err := e.eng.SyncSource(ctx, "automations", nil); err != nil {
		t.Fatal(err)
	}
	wfs := e.emu.ReviewWorkflows()
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	atts, err := RefreshAttached(ctx, e.c, e.st, wfs[0].ID, now)
	if err != nil || len(atts) == 0 {
		t.Fatalf("%v %v", atts, err)
	}
	upstream, _ := e.c.AttachedAutomations(ctx, wfs[0].ID)
	cached, _ := e.st.WorkflowAttachments(ctx, wfs[0].ID)
	if len(cached) != len(upstream) {
		t.Fatalf("cached %d attachments, upstream %d", len(cached), len(upstream))
	}
	for _, a := range upstream {
		found := false
		for _, c := range cached {
			found = found || (c.AutomationID == a.Automation.ID && c.OptIn == a.OptIn && c.FetchedAt == now.UnixMilli())
		}
		if !found {
			t.Fatalf("%s not cached", a.Automation.Name)
		}
	}
	if _, err := RefreshAttached(ctx, e.c, e.st, "no-such-workflow", now); !veza.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("unknown workflow: %v", err)
	}

	// RefreshAutomation writes back one object, and forgets one that is gone.
	rows, _ := e.st.Automations(ctx, store.Query{}, nil, false, 2)
	a, _ := e.c.GetAutomation(ctx, rows[0].ID)
	a.Value.Name = "Renamed via API"
	if err := e.c.UpdateAutomation(ctx, a.Value); err != nil {
		t.Fatal(err)
	}
	row, err := RefreshAutomation(ctx, e.c, e.st, rows[0].ID)
	if err != nil || row.Name != "Renamed via API" {
		t.Fatalf("%+v %v", row, err)
	}
	if err := e.c.DeleteAutomation(ctx, rows[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := RefreshAutomation(ctx, e.c, e.st, rows[1].ID); !veza.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("gone: %v", err)
	}
	if _, err := e.st.Automation(ctx, rows[1].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a deleted automation stayed cached")
	}
}

func TestAutomationRowKeepsUnknownValues(t *testing.T) {
	var rec veza.Record[veza.Automation]
	raw := `{"id":"x","name":"n","action":{"decision":2,"display_style":7},"created_at":"2025-01-02T03:04:05Z","extra":{"a":1}}`
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		t.Fatal(err)
	}
	r := AutomationRow(rec)
	if string(r.Raw) != raw || r.Decision != "ACCEPTED" || r.DisplayStyle != "7" || r.Kind != "7" ||
		r.CreatedAt != time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli() {
		t.Fatalf("%+v", r)
	}
}
