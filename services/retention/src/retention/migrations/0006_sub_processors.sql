-- O7: the sub-processors the platform engages, where they process, and on which basis data
-- leaves the EEA. Operators maintain it; every addition, change and removal is dated.
CREATE TABLE sub_processor (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    service         text NOT NULL,
    location        text NOT NULL CHECK (location ~ '^[A-Z]{2}$'),
    in_eea          boolean NOT NULL,
    transfer_basis  text CHECK (transfer_basis IN ('adequacy_decision',
                        'standard_contractual_clauses', 'binding_corporate_rules')),
    added_by        text NOT NULL,
    added_at        timestamptz NOT NULL DEFAULT now(),
    changed_by      text NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    removed_by      text,
    removed_at      timestamptz,
    CHECK (in_eea OR transfer_basis IS NOT NULL)
);
CREATE INDEX sub_processor_newest ON sub_processor (added_at DESC, id DESC);

CREATE TABLE sub_processor_change (
    id                bigserial PRIMARY KEY,
    sub_processor_id  uuid NOT NULL REFERENCES sub_processor (id),
    change            text NOT NULL CHECK (change IN ('added', 'changed', 'removed')),
    state             jsonb NOT NULL,
    changed_by        text NOT NULL,
    changed_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sub_processor_change_of ON sub_processor_change (sub_processor_id, id);
