-- O17: a subject job waits (`held`) while a legal hold on the subject's tenant stands, or while
-- the subject's tenant cannot be found out; it starts when the hold is released.
ALTER TABLE erasure_job DROP CONSTRAINT erasure_job_status_check;
ALTER TABLE erasure_job ADD CONSTRAINT erasure_job_status_check
    CHECK (status IN ('held', 'pending', 'stuck', 'completed', 'completed_with_holds'));
-- The hold that keeps the job waiting (NULL with held_reason 'tenant_unresolved').
ALTER TABLE erasure_job ADD COLUMN held_by uuid REFERENCES legal_hold (id);
ALTER TABLE erasure_job ADD COLUMN held_reason text
    CHECK (held_reason IN ('tenant_on_hold', 'subject_on_hold', 'tenant_unresolved'));
-- The tenant training-records named for the subject (cleared with the subject id).
ALTER TABLE erasure_job ADD COLUMN subject_tenant_id text;
CREATE INDEX erasure_job_held ON erasure_job (held_by) WHERE status = 'held';
