-- Marks for Socotra failed scheduled jobs (entity 'socotra_failed', key
-- "group<US>name"), acknowledged like jobs in the triage. SQLite cannot
-- change a CHECK constraint: the table is rebuilt with its rows, and the two
-- views that read it are dropped first and created again unchanged.
DROP VIEW errored_jobs;
DROP VIEW error_groups;

CREATE TABLE marks_new (
    entity   TEXT    NOT NULL CHECK (entity IN ('jobs', 'tasks', 'group', 'socotra_failed')),
    key      TEXT    NOT NULL,
    note     TEXT    NOT NULL DEFAULT '',
    acked_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (entity, key)
) STRICT, WITHOUT ROWID;
INSERT INTO marks_new (entity, key, note, acked_at) SELECT entity, key, note, acked_at FROM marks;
DROP TABLE marks;
ALTER TABLE marks_new RENAME TO marks;

CREATE VIEW errored_jobs AS
SELECT j.job_id,
       datetime(j.created_at / 1000, 'unixepoch') AS created,
       j.identity_name, j.action_type, j.action_name, j.workflow_name,
       j.error_signature, j.error_message,
       EXISTS (SELECT 1 FROM marks m WHERE m.entity = 'jobs' AND m.key = j.job_id)
           OR EXISTS (SELECT 1 FROM marks m WHERE m.entity = 'group' AND m.key = j.error_signature) AS acked
FROM jobs j
WHERE j.state = 'ERRORED';

CREATE VIEW error_groups AS
SELECT g.error_signature,
       g.jobs,
       datetime(g.first_ms / 1000, 'unixepoch') AS first_seen,
       datetime(g.last_ms / 1000, 'unixepoch') AS last_seen,
       g.identities,
       EXISTS (SELECT 1 FROM marks m WHERE m.entity = 'group' AND m.key = g.error_signature) AS acked
FROM (SELECT error_signature, count(*) AS jobs, min(created_at) AS first_ms, max(created_at) AS last_ms,
             count(DISTINCT identity_id) AS identities
      FROM jobs WHERE state = 'ERRORED' GROUP BY error_signature) g;
