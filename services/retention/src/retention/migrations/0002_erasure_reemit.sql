-- When the stores that have not answered an open erasure job are asked again: seconds after
-- the request, then with a growing pause (retention.erasure.service.reemit_overdue).
ALTER TABLE erasure_job ADD COLUMN reemit_at timestamptz;
UPDATE erasure_job SET reemit_at = now() WHERE status = 'pending';
CREATE INDEX erasure_job_reemit ON erasure_job (reemit_at) WHERE status IN ('pending', 'stuck');
