-- Cross-session index behind GET /v1/sessions. Each Session Durable Object is the source of truth
-- and writes its summary row here when its status or cost changes.
CREATE TABLE IF NOT EXISTS sessions (
  id          TEXT PRIMARY KEY,
  title       TEXT NOT NULL,
  status      TEXT NOT NULL,
  repo        TEXT NOT NULL,
  branch      TEXT NOT NULL,
  model       TEXT NOT NULL,
  turns       INTEGER NOT NULL DEFAULT 0,
  cost_usd    REAL NOT NULL DEFAULT 0,
  parent_id   TEXT,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_created ON sessions (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS sessions_status_created ON sessions (status, created_at DESC, id DESC);

-- Ended session turns (written once by their Session object), behind the turn metrics.
CREATE TABLE IF NOT EXISTS session_turns (
  session_id   TEXT NOT NULL,
  n            INTEGER NOT NULL,
  status       TEXT NOT NULL,
  duration_ms  INTEGER,
  llm_usd      REAL NOT NULL DEFAULT 0,
  model        TEXT NOT NULL,
  finished_at  TEXT NOT NULL,
  PRIMARY KEY (session_id, n)
);
