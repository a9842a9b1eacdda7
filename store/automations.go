package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opsdeck/opsdeck/store/filter"
)

// Access-review Automations (seed 003): the whole set is replaced by each
// sync, so an automation deleted upstream disappears here too (the only
// rows sync ever deletes). Attachments are cached per workflow, as the API
// answers them.

// EntityAutomations is the automations' entity name (Query, Count,
// StateCounts; StateCounts counts by kind).
const EntityAutomations = "automations"

// AutomationRow is one automation. Enum fields hold canonical names
// (internal/automation.Normalize), "" when unset; Kind is MODIFICATION,
// HIGHLIGHT, SUGGEST_ACCEPT or SUGGEST_REJECT. sync converts from the wire
// type; Raw is the object as received, which editors start from.
type AutomationRow struct {
	RowID                int64
	ID                   string
	Name                 string
	Description          string
	Priority             int64
	Kind                 string
	Decision             string
	SignedOffState       string
	Notes                string
	DisplayStyle         string
	DisplayText          string
	HighlightColor       string
	Filter               string
	MutableFilter        string
	AttachToNewWorkflows bool
	OptIn                bool
	CreatedAt            int64 // unix ms, 0 when the server does not say
	UpdatedAt            int64
	Raw                  []byte // only Automation (the detail read) fills it
	SyncedAt             int64
}

var automationCols = []string{
	"rowid", "id", "name", "description", "priority", "kind", "decision", "signed_off_state",
	"notes", "display_style", "display_text", "highlight_color", "filter", "mutable_filter",
	"attach_to_new_workflows", "opt_in", "created_at", "updated_at", "synced_at",
	"raw",
}

const automationPayloadCols = 1

func (r *AutomationRow) ptrs() []any {
	return []any{
		&r.RowID, &r.ID, &r.Name, &r.Description, &r.Priority, &r.Kind, &r.Decision, &r.SignedOffState,
		&r.Notes, &r.DisplayStyle, &r.DisplayText, &r.HighlightColor, &r.Filter, &r.MutableFilter,
		&r.AttachToNewWorkflows, &r.OptIn, &r.CreatedAt, &r.UpdatedAt, &r.SyncedAt,
		&r.Raw,
	}
}

func (r *AutomationRow) args(syncedAt int64) []any {
	return []any{
		r.ID, r.Name, r.Description, r.Priority, r.Kind, r.Decision, r.SignedOffState,
		r.Notes, r.DisplayStyle, r.DisplayText, r.HighlightColor, r.Filter, r.MutableFilter,
		b2i(r.AttachToNewWorkflows), b2i(r.OptIn), r.CreatedAt, r.UpdatedAt, syncedAt,
		textOrDefault(r.Raw, "{}"),
	}
}

// Field: see JobRow.Field.
func (r *AutomationRow) Field(name string) (any, bool) {
	switch name {
	case "id":
		return r.ID, true
	case "name":
		return r.Name, true
	case "description":
		return r.Description, true
	case "priority":
		return r.Priority, true
	case "kind":
		return r.Kind, true
	case "decision":
		return r.Decision, true
	case "signed_off_state":
		return r.SignedOffState, true
	case "notes":
		return r.Notes, true
	case "display_style":
		return r.DisplayStyle, true
	case "display_text":
		return r.DisplayText, true
	case "highlight_color":
		return r.HighlightColor, true
	case "filter":
		return r.Filter, true
	case "mutable_filter":
		return r.MutableFilter, true
	case "attach_to_new_workflows":
		return r.AttachToNewWorkflows, true
	case "opt_in":
		return r.OptIn, true
	case "created_at":
		return r.CreatedAt, true
	case "updated_at":
		return r.UpdatedAt, true
	case "synced_at":
		return r.SyncedAt, true
	}
	return nil, false
}

func (r *AutomationRow) rowID() int64 { return r.RowID }

var automationsEntity = registerEntity(&entity{EntityAutomations, filter.Automations, "name", automationCols, automationPayloadCols})

// AutomationKey is r's position in q's order.
func AutomationKey(q Query, r AutomationRow) Key { return keyOf(automationsEntity, q, &r) }

// Automations returns a keyset page of automations (see Jobs); Sort ""
// means by name. List rows carry no Raw.
func (s *Store) Automations(ctx context.Context, q Query, after *Key, backward bool, limit int) ([]AutomationRow, error) {
	return page(ctx, s, automationsEntity, q, after, backward, limit, func(rows *sql.Rows) (AutomationRow, error) {
		var r AutomationRow
		p := r.ptrs()
		return r, rows.Scan(p[:len(p)-automationPayloadCols]...)
	})
}

var automationByIDSQL = "SELECT " + strings.Join(automationCols, ", ") + " FROM automations WHERE id = ?"

// Automation returns one automation with its raw object, or ErrNotFound.
func (s *Store) Automation(ctx context.Context, id string) (AutomationRow, error) {
	var r AutomationRow
	err := s.queryRow(ctx, automationByIDSQL, id).Scan(r.ptrs()...)
	return r, notFound(err, "automation", id)
}

// AutomationWriteStats is what WriteAutomations did.
type AutomationWriteStats struct {
	WriteStats
	Deleted int // automations gone upstream, removed with their attachments
}

var automationUpsertSQL = upsertSQL("automations", automationCols[1:], "id", nil)

// WriteAutomations makes the cache hold exactly all (the full list the API
// returned): new rows are inserted, changed ones updated, unchanged ones
// left alone (not rewritten), and rows not in all are deleted together with
// their cached attachments. The kind counters and cur (when non-nil) are
// written in the same transaction.
func (s *Store) WriteAutomations(ctx context.Context, all []AutomationRow, cur *Cursor) (AutomationWriteStats, error) {
	if s.readOnly {
		return AutomationWriteStats{}, ErrReadOnly
	}
	ids := make([]string, len(all))
	for i := range all {
		if all[i].ID == "" {
			return AutomationWriteStats{}, fmt.Errorf("write automations: automation %d has no id", i)
		}
		ids[i] = all[i].ID
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return AutomationWriteStats{}, err
	}
	var st AutomationWriteStats
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		stored := map[string]bool{}
		rows, err := tx.QueryContext(ctx, "SELECT id FROM automations")
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			stored[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if st.WriteStats, err = upsertAutomations(ctx, tx, all, stored); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM automations WHERE id NOT IN (SELECT value FROM json_each(?))", string(idsJSON))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		st.Deleted = int(n)
		if err := afterAutomationChange(ctx, tx); err != nil {
			return err
		}
		if cur != nil {
			if _, err := tx.ExecContext(ctx, cursorUpsertSQL, cur.Source, cur.Value, nowMS()); err != nil {
				return fmt.Errorf("set cursor %s: %w", cur.Source, err)
			}
		}
		return nil
	})
	if err != nil {
		return AutomationWriteStats{}, fmt.Errorf("write automations: %w", err)
	}
	return st, nil
}

func upsertAutomations(ctx context.Context, tx *sql.Tx, rows []AutomationRow, stored map[string]bool) (WriteStats, error) {
	var st WriteStats
	if len(rows) == 0 {
		return st, nil
	}
	stmt, err := tx.PrepareContext(ctx, automationUpsertSQL)
	if err != nil {
		return st, err
	}
	defer stmt.Close()
	now := nowMS()
	for i := range rows {
		r := &rows[i]
		res, err := stmt.ExecContext(ctx, r.args(now)...)
		if err != nil {
			return st, fmt.Errorf("automation %s: %w", r.ID, err)
		}
		changed, err := res.RowsAffected()
		if err != nil {
			return st, err
		}
		switch {
		case !stored[r.ID]:
			st.Inserted++
		case changed == 0:
			st.Unchanged++
		default:
			st.Updated++
		}
		stored[r.ID] = true
	}
	return st, nil
}

// afterAutomationChange drops attachments of automations that no longer
// exist, refreshes the per-workflow counts and recounts the kinds: the
// table holds tens of rows, so recounting is cheaper than bookkeeping.
func afterAutomationChange(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []string{
		"DELETE FROM automation_attachments WHERE automation_id NOT IN (SELECT id FROM automations)",
		`UPDATE automation_workflows SET attached = (SELECT count(*) FROM automation_attachments a
			WHERE a.workflow_id = automation_workflows.workflow_id)`,
		"DELETE FROM state_counts WHERE entity = 'automations'",
		"INSERT INTO state_counts (entity, state, n) SELECT 'automations', kind, count(*) FROM automations GROUP BY kind",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// PutAutomation stores one automation (the answer to a create or an edit,
// written back so the cache shows it before the next sync).
func (s *Store) PutAutomation(ctx context.Context, r AutomationRow) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if r.ID == "" {
		return errors.New("put automation: no id")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := upsertAutomations(ctx, tx, []AutomationRow{r}, map[string]bool{}); err != nil {
			return err
		}
		return afterAutomationChange(ctx, tx)
	})
}

// DeleteAutomation removes one automation and its cached attachments (after
// the API deleted it). Deleting an absent id is not an error.
func (s *Store) DeleteAutomation(ctx context.Context, id string) error {
	if s.readOnly {
		return ErrReadOnly
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM automations WHERE id = ?", id); err != nil {
			return err
		}
		return afterAutomationChange(ctx, tx)
	})
}

// Attachment is one automation attached to one workflow, as last fetched.
type Attachment struct {
	WorkflowID   string
	AutomationID string
	OptIn        bool
	FetchedAt    int64 // unix ms of the fetch that reported it
}

// Workflow is a workflow whose attached automations were fetched at least
// once.
type Workflow struct {
	ID        string
	FetchedAt int64
	Attached  int // automations attached at FetchedAt
}

// SetAttachments records the answer of GET …/automations:attached/{workflow}
// fetched at fetchedAt (unix ms): it replaces every cached attachment of the
// workflow, in one transaction. The WorkflowID and FetchedAt of atts are
// ignored.
func (s *Store) SetAttachments(ctx context.Context, workflowID string, atts []Attachment, fetchedAt int64) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if workflowID == "" {
		return errors.New("set attachments: no workflow id")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM automation_attachments WHERE workflow_id = ?", workflowID); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, a := range atts {
			if a.AutomationID == "" || seen[a.AutomationID] {
				continue
			}
			seen[a.AutomationID] = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO automation_attachments (workflow_id, automation_id, opt_in, fetched_at)
				VALUES (?, ?, ?, ?)`, workflowID, a.AutomationID, b2i(a.OptIn), fetchedAt); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO automation_workflows (workflow_id, fetched_at, attached) VALUES (?, ?, ?)
			ON CONFLICT (workflow_id) DO UPDATE SET fetched_at = excluded.fetched_at, attached = excluded.attached`,
			workflowID, fetchedAt, len(seen))
		return err
	})
}

// Attachments returns the workflows automationID is attached to, from the
// per-workflow answers cached so far, by workflow id.
func (s *Store) Attachments(ctx context.Context, automationID string) ([]Attachment, error) {
	return s.attachments(ctx, `SELECT workflow_id, automation_id, opt_in, fetched_at FROM automation_attachments
		WHERE automation_id = ? ORDER BY workflow_id`, automationID)
}

// WorkflowAttachments returns the automations attached to workflowID as last
// fetched, by automation id.
func (s *Store) WorkflowAttachments(ctx context.Context, workflowID string) ([]Attachment, error) {
	return s.attachments(ctx, `SELECT workflow_id, automation_id, opt_in, fetched_at FROM automation_attachments
		WHERE workflow_id = ? ORDER BY automation_id`, workflowID)
}

func (s *Store) attachments(ctx context.Context, q, arg string) ([]Attachment, error) {
	rows, err := s.query(ctx, q, arg)
	if err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	defer rows.Close()
	var out []Attachment
	for rows.Next() {
		var a Attachment
		if err := rows.Scan(&a.WorkflowID, &a.AutomationID, &a.OptIn, &a.FetchedAt); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Workflows lists the workflows whose attached automations were fetched,
// most recently fetched first (a few dozen at most: one per workflow a user
// looked at or attached to).
func (s *Store) Workflows(ctx context.Context) ([]Workflow, error) {
	rows, err := s.query(ctx, "SELECT workflow_id, fetched_at, attached FROM automation_workflows ORDER BY fetched_at DESC, workflow_id")
	if err != nil {
		return nil, fmt.Errorf("workflows: %w", err)
	}
	defer rows.Close()
	var out []Workflow
	for rows.Next() {
		var w Workflow
		if err := rows.Scan(&w.ID, &w.FetchedAt, &w.Attached); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// AutomationDraft is an editor draft that was not saved.
type AutomationDraft struct {
	AutomationID string // "" for a new automation
	Draft        []byte // the automation as edited (JSON)
	Reason       string // why it was not saved
	SavedAt      int64
}

// SaveAutomationDraft keeps what the user typed when a save failed, so the
// next edit of that automation reopens it. One draft per automation.
func (s *Store) SaveAutomationDraft(ctx context.Context, d AutomationDraft) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if d.SavedAt == 0 {
		d.SavedAt = nowMS()
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO automation_drafts (automation_id, draft, reason, saved_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (automation_id) DO UPDATE SET draft = excluded.draft, reason = excluded.reason, saved_at = excluded.saved_at`,
			d.AutomationID, textOrDefault(d.Draft, "{}"), d.Reason, d.SavedAt)
		return err
	})
}

// GetAutomationDraft returns the draft kept for automationID ("" for a new
// one); ok is false when there is none.
func (s *Store) GetAutomationDraft(ctx context.Context, automationID string) (d AutomationDraft, ok bool, err error) {
	err = s.queryRow(ctx, "SELECT automation_id, draft, reason, saved_at FROM automation_drafts WHERE automation_id = ?", automationID).
		Scan(&d.AutomationID, &d.Draft, &d.Reason, &d.SavedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return d, false, nil
	}
	return d, err == nil, err
}

// DeleteAutomationDraft drops the draft of automationID (once saved).
func (s *Store) DeleteAutomationDraft(ctx context.Context, automationID string) error {
	if s.readOnly {
		return ErrReadOnly
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM automation_drafts WHERE automation_id = ?", automationID)
		return err
	})
}
