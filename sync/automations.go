package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/opsdeck/opsdeck/internal/automation"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// The access-review Automations source (seed 003, API-CONTRACT.md §1.7).
// The set is small and the API lists it in one answer without paging or a
// change marker, so every sync takes the full list and the store replaces
// its copy in one transaction: deleted upstream, deleted here. Attachments
// have no list-everything call; they are fetched per workflow when a view
// asks (RefreshAttached).

func init() {
	extraSources = append(extraSources, func(e *Engine) runner { return &automationsSource{e: e} })
}

const automationsCursorKey = "veza/automations"

type automationsSource struct{ e *Engine }

func (s *automationsSource) name() string { return "automations" }

func (s *automationsSource) run(ctx context.Context, progress func(Progress)) (err error) {
	p := Progress{Source: "automations", Total: -1}
	began := time.Now()
	defer func() {
		if err != nil {
			err = fmt.Errorf("sync automations: %w", err)
		}
		p.Done, p.Err = true, err
		s.e.log.Info("sync: source finished", "source", "automations", "rows", p.Rows,
			"inserted", p.Stats.Inserted, "updated", p.Stats.Updated, "unchanged", p.Stats.Unchanged,
			"dur", time.Since(began).Round(time.Millisecond), "err", err)
		progress(p)
	}()
	recs, err := s.e.c.ListAutomations(ctx)
	if err != nil {
		return err
	}
	rows := make([]store.AutomationRow, len(recs))
	for i, r := range recs {
		rows[i] = AutomationRow(r)
	}
	// The cursor records when the set was last taken whole; nothing resumes
	// from it.
	cur := &store.Cursor{Source: automationsCursorKey, Value: s.e.now().UTC().Format(time.RFC3339)}
	st, err := s.e.st.WriteAutomations(ctx, rows, cur)
	if err != nil {
		return err
	}
	p.Pages, p.Rows, p.Total, p.Stats = 1, len(rows), len(rows), st.WriteStats
	if st.Deleted > 0 {
		s.e.log.Info("sync: automations deleted upstream", "n", st.Deleted)
	}
	return nil
}

// AutomationRow converts an automation as received to its cache row: enums
// by canonical name (a value this build does not know is kept as sent), the
// kind derived, the raw bytes kept for editors.
func AutomationRow(rec veza.Record[veza.Automation]) store.AutomationRow {
	a := rec.Value
	n, _ := automation.Normalize(a)
	raw := rec.Raw
	if len(raw) == 0 {
		raw, _ = json.Marshal(a)
	}
	r := store.AutomationRow{
		ID:                   a.ID,
		Name:                 a.Name,
		Description:          a.Description,
		Priority:             int64(a.Priority),
		Kind:                 string(automation.KindOf(a)),
		Decision:             string(n.Action.Decision),
		SignedOffState:       string(n.Action.SignedOffState),
		Notes:                a.Action.Notes,
		DisplayStyle:         string(n.Action.DisplayStyle),
		DisplayText:          a.Action.DisplayText,
		HighlightColor:       a.Action.HighlightColor,
		Filter:               a.Criteria.Filter,
		MutableFilter:        a.Criteria.MutableFilter,
		AttachToNewWorkflows: a.AttachmentBehavior.AttachToNewWorkflows,
		OptIn:                a.AttachmentBehavior.OptIn,
		Raw:                  raw,
	}
	// Seed 003 shows no timestamps; keep them if a tenant sends them.
	var ts struct {
		CreatedAt *time.Time `json:"created_at"`
		UpdatedAt *time.Time `json:"updated_at"`
	}
	if json.Unmarshal(raw, &ts) == nil {
		if ts.CreatedAt != nil {
			r.CreatedAt = ts.CreatedAt.UnixMilli()
		}
		if ts.UpdatedAt != nil {
			r.UpdatedAt = ts.UpdatedAt.UnixMilli()
		}
	}
	return r
}

// RefreshAutomation fetches one automation and writes it to the cache (after
// a create or an edit). An automation the server no longer has is removed
// from the cache and the 404 is returned.
func RefreshAutomation(ctx context.Context, c *veza.Client, st *store.Store, id string) (store.AutomationRow, error) {
	rec, err := c.GetAutomation(ctx, id)
	if err != nil {
		if veza.IsStatus(err, http.StatusNotFound) {
			if derr := st.DeleteAutomation(ctx, id); derr != nil {
				err = errors.Join(err, derr)
			}
		}
		return store.AutomationRow{}, err
	}
	row := AutomationRow(rec)
	if err := st.PutAutomation(ctx, row); err != nil {
		return store.AutomationRow{}, err
	}
	return st.Automation(ctx, id)
}

// RefreshAttached fetches the automations attached to workflowID and
// replaces the cache's answer for that workflow; now stamps the fetch.
func RefreshAttached(ctx context.Context, c *veza.Client, st *store.Store, workflowID string, now time.Time) ([]store.Attachment, error) {
	list, err := c.AttachedAutomations(ctx, workflowID)
	if err != nil {
		return nil, err
	}
	atts := make([]store.Attachment, 0, len(list))
	for _, a := range list {
		atts = append(atts, store.Attachment{WorkflowID: workflowID, AutomationID: a.Automation.ID, OptIn: a.OptIn, FetchedAt: now.UnixMilli()})
	}
	if err := st.SetAttachments(ctx, workflowID, atts, now.UnixMilli()); err != nil {
		return nil, err
	}
	return atts, nil
}
