-- A certificate carries a reason code and a reference, never the free-text reason (which may
-- name the person); the free text is optional and cleared when the job completes.
ALTER TABLE erasure_job ADD COLUMN reason_code text NOT NULL DEFAULT 'other';
ALTER TABLE erasure_job ADD COLUMN reference text;
ALTER TABLE erasure_job ALTER COLUMN reason DROP NOT NULL;
