-- Stores that answered a job within the last seconds are busy, not deaf, and are not asked
-- again (reemit_overdue). The slowest store's answer is the one that completes a job, so the
-- recently completed jobs are looked at too, found by when they completed.
CREATE INDEX erasure_job_completed ON erasure_job (completed_at) WHERE completed_at IS NOT NULL;
