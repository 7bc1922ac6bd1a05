-- Runs a user can find: each run's title (given in POST /v1/runs, else the task's first line) and a
-- short summary of its task, written with every index write of the run; GET /v1/runs filters on
-- them (`q`: a substring of either) and on `repo`. A row written before this has empty strings
-- until its run's next index write (see README, Deploying: apply this migration before the Worker).
ALTER TABLE runs ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN task_summary TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS runs_repo_created ON runs (repo, created_at DESC, id DESC);
