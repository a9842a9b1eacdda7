-- The Socotra events API (seed 004, API-CONTRACT.md §2).
--
-- socotra_events is the event stream: append-only here (the cache outlives
-- upstream retention), keyed by the event locator. type_prefix is the type
-- without its last segment (policy.quote.issue -> policy.quote): the group a
-- list colours and counts by. Both compare NOCASE like every filtered text.
-- user is the event's userLocator. data is the event's data map as JSON.
-- raw is the event object as received.
CREATE TABLE socotra_events (
    rowid       INTEGER PRIMARY KEY,
    locator     TEXT    NOT NULL CHECK (locator <> ''),
    timestamp   INTEGER NOT NULL DEFAULT 0,
    type        TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    type_prefix TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    user        TEXT    NOT NULL DEFAULT '',
    request_id  TEXT    NOT NULL DEFAULT '',
    data        TEXT    NOT NULL DEFAULT '{}',
    raw         TEXT    NOT NULL DEFAULT '{}',
    synced_at   INTEGER NOT NULL DEFAULT 0
) STRICT;
--   socotra_events_locator  upsert key and detail fetch
--   socotra_events_ts       the list, newest first; time ranges
--   socotra_events_request  all events of one API request
--   socotra_events_type     `type sw "policy.quote"` counts (LIKE on NOCASE)
CREATE UNIQUE INDEX socotra_events_locator ON socotra_events (locator);
CREATE INDEX socotra_events_ts ON socotra_events (timestamp);
CREATE INDEX socotra_events_request ON socotra_events (request_id);
CREATE INDEX socotra_events_type ON socotra_events (type);

-- Scheduled policy events, fetched per policy: a policy's rows are replaced
-- by each fetch (rows it no longer has are deleted). The API gives them no
-- locator of their own; (transaction_locator, custom_event_id) is the key.
CREATE TABLE socotra_scheduled (
    rowid               INTEGER PRIMARY KEY,
    policy_locator      TEXT    NOT NULL CHECK (policy_locator <> ''),
    transaction_locator TEXT    NOT NULL DEFAULT '',
    custom_event_id     TEXT    NOT NULL DEFAULT '',
    trigger_state       TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    next_event_time     INTEGER NOT NULL DEFAULT 0,
    raw                 TEXT    NOT NULL DEFAULT '{}',
    synced_at           INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX socotra_scheduled_key ON socotra_scheduled (transaction_locator, custom_event_id);
CREATE INDEX socotra_scheduled_policy ON socotra_scheduled (policy_locator);

-- Failed scheduled jobs: a full snapshot of the queued and quit lists each
-- sync; a job no longer failing upstream (resumed, deleted) is deleted here
-- in the same transaction. state is the failedJobState (queued | quit).
-- policy_locator is derived from a "policy:<locator>" trigger group, '' for
-- tenant jobs.
CREATE TABLE socotra_failed (
    rowid          INTEGER PRIMARY KEY,
    trigger_group  TEXT    NOT NULL CHECK (trigger_group <> ''),
    trigger_name   TEXT    NOT NULL CHECK (trigger_name <> ''),
    state          TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    failure_count  INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL DEFAULT 0,
    policy_locator TEXT    NOT NULL DEFAULT '',
    raw            TEXT    NOT NULL DEFAULT '{}',
    synced_at      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX socotra_failed_key ON socotra_failed (trigger_group, trigger_name);
CREATE INDEX socotra_failed_updated ON socotra_failed (updated_at);

-- state_counts (0002) holds, for socotra_events, the count per type_prefix;
-- for socotra_scheduled, per trigger_state; for socotra_failed, per state.
