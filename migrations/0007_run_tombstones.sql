-- Deleted runs (DELETE /v1/runs/:id, RUN_RETENTION_DAYS): a run id is derived from its
-- Idempotency-Key or webhook delivery, so a replayed request after a delete would create the run
-- again under the same id (and Workflow instance ids the engine still holds). The tombstone says
-- it was deleted: a create answers 410 `run_deleted`, a read 404 `run_deleted`.
CREATE TABLE IF NOT EXISTS run_tombstones (
  id          TEXT PRIMARY KEY,
  reason      TEXT NOT NULL,
  deleted_at  TEXT NOT NULL
);
-- Retention finds ended runs by when they last changed.
CREATE INDEX IF NOT EXISTS runs_updated ON runs (updated_at);
