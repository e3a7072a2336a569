-- O15/O16: a sweep first counts (a dry run asked of the stores), then, once approved (or for
-- rules marked auto-approve), has the stores act through category-scope erasure jobs.
CREATE TABLE retention_sweep (
    id            uuid PRIMARY KEY,
    status        text NOT NULL DEFAULT 'counting' CHECK (status IN
                      ('counting', 'awaiting_approval', 'erasing', 'completed', 'superseded')),
    trigger       text NOT NULL,
    requested_by  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    counted_at    timestamptz,
    approved_by   text,
    approved_at   timestamptz,
    completed_at  timestamptz,
    superseded_by uuid
);
CREATE INDEX retention_sweep_newest ON retention_sweep (created_at DESC, id DESC);

-- The stores a dry run asked, and when each answered.
CREATE TABLE retention_sweep_store (
    sweep_id    uuid NOT NULL REFERENCES retention_sweep (id),
    store       text NOT NULL,
    counted_at  timestamptz,
    PRIMARY KEY (sweep_id, store)
);

-- Per store and category: the rule applied, its cut-off, what the dry run counted, and the job
-- that acts on it (what the store's jobs removed is read from their answers). `planned`: the category has a rule this sweep applied; otherwise the
-- records went along with another category's (e.g. a closed account's logins).
CREATE TABLE retention_sweep_item (
    sweep_id      uuid NOT NULL REFERENCES retention_sweep (id),
    store         text NOT NULL,
    category      text NOT NULL,
    planned       boolean NOT NULL,
    period        text,
    clock         text,
    action        text,
    auto_approve  boolean NOT NULL DEFAULT false,
    cutoff        timestamptz,
    -- null: the store does not sweep this category itself (or has not answered yet).
    counted       integer,
    job_id        uuid REFERENCES erasure_job (id),
    PRIMARY KEY (sweep_id, store, category)
);
CREATE INDEX retention_sweep_item_job ON retention_sweep_item (job_id) WHERE job_id IS NOT NULL;
