-- The GitHub issue or pull request a run reports to ("owner/repo#number", owner and repo in lower
-- case), so a `/pick k` comment on it finds the thread's latest run. NULL for runs without one.
ALTER TABLE runs ADD COLUMN github_thread TEXT;
CREATE INDEX IF NOT EXISTS runs_github_thread ON runs (github_thread, created_at DESC, id DESC);
