import { EVENTS_TABLE } from "../shared/event-log";
import type { Migration } from "../shared/migrations";

/**
 * An Evaluation's SQLite schema, versioned (src/objects/shared/migrations.ts): its constructor runs
 * `migrate(ctx.storage, EVAL_MIGRATIONS)` once per wake. `meta` holds the eval (its request with
 * the hidden checks, its status); `runs` one row per task × config (its run, the run's outcome as
 * the eval saw it end); `checks` one row per fork of an ended run (its hidden check's verdict);
 * `events` its progress log (GET /v1/evals/:id/events).
 */
export const EVAL_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "the eval record, its task × config runs, its forks' hidden checks and its event log",
    up(sql) {
      sql.exec(`
CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  seq INTEGER PRIMARY KEY,
  task TEXT NOT NULL,
  config TEXT NOT NULL,
  run_id TEXT,
  status TEXT NOT NULL,
  budget_usd REAL,
  cost_usd REAL NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  winner INTEGER,
  forks TEXT,
  error TEXT,
  UNIQUE (task, config)
);
CREATE TABLE IF NOT EXISTS checks (
  run_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  status TEXT NOT NULL,
  passed INTEGER,
  error TEXT,
  cost_usd REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, n)
);`);
      sql.exec(EVENTS_TABLE);
    },
  },
  {
    version: 2,
    description: "what each selector picked of a run judged with a tournament (pointwise and tournament), side by side",
    up(sql) {
      sql.exec("ALTER TABLE runs ADD COLUMN selected TEXT");
    },
  },
];
