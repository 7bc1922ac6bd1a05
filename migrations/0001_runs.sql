-- Cross-run index behind GET /v1/runs. The Orchestrator Durable Object of each run is the source
-- of truth; it writes a summary row here on every status change.
CREATE TABLE IF NOT EXISTS runs (
  id               TEXT PRIMARY KEY,
  status           TEXT NOT NULL,
  repo             TEXT NOT NULL,
  branch           TEXT NOT NULL,
  forks            INTEGER NOT NULL,
  succeeded        INTEGER NOT NULL DEFAULT 0,
  failed           INTEGER NOT NULL DEFAULT 0,
  cost_usd         REAL NOT NULL DEFAULT 0,
  idempotency_key  TEXT UNIQUE,
  request_hash     TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS runs_status_created ON runs (status, created_at DESC, id DESC);
