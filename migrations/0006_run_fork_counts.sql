-- The runs list counts every fork of a run by how it ended: besides succeeded and failed (failed and
-- timed out), cancelled and over budget. `forks` becomes the number of forks the run has (branched
-- forks included), written with the counts; a row written before this keeps the requested count
-- until its run's next index write.
ALTER TABLE runs ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN budget_exceeded INTEGER NOT NULL DEFAULT 0;
