-- The free-text index keeps which jobs hold each trigram, not where
-- (detail=none): built in a third of the time and a fifth of the space of
-- detail=full (300k jobs: 2.0 s vs 5.6 s in the sqlite3 shell, 18 MB vs
-- 81 MB), which is most of what a first sync spends after its last page.
-- A search asks for all of its trigrams (a superset: they need not be
-- adjacent) and then checks the rows with LIKE (store/triage.go
-- textCondHow), so results are exactly LIKE's, as before.
--
-- The old index is dropped, not converted: every job goes back to the
-- backlog (indexed_upto 0), searches read the backlog directly meanwhile,
-- and the next write indexes it in one pass.
DROP TABLE jobs_fts;
CREATE VIRTUAL TABLE jobs_fts USING fts5(
    identity_name, action_name, workflow_name, error_message,
    content = 'jobs', content_rowid = 'rowid', tokenize = 'trigram', columnsize = 0, detail = none
);
UPDATE jobs_fts_state SET indexed_upto = 0;
DELETE FROM jobs_fts_pending;
-- Its in-memory hash may grow to 32 MiB before a segment is written
-- (default 1 MiB): indexing a large backlog (a first sync, this upgrade)
-- then writes a few big segments instead of merging hundreds of small
-- ones (300k jobs: 3.4 s vs 5.6 s with detail=full in the sqlite3 shell).
-- A normal backlog (store/triage.go textIndexBatch) never fills it.
INSERT INTO jobs_fts (jobs_fts, rank) VALUES ('hashsize', 33554432);
