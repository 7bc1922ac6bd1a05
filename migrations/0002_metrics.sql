-- What /metrics aggregates: each ended fork once (exported by its Orchestrator), its steps'
-- attempts, and live fork counts per run.
ALTER TABLE runs ADD COLUMN running INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS fork_results (
  run_id       TEXT NOT NULL,
  n            INTEGER NOT NULL,
  status       TEXT NOT NULL,
  duration_ms  INTEGER,
  sandbox_usd  REAL NOT NULL DEFAULT 0,
  llm_usd      REAL NOT NULL DEFAULT 0,
  model        TEXT NOT NULL DEFAULT '',
  finished_at  TEXT NOT NULL,
  PRIMARY KEY (run_id, n)
);

CREATE TABLE IF NOT EXISTS fork_steps (
  run_id    TEXT NOT NULL,
  n         INTEGER NOT NULL,
  step      TEXT NOT NULL,
  attempts  INTEGER NOT NULL,
  status    TEXT NOT NULL,
  PRIMARY KEY (run_id, n, step)
);
