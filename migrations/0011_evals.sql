-- Cross-eval index behind GET /v1/evals (the dashboard's Evals list). Each Evaluation Durable
-- Object is the source of truth and writes its summary row here when it is created and when its
-- status or progress changes (src/d1-index/eval-index.ts); DELETE /v1/evals/:id removes it.
CREATE TABLE IF NOT EXISTS evals (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  status      TEXT NOT NULL,
  configs     INTEGER NOT NULL,
  tasks       INTEGER NOT NULL,
  runs        INTEGER NOT NULL,
  settled     INTEGER NOT NULL DEFAULT 0,
  spent_usd   REAL NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS evals_created ON evals (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS evals_status_created ON evals (status, created_at DESC, id DESC);
