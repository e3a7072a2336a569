-- Training records: the store that holds most personal data of the suite.
-- Every person is keyed by a random pseudonymous uuid; names and e-mails are never keys (O8).

CREATE TABLE tenant (
    id                      uuid PRIMARY KEY,
    name                    text NOT NULL,
    contract_state          text NOT NULL DEFAULT 'active'
                            CHECK (contract_state IN ('active', 'suspended', 'terminated')),
    -- O5: a separate written agreement allows special-category data and BSNs.
    special_data_agreement  boolean NOT NULL DEFAULT false,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

-- Participants, Beheerders and subject-matter experts (experts have no tenant).
CREATE TABLE person (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid REFERENCES tenant (id) ON DELETE CASCADE,
    kind                text NOT NULL CHECK (kind IN ('participant', 'beheerder', 'expert')),
    name                text NOT NULL,
    email               text NOT NULL,
    birth_date          date,
    address             jsonb,
    phone               text,
    company             text,
    education           jsonb,
    work_history        jsonb,
    preferences         jsonb,
    public_profile      jsonb,
    parental_consent    jsonb,
    restricted_at       timestamptz,
    restricted_by       text,
    created_by          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'expert') = (tenant_id IS NULL))
);
CREATE UNIQUE INDEX person_email_per_tenant ON person (tenant_id, kind, lower(email))
    WHERE tenant_id IS NOT NULL;
CREATE INDEX person_tenant ON person (tenant_id, kind);

-- O24: what changed when and by whom; the values stay in this service.
CREATE TABLE person_rectification (
    id          bigserial PRIMARY KEY,
    person_id   uuid NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    tenant_id   uuid,
    field       text NOT NULL,
    old_value   jsonb,
    new_value   jsonb,
    changed_by  text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_rectification_person ON person_rectification (person_id);

-- O3/O19: every read of personal data by someone other than the person.
CREATE TABLE IF NOT EXISTS access_log (  -- the kit's 0006 may have made it
    id            bigserial PRIMARY KEY,
    subject_id    uuid NOT NULL,
    tenant_id     uuid,
    actor_sub     text NOT NULL,
    actor_roles   text[] NOT NULL,
    what          text NOT NULL,
    route         text NOT NULL,
    read_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS access_log_subject ON access_log (subject_id);
CREATE INDEX IF NOT EXISTS access_log_tenant ON access_log (tenant_id);

-- O13: learned from consent events; may arrive before the person exists here.
CREATE TABLE anonymisation_opt_out (
    subject_id  uuid PRIMARY KEY,
    opted_out   boolean NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

-- The platform's catalogue.
CREATE TABLE training (
    id           uuid PRIMARY KEY,
    title        text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE training_module (
    id           uuid PRIMARY KEY,
    training_id  uuid NOT NULL REFERENCES training (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    title        text NOT NULL,
    UNIQUE (training_id, position)
);

CREATE TABLE assignment (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    training_id     uuid NOT NULL REFERENCES training (id),
    participant_id  uuid NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    assigned_by     text,
    assigned_at     timestamptz NOT NULL DEFAULT now(),
    due_date        date,
    UNIQUE (participant_id, training_id)
);
CREATE INDEX assignment_tenant ON assignment (tenant_id);

CREATE TABLE module_progress (
    participant_id  uuid NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    module_id       uuid NOT NULL REFERENCES training_module (id),
    tenant_id       uuid NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    time_spent_s    integer NOT NULL DEFAULT 0 CHECK (time_spent_s >= 0),
    PRIMARY KEY (participant_id, module_id)
);
CREATE INDEX module_progress_tenant ON module_progress (tenant_id);

CREATE TABLE login (
    id              bigserial PRIMARY KEY,
    participant_id  uuid NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    tenant_id       uuid NOT NULL,
    logged_in_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_participant ON login (participant_id);
CREATE INDEX login_tenant ON login (tenant_id);

CREATE TABLE result (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    participant_id  uuid NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    training_id     uuid NOT NULL REFERENCES training (id),
    score           numeric(5, 2) NOT NULL CHECK (score >= 0 AND score <= 100),
    passed          boolean NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    recorded_by     text NOT NULL
);
CREATE INDEX result_participant ON result (participant_id, training_id);
CREATE INDEX result_tenant ON result (tenant_id);

-- O15: kept as long as the account lives.
CREATE TABLE certificate (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL,
    participant_id     uuid NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    training_id        uuid NOT NULL REFERENCES training (id),
    verification_code  text NOT NULL UNIQUE,
    issued_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (participant_id, training_id)
);
CREATE INDEX certificate_tenant ON certificate (tenant_id);

-- O16: what survives an erasure, per training, with nothing that links back to a person.
CREATE TABLE training_benchmark (
    training_id   uuid PRIMARY KEY REFERENCES training (id) ON DELETE CASCADE,
    participants  integer NOT NULL DEFAULT 0,
    score_sum     numeric NOT NULL DEFAULT 0,
    passed        integer NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
