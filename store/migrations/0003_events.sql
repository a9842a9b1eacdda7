-- Veza system events (seed 002, API-CONTRACT.md §1.6).
--
-- One row per event, keyed by the API's id; append-only here (the cache
-- outlives the one-month upstream retention). Columns carry the event's JSON
-- field names so SCIM filters map directly. timestamp and persisted_at are
-- unix milliseconds (the API sends nanoseconds: raw keeps them);
-- persisted_at is 0 unless the server sends it (the export filters on it but
-- seed 002's objects do not carry it). severity is COLLATE NOCASE like every
-- enum store/filter compares, so `severity eq "ERROR"` can use its index.
-- error is the event's error object as JSON ('' when null); error_reason and
-- error_message are its reason and message, promoted to columns for the list
-- and for filters; metadata is error.metadata as JSON ('' when absent).
-- raw is the event object as received.
CREATE TABLE events (
    rowid         INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL CHECK (id <> ''),
    timestamp     INTEGER NOT NULL DEFAULT 0,
    persisted_at  INTEGER NOT NULL DEFAULT 0,
    severity      TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    category      TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    event_type    TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    name          TEXT    NOT NULL DEFAULT '',
    message       TEXT    NOT NULL DEFAULT '',
    entity        TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    entity_id     TEXT    NOT NULL DEFAULT '',
    entity_name   TEXT    NOT NULL DEFAULT '',
    provider_id   TEXT    NOT NULL DEFAULT '',
    error_reason  TEXT    NOT NULL DEFAULT '',
    error_message TEXT    NOT NULL DEFAULT '',
    error         TEXT    NOT NULL DEFAULT '',
    metadata      TEXT    NOT NULL DEFAULT '',
    raw           TEXT    NOT NULL DEFAULT '{}',
    synced_at     INTEGER NOT NULL DEFAULT 0
) STRICT;
--   events_id        upsert key and detail fetch
--   events_ts        the list, newest first (follow mode); time ranges
--   events_sev_ts    `severity eq "ERROR"` newest first
CREATE UNIQUE INDEX events_id ON events (id);
CREATE INDEX events_ts ON events (timestamp);
CREATE INDEX events_sev_ts ON events (severity, timestamp);
