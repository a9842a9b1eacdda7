-- opsdeck cache, schema v1: the Lifecycle Management activity log.
--
-- Columns carry the API's JSON field names so that a SCIM filter translates
-- to SQL without a mapping table (store/filter). Times are INTEGER unix
-- milliseconds with 0 for "unset"; booleans are 0/1. `raw` keeps the object as
-- received (for jobs without request/result, which have their own columns).
-- `rowid` is the table's own key: UUID-keyed tables would scatter every insert
-- across the whole file, rowid order follows the sync's created_at order.
-- `state` is COLLATE NOCASE because store/filter compares enums with COLLATE
-- NOCASE: only an index of the same collation can serve `state eq "ERRORED"`.

CREATE TABLE tasks (
    rowid                        INTEGER PRIMARY KEY,
    id                           TEXT    NOT NULL CHECK (id <> ''),
    policy_id                    TEXT    NOT NULL DEFAULT '',
    policy_version_number        INTEGER NOT NULL DEFAULT 0,
    workflow                     TEXT    NOT NULL DEFAULT '',
    entity_type                  TEXT    NOT NULL DEFAULT '',
    entity_id                    TEXT    NOT NULL DEFAULT '',
    identity_id                  TEXT    NOT NULL DEFAULT '',
    identity_name                TEXT    NOT NULL DEFAULT '',
    identity_status              TEXT    NOT NULL DEFAULT '',
    state                        TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    dry_run                      INTEGER NOT NULL DEFAULT 0,
    extraction_event             TEXT    NOT NULL DEFAULT '',
    previous_task_id             TEXT    NOT NULL DEFAULT '',
    scheduled_at                 INTEGER NOT NULL DEFAULT 0,
    started_at                   INTEGER NOT NULL DEFAULT 0,
    completed_at                 INTEGER NOT NULL DEFAULT 0,
    any_changes                  INTEGER NOT NULL DEFAULT 0,
    high_priority                INTEGER NOT NULL DEFAULT 0,
    priority                     INTEGER NOT NULL DEFAULT 0,
    reason                       TEXT    NOT NULL DEFAULT '',
    manually_triggered           INTEGER NOT NULL DEFAULT 0,
    manually_triggered_by        TEXT    NOT NULL DEFAULT '',
    runtime_change_limit_reached INTEGER NOT NULL DEFAULT 0,
    disregard_change_limit       INTEGER NOT NULL DEFAULT 0,
    messages                     TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    t_created_at                 INTEGER NOT NULL DEFAULT 0,
    t_updated_at                 INTEGER NOT NULL DEFAULT 0,
    error_message                TEXT    NOT NULL DEFAULT '',   -- first of messages
    raw                          TEXT    NOT NULL DEFAULT '{}',
    synced_at                    INTEGER NOT NULL DEFAULT 0     -- last write that changed the row
) STRICT;
CREATE UNIQUE INDEX tasks_id ON tasks (id);
CREATE INDEX tasks_started ON tasks (started_at);
CREATE INDEX tasks_state_started ON tasks (state, started_at);

CREATE TABLE actions (
    rowid            INTEGER PRIMARY KEY,
    state            TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    policy_task      TEXT    NOT NULL CHECK (policy_task <> ''),
    action_name      TEXT    NOT NULL CHECK (action_name <> ''),
    action_type      TEXT    NOT NULL DEFAULT '',
    policy_id        TEXT    NOT NULL DEFAULT '',
    workflow_name    TEXT    NOT NULL DEFAULT '',
    identity_id      TEXT    NOT NULL DEFAULT '',
    identity_name    TEXT    NOT NULL DEFAULT '',
    started_at       INTEGER NOT NULL DEFAULT 0,
    completed_at     INTEGER NOT NULL DEFAULT 0,
    any_changes      INTEGER NOT NULL DEFAULT 0,
    extraction_event TEXT    NOT NULL DEFAULT '',
    jobs_started     INTEGER NOT NULL DEFAULT 0,
    error_message    TEXT    NOT NULL DEFAULT '',
    raw              TEXT    NOT NULL DEFAULT '{}',
    synced_at        INTEGER NOT NULL DEFAULT 0
) STRICT;
-- The key also serves "actions of a task" (prefix policy_task).
CREATE UNIQUE INDEX actions_key ON actions (policy_task, action_name);
CREATE INDEX actions_started ON actions (started_at);
CREATE INDEX actions_state_started ON actions (state, started_at);

CREATE TABLE jobs (
    rowid                 INTEGER PRIMARY KEY,
    job_id                TEXT    NOT NULL CHECK (job_id <> ''),
    state                 TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    policy_task           TEXT    NOT NULL DEFAULT '',
    action_name           TEXT    NOT NULL DEFAULT '',
    action_type           TEXT    NOT NULL DEFAULT '',
    policy_id             TEXT    NOT NULL DEFAULT '',
    workflow_name         TEXT    NOT NULL DEFAULT '',
    identity_id           TEXT    NOT NULL DEFAULT '',
    identity_name         TEXT    NOT NULL DEFAULT '',
    event_source          TEXT    NOT NULL DEFAULT '',
    event_source_id       TEXT    NOT NULL DEFAULT '',
    extraction_event      TEXT    NOT NULL DEFAULT '',
    extraction_event_type TEXT    NOT NULL DEFAULT '',
    started_at            INTEGER NOT NULL DEFAULT 0,
    completed_at          INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL DEFAULT 0,
    any_changes           INTEGER NOT NULL DEFAULT 0,
    events_created        INTEGER NOT NULL DEFAULT 0,
    error_message         TEXT    NOT NULL DEFAULT '', -- first of result.error_messages
    request               TEXT,                        -- NULL until fetched with details
    result                TEXT,
    raw                   TEXT    NOT NULL DEFAULT '{}',
    synced_at             INTEGER NOT NULL DEFAULT 0
) STRICT;
-- Indexes are much of the ingest cost (a random UUID key dirties a page per
-- row), so there are exactly four, one per screen. BenchmarkIngestIndexCost,
-- 100k jobs in pages of 1,000: 32k rows/s with all four; dropping jobs_task
-- gives +20%, jobs_state_created +10%, jobs_created +2%.
--   jobs_job_id         upsert key and detail fetch
--   jobs_created        all jobs, newest first (created_at, rowid)
--   jobs_state_created  `state eq "ERRORED"` newest first
--   jobs_task           jobs of a task or of one of its actions: a task has a
--                       handful of jobs, so action_name needs no index column
--                       (it compares NOCASE, a BINARY column could not serve it)
CREATE UNIQUE INDEX jobs_job_id ON jobs (job_id);
CREATE INDEX jobs_created ON jobs (created_at);
CREATE INDEX jobs_state_created ON jobs (state, created_at);
CREATE INDEX jobs_task ON jobs (policy_task);

-- Where each sync stream stopped (page token, high-water mark, ...).
CREATE TABLE sync_cursors (
    source     TEXT PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- Small facts about the cache: source URL, last successful sync, profile.
-- Never a credential.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
