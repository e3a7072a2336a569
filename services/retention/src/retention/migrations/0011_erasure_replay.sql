-- The erasure log (O25): every completed erasure, so that it can be applied again to a store
-- whose database was restored from an older backup. The subject id is kept only encrypted
-- (REPLAY_KEY), and only for REPLAY_WINDOW_DAYS; the keyed hash stays as proof.
CREATE TABLE erasure_log (
    job_id          uuid PRIMARY KEY,
    kind            text NOT NULL,
    subject_hash    text,
    subject_sealed  text,
    tenant_id       text,
    category        text,
    older_than      timestamptz,
    held_subject_ids jsonb NOT NULL DEFAULT '[]',
    requested_at    timestamptz NOT NULL,
    completed_at    timestamptz NOT NULL
);
CREATE INDEX erasure_log_completed ON erasure_log (completed_at);
CREATE INDEX erasure_log_sealed ON erasure_log (completed_at) WHERE subject_sealed IS NOT NULL;

-- Jobs completed before the log existed: tenant and category scopes can be replayed, subject
-- scopes cannot (their id is gone).
INSERT INTO erasure_log (job_id, kind, subject_hash, tenant_id, category, older_than,
                         held_subject_ids, requested_at, completed_at)
SELECT id, scope, subject_hash, tenant_id, category, older_than,
       COALESCE(request_scope->'held_subject_ids', '[]'::jsonb), created_at, completed_at
FROM erasure_job WHERE completed_at IS NOT NULL;

-- A replay: every erasure since a time applied again to one store; itself recorded and signed.
CREATE TABLE erasure_replay (
    id            uuid PRIMARY KEY,
    store         text NOT NULL,
    since         timestamptz NOT NULL,
    requested_by  text NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    certificate   jsonb
);
CREATE INDEX erasure_replay_created ON erasure_replay (created_at DESC, id DESC);

-- One erasure of a replay; its id is the job id of the erasure.requested event it sends.
CREATE TABLE erasure_replay_item (
    id               uuid PRIMARY KEY,
    replay_id        uuid NOT NULL REFERENCES erasure_replay (id),
    job_id           uuid NOT NULL,
    kind             text NOT NULL,
    subject_hash     text,
    tenant_id        text,
    category         text,
    -- skipped: a subject erasure whose encrypted id is no longer kept (outside the window).
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'completed', 'skipped')),
    counts           jsonb,
    erased           integer,
    acknowledged_at  timestamptz
);
CREATE INDEX erasure_replay_item_replay ON erasure_replay_item (replay_id);
