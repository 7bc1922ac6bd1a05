-- The runs an eval created (POST /v1/evals): retention keeps them while their eval exists
-- (a pruner skips `id IN (SELECT run_id FROM eval_runs)`). Written by the Evaluation object
-- before it creates each run (src/objects/eval/evaluation.ts). Numbered 0008: 0007 is the run
-- tombstones' (retention).
CREATE TABLE IF NOT EXISTS eval_runs (
  run_id TEXT PRIMARY KEY,
  eval_id TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS eval_runs_eval ON eval_runs (eval_id);
