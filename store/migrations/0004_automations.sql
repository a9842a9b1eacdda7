-- Access-review Automations (seed 003, API-CONTRACT.md §1.7).
--
-- The whole set is small (tens of rules) and is replaced by every sync:
-- rows deleted upstream are deleted here (store/automations.go). Columns
-- carry the API's field names (criteria.filter is `filter`) so the list's
-- SCIM filter maps straight onto them; enums hold canonical names. `kind`
-- is MODIFICATION, HIGHLIGHT, SUGGEST_ACCEPT or SUGGEST_REJECT
-- (internal/automation.KindOf); state_counts keeps a count per kind under
-- entity 'automations'. `raw` is the object as the server sent it: editing
-- starts from it, since a PUT must carry the full object.

CREATE TABLE automations (
    rowid                   INTEGER PRIMARY KEY,
    id                      TEXT    NOT NULL CHECK (id <> ''),
    name                    TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    description             TEXT    NOT NULL DEFAULT '',
    priority                INTEGER NOT NULL DEFAULT 0,
    kind                    TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    decision                TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    signed_off_state        TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    notes                   TEXT    NOT NULL DEFAULT '',
    display_style           TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    display_text            TEXT    NOT NULL DEFAULT '',
    highlight_color         TEXT    NOT NULL DEFAULT '',
    filter                  TEXT    NOT NULL DEFAULT '',
    mutable_filter          TEXT    NOT NULL DEFAULT '',
    attach_to_new_workflows INTEGER NOT NULL DEFAULT 0,
    opt_in                  INTEGER NOT NULL DEFAULT 0,
    created_at              INTEGER NOT NULL DEFAULT 0, -- when the server sends it
    updated_at              INTEGER NOT NULL DEFAULT 0,
    raw                     TEXT    NOT NULL DEFAULT '{}',
    synced_at               INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX automations_id ON automations (id);
CREATE INDEX automations_name ON automations (name);

-- Which automations are attached to a workflow, as last fetched from
-- GET …/automations:attached/{workflow_id}: the API has no "workflows of
-- an automation" call, so that question is answered from these per-workflow
-- answers. A fetch replaces all rows of its workflow.
CREATE TABLE automation_attachments (
    workflow_id   TEXT    NOT NULL,
    automation_id TEXT    NOT NULL,
    opt_in        INTEGER NOT NULL DEFAULT 0,
    fetched_at    INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, automation_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX automation_attachments_automation ON automation_attachments (automation_id);

-- The workflows whose attached list was fetched at least once, so an empty
-- answer ("nothing attached") is remembered too, and the attach dialog can
-- offer the workflows seen so far.
CREATE TABLE automation_workflows (
    workflow_id TEXT    PRIMARY KEY,
    fetched_at  INTEGER NOT NULL,
    attached    INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

-- Editor drafts that could not be saved (offline, server error): nothing a
-- user typed is lost. automation_id is '' for a new automation.
CREATE TABLE automation_drafts (
    automation_id TEXT    PRIMARY KEY,
    draft         TEXT    NOT NULL,
    reason        TEXT    NOT NULL DEFAULT '',
    saved_at      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
