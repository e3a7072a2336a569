-- Subject requests as cases (O19-O25): who decides, identity, terms, outcome, and an
-- append-only history. A case outlives the person's data: erasure de-identifies it (the
-- subject id becomes a keyed hash, free text goes) but keeps kind, dates, outcome and proof.
ALTER TABLE subject_request
    ALTER COLUMN subject_id DROP NOT NULL,
    ADD COLUMN subject_hash          text,
    ADD COLUMN channel               text NOT NULL DEFAULT 'online'
                                     CHECK (channel IN ('online', 'email', 'letter')),
    ADD COLUMN on_behalf             boolean NOT NULL DEFAULT false,
    ADD COLUMN entered_at            timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN rectification         jsonb,
    ADD COLUMN verified_at           timestamptz,
    ADD COLUMN verification_method   text,
    ADD COLUMN first_due_at          timestamptz,
    ADD COLUMN extended_at           timestamptz,
    ADD COLUMN extension_months      integer,
    ADD COLUMN extension_reason      text,
    ADD COLUMN decided_at            timestamptz,
    ADD COLUMN decided_by            text,
    ADD COLUMN instruction_reference text,
    ADD COLUMN refusal_ground        text,
    ADD COLUMN refusal_explanation   text,
    ADD COLUMN closed_at             timestamptz,
    ADD COLUMN outcome               jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN erasure_job_id        uuid,
    ADD COLUMN due_soon_raised_at    timestamptz,
    ADD COLUMN overdue_raised_at     timestamptz,
    ADD COLUMN updated_at            timestamptz NOT NULL DEFAULT now();
UPDATE subject_request SET first_due_at = due_at;
ALTER TABLE subject_request ALTER COLUMN first_due_at SET NOT NULL;
CREATE INDEX subject_request_inbox ON subject_request (tenant_id, due_at, id);
CREATE INDEX subject_request_open ON subject_request (due_at)
    WHERE status NOT IN ('completed', 'refused', 'withdrawn');
CREATE INDEX subject_request_hash ON subject_request (subject_hash);
CREATE UNIQUE INDEX subject_request_job ON subject_request (erasure_job_id)
    WHERE erasure_job_id IS NOT NULL;

-- Every transition, with actor and time. Rows are never edited, except that erasure replaces
-- the person's own id and free text (it sets subject_rights.deidentify for that).
CREATE TABLE subject_request_event (
    id           bigserial PRIMARY KEY,
    request_id   uuid NOT NULL REFERENCES subject_request (id),
    action       text NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    actor        text NOT NULL,
    actor_role   text NOT NULL,
    note         text,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subject_request_event_request ON subject_request_event (request_id, id);

CREATE FUNCTION subject_request_event_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('subject_rights.deidentify', true) = 'on' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the history of a subject request is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER subject_request_event_append_only BEFORE UPDATE OR DELETE
    ON subject_request_event FOR EACH ROW EXECUTE FUNCTION subject_request_event_append_only();

-- O20: one live one-time code per case, stored as a keyed hash, with tries and an expiry.
CREATE TABLE identity_code (
    request_id   uuid PRIMARY KEY REFERENCES subject_request (id),
    code_hash    text NOT NULL,
    sent_at      timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    tries        integer NOT NULL DEFAULT 0,
    codes_sent   integer NOT NULL DEFAULT 1,
    used_at      timestamptz
);

-- O19: the assembled access/portability bundle, kept for a limited time, then deleted.
CREATE TABLE access_bundle (
    id            uuid PRIMARY KEY,
    request_id    uuid NOT NULL REFERENCES subject_request (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    complete      boolean NOT NULL,
    stores        jsonb NOT NULL,
    size_bytes    integer NOT NULL,
    content       bytea NOT NULL
);
CREATE INDEX access_bundle_request ON access_bundle (request_id, created_at DESC);
CREATE INDEX access_bundle_expiry ON access_bundle (expires_at);

-- Every download of a bundle (O3): who, when. Kept after the bundle itself is deleted.
CREATE TABLE bundle_download (
    id             bigserial PRIMARY KEY,
    bundle_id      uuid NOT NULL,
    request_id     uuid NOT NULL REFERENCES subject_request (id),
    actor          text NOT NULL,
    actor_roles    text[] NOT NULL,
    downloaded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bundle_download_request ON bundle_download (request_id);

-- O19: when each store confirmed a restriction, an objection or a lift.
CREATE TABLE restriction_confirmation (
    request_id    uuid NOT NULL REFERENCES subject_request (id),
    store         text NOT NULL,
    cause         text NOT NULL CHECK (cause IN ('restricted', 'objected', 'lifted')),
    confirmed_at  timestamptz NOT NULL,
    PRIMARY KEY (request_id, store, cause)
);

-- O25: an erasure job that completed before its case learned the job's id (the answer of
-- retention and the job's completion race); the case picks it up when it records the id.
CREATE TABLE erasure_job_outcome (
    job_id        uuid PRIMARY KEY,
    completed_at  timestamptz NOT NULL,
    stores        text[] NOT NULL,
    erased        integer NOT NULL
);
