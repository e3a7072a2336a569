-- What each store declared it holds (its privacy-provider inventory), merged into the register.
CREATE TABLE store_inventory (
    store         text PRIMARY KEY,
    categories    jsonb NOT NULL,
    personal      boolean NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE erasure_job (
    id              uuid PRIMARY KEY,
    scope           text NOT NULL CHECK (scope IN ('subject', 'tenant', 'category')),
    -- Cleared when the job completes: afterwards only the keyed hash remains.
    subject_id      text,
    subject_hash    text,
    tenant_id       text,
    category        text,
    older_than      timestamptz,
    reason          text NOT NULL,
    trigger         text NOT NULL,
    requested_by    text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed')),
    overdue         boolean NOT NULL DEFAULT false,
    reemitted       integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deadline_at     timestamptz NOT NULL,
    completed_at    timestamptz,
    certificate     jsonb
);
CREATE INDEX erasure_job_subject ON erasure_job (subject_id) WHERE subject_id IS NOT NULL;
CREATE INDEX erasure_job_pending ON erasure_job (deadline_at) WHERE status = 'pending';

CREATE TABLE erasure_job_store (
    job_id           uuid NOT NULL REFERENCES erasure_job (id),
    store            text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed')),
    counts           jsonb,
    erased           integer,
    acknowledged_at  timestamptz,
    PRIMARY KEY (job_id, store)
);

-- O17: data under a legal request, investigation or claim is kept until released.
CREATE TABLE legal_hold (
    id           uuid PRIMARY KEY,
    subject_id   text,
    tenant_id    text,
    reason       text NOT NULL,
    placed_by    text NOT NULL,
    placed_at    timestamptz NOT NULL DEFAULT now(),
    released_by  text,
    released_at  timestamptz,
    CHECK (subject_id IS NOT NULL OR tenant_id IS NOT NULL)
);
CREATE INDEX legal_hold_active_subject ON legal_hold (subject_id) WHERE released_at IS NULL;
