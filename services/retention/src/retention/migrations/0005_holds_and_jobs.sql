-- O17: a legal hold may keep one category of a tenant, names its lawful ground and a reference.
ALTER TABLE legal_hold ADD COLUMN category text;
ALTER TABLE legal_hold ADD COLUMN reference text;
ALTER TABLE legal_hold ADD COLUMN ground text NOT NULL DEFAULT 'legal_claims'
    CHECK (ground IN ('legal_claims', 'legal_obligation', 'investigation', 'authority_request'));
ALTER TABLE legal_hold ADD CONSTRAINT legal_hold_category_of_a_tenant
    CHECK (category IS NULL OR (tenant_id IS NOT NULL AND subject_id IS NULL));
CREATE INDEX legal_hold_active_tenant ON legal_hold (tenant_id) WHERE released_at IS NULL;

-- O25: a job is `stuck` when a store has not answered by its deadline, and
-- `completed_with_holds` when a legal hold kept part of its scope.
ALTER TABLE erasure_job DROP CONSTRAINT erasure_job_status_check;
ALTER TABLE erasure_job ADD CONSTRAINT erasure_job_status_check
    CHECK (status IN ('pending', 'stuck', 'completed', 'completed_with_holds'));
ALTER TABLE erasure_job ADD COLUMN stuck_since timestamptz;
-- A follow-up job erases what a released hold kept of an earlier one.
ALTER TABLE erasure_job ADD COLUMN follows_job_id uuid REFERENCES erasure_job (id);
DROP INDEX erasure_job_pending;
CREATE INDEX erasure_job_open ON erasure_job (deadline_at) WHERE status IN ('pending', 'stuck');
CREATE INDEX erasure_job_newest ON erasure_job (created_at DESC, id DESC);
CREATE INDEX erasure_job_follows ON erasure_job (follows_job_id) WHERE follows_job_id IS NOT NULL;

ALTER TABLE erasure_job_store ADD COLUMN held jsonb;

-- The holds that kept part of a job's scope, so that their release can erase the rest.
CREATE TABLE erasure_job_hold (
    job_id   uuid NOT NULL REFERENCES erasure_job (id),
    hold_id  uuid NOT NULL REFERENCES legal_hold (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, hold_id)
);
CREATE INDEX erasure_job_hold_hold ON erasure_job_hold (hold_id);
