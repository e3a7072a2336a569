-- The breach workflow (O26-O28, O30): every fact, the risk assessment, an append-only timeline,
-- states, per-tenant notices with their clocks, the authority report, people notices and
-- disclosures to authorities.

-- The facts of a breach become one document (the current view of the initial report and its
-- follow-ups); the clock times stay columns because every deadline query needs them.
ALTER TABLE breach RENAME COLUMN facts TO facts_text;
ALTER TABLE breach
    ADD COLUMN facts                   jsonb,
    ADD COLUMN aware_at                timestamptz,
    ADD COLUMN state                   text NOT NULL DEFAULT 'reported'
        CHECK (state IN ('reported', 'investigating', 'contained', 'notified', 'closed')),
    ADD COLUMN platform_role           text NOT NULL DEFAULT 'controller'
        CHECK (platform_role IN ('controller', 'processor', 'both')),
    ADD COLUMN risk                    text CHECK (risk IN ('no_risk', 'risk', 'high_risk')),
    ADD COLUMN assessment              jsonb,
    ADD COLUMN authority_required      boolean NOT NULL DEFAULT true,
    ADD COLUMN authority_reported_at   timestamptz,
    ADD COLUMN authority_due_soon_emitted_at timestamptz,
    ADD COLUMN authority_overdue_emitted_at  timestamptz,
    ADD COLUMN people_notice_required  boolean NOT NULL DEFAULT false,
    ADD COLUMN affected_subjects       integer NOT NULL DEFAULT 0,
    ADD COLUMN unknown_subjects        integer NOT NULL DEFAULT 0,
    ADD COLUMN pending_subjects        integer NOT NULL DEFAULT 0,
    ADD COLUMN people_notified         integer NOT NULL DEFAULT 0,
    ADD COLUMN people_without_contact  integer NOT NULL DEFAULT 0,
    ADD COLUMN updated_at              timestamptz NOT NULL DEFAULT now();
UPDATE breach SET
    aware_at = discovered_at,
    facts = jsonb_build_object(
        'title', title, 'description', facts_text, 'consequences', effects,
        'measures_taken', measures, 'discovered_at', discovered_at, 'aware_at', discovered_at),
    affected_subjects = (SELECT count(*) FROM breach_affected_subject a WHERE a.breach_id = breach.id);
ALTER TABLE breach
    ALTER COLUMN facts SET NOT NULL,
    ALTER COLUMN aware_at SET NOT NULL,
    DROP COLUMN facts_text,
    DROP COLUMN effects,
    DROP COLUMN measures;
CREATE INDEX breach_state ON breach (state, registered_at DESC, id DESC);

-- Who reported it: contact kept here only (never in events, the timeline or the AP report).
CREATE TABLE breach_reporter (
    breach_id     uuid PRIMARY KEY REFERENCES breach (id),
    subject_id    text,
    tenant_id     text,
    name          text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    phone         text NOT NULL DEFAULT '',
    organisation  text NOT NULL DEFAULT '',
    role          text NOT NULL DEFAULT ''
);
CREATE INDEX breach_reporter_subject ON breach_reporter (subject_id) WHERE subject_id IS NOT NULL;

-- Every change, assessment, notice and note, with actor and time. Never updated or deleted:
-- the breach row is its current view. Entries carry counts and tenant ids, never subject ids.
CREATE TABLE breach_timeline (
    id          bigserial PRIMARY KEY,
    breach_id   uuid NOT NULL REFERENCES breach (id),
    kind        text NOT NULL,
    actor       text NOT NULL,
    actor_roles text[] NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX breach_timeline_breach ON breach_timeline (breach_id, id);

CREATE FUNCTION breach_timeline_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'breach_timeline is append-only: add a follow-up or a note instead';
END $$;
CREATE TRIGGER breach_timeline_no_change BEFORE UPDATE OR DELETE ON breach_timeline
    FOR EACH ROW EXECUTE FUNCTION breach_timeline_append_only();
CREATE TRIGGER breach_timeline_no_truncate BEFORE TRUNCATE ON breach_timeline
    FOR EACH STATEMENT EXECUTE FUNCTION breach_timeline_append_only();

INSERT INTO breach_timeline (breach_id, kind, actor, at, data)
SELECT id, 'reported', registered_by, registered_at, jsonb_build_object('facts', facts)
FROM breach;

-- Affected people: the tenant comes from training-records. 'unknown': no store knows the id;
-- 'pending': training-records could not be asked yet (the sweep asks again).
-- This table takes 100,000 rows in one registration: the foreign key's per-row check is left
-- out (rows are written only by the transaction that holds the breach row), and the only
-- indexes are the primary key (per breach, in subject order) and the subject's (erasure).
ALTER TABLE breach_affected_subject
    DROP CONSTRAINT breach_affected_subject_breach_id_fkey,
    ALTER COLUMN tenant_id DROP NOT NULL,
    ADD COLUMN lookup   text NOT NULL DEFAULT 'found' CHECK (lookup IN ('found', 'unknown', 'pending')),
    ADD COLUMN added_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX breach_affected_subject_pending ON breach_affected_subject (breach_id)
    WHERE lookup = 'pending';

-- O27: one notice per affected client organisation. `affected_known_at` is null for tenants
-- known at registration (due 24 h after discovery) and the time a later addition made the
-- tenant known otherwise (due 24 h after that, never before 24 h after discovery).
ALTER TABLE breach_tenant_notification
    ADD COLUMN id                       uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    ADD COLUMN all_participants_may_be_affected boolean NOT NULL DEFAULT false,
    ADD COLUMN participants_in_tenant   integer,
    ADD COLUMN affected_known_at        timestamptz,
    ADD COLUMN opened_at                timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at               timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN notified_via             text,
    ADD COLUMN acknowledged_at          timestamptz,
    ADD COLUMN acknowledged_by          text,
    ADD COLUMN due_soon_emitted_at      timestamptz,
    ADD COLUMN overdue_emitted_at       timestamptz;
CREATE INDEX breach_tenant_notification_tenant ON breach_tenant_notification (tenant_id, opened_at DESC, id DESC);
CREATE INDEX breach_tenant_notification_open ON breach_tenant_notification (due_at)
    WHERE notified_at IS NULL;

-- O28: the reports to the Autoriteit Persoonsgegevens, initial and follow-ups.
CREATE TABLE breach_authority_notification (
    id            uuid PRIMARY KEY,
    breach_id     uuid NOT NULL REFERENCES breach (id),
    phase         text NOT NULL CHECK (phase IN ('initial', 'follow_up')),
    submitted_at  timestamptz NOT NULL,
    reference     text NOT NULL DEFAULT '',
    delay_reason  text,
    recorded_by   text NOT NULL,
    recorded_at   timestamptz NOT NULL
);
CREATE INDEX breach_authority_notification_breach ON breach_authority_notification (breach_id, submitted_at);

-- O28: who was told, and when (the message itself is in the kit's message outbox).
CREATE TABLE breach_people_notice (
    id           uuid PRIMARY KEY,
    breach_id    uuid NOT NULL REFERENCES breach (id),
    subject_id   text NOT NULL,
    tenant_id    text,
    message_id   uuid,
    channel      text NOT NULL DEFAULT 'e-mail',
    notified_at  timestamptz NOT NULL,
    UNIQUE (breach_id, subject_id)
);
CREATE INDEX breach_people_notice_subject ON breach_people_notice (subject_id, notified_at DESC);

-- O30: what was disclosed to which authority, on which legal basis, and whether the tenant
-- was told beforehand (or why not). A secrecy ground hides the record from the tenant.
CREATE TABLE authority_disclosure (
    id                   uuid PRIMARY KEY,
    tenant_id            text NOT NULL,
    authority            text NOT NULL,
    what                 text NOT NULL,
    data_categories      text[] NOT NULL DEFAULT '{}',
    legal_basis          text NOT NULL,
    disclosed_at         timestamptz NOT NULL,
    tenant_informed_at   timestamptz,
    not_informed_reason  text,
    secrecy_ground       text,
    secrecy_lifted_at    timestamptz,
    subjects             integer NOT NULL DEFAULT 0,
    recorded_by          text NOT NULL,
    recorded_at          timestamptz NOT NULL,
    CHECK (tenant_informed_at IS NOT NULL OR not_informed_reason IS NOT NULL)
);
CREATE INDEX authority_disclosure_tenant ON authority_disclosure (tenant_id, disclosed_at DESC, id DESC);

CREATE TABLE authority_disclosure_subject (
    disclosure_id  uuid NOT NULL REFERENCES authority_disclosure (id),
    subject_id     text NOT NULL,
    tenant_id      text NOT NULL,
    PRIMARY KEY (disclosure_id, subject_id)
);
CREATE INDEX authority_disclosure_subject_subject ON authority_disclosure_subject (subject_id);
