-- Deleted sessions (DELETE /v1/sessions/:id?purge=true, SESSION_RETENTION_DAYS): the session's
-- object, R2 objects and index row are gone; the tombstone makes a later read 404 `session_deleted`
-- (not `not_found`), and a delete repeated after a crash half-way finishes the job.
CREATE TABLE IF NOT EXISTS session_tombstones (
  id          TEXT PRIMARY KEY,
  reason      TEXT NOT NULL,
  deleted_at  TEXT NOT NULL
);
-- Retention finds idle and ended sessions by when they last changed.
CREATE INDEX IF NOT EXISTS sessions_updated ON sessions (updated_at);
