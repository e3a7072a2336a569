-- O26: every breach is registered with its facts, effects and measures.
CREATE TABLE breach (
    id             uuid PRIMARY KEY,
    title          text NOT NULL,
    facts          text NOT NULL,
    effects        text NOT NULL DEFAULT '',
    measures       text NOT NULL DEFAULT '',
    discovered_at  timestamptz NOT NULL,
    registered_by  text NOT NULL,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    authority_due_at timestamptz NOT NULL
);

-- Who was affected, by pseudonymous id. Erasure of the person removes the link; the count stays.
CREATE TABLE breach_affected_subject (
    breach_id   uuid NOT NULL REFERENCES breach (id),
    subject_id  text NOT NULL,
    tenant_id   text NOT NULL,
    PRIMARY KEY (breach_id, subject_id)
);
CREATE INDEX breach_affected_subject_subject ON breach_affected_subject (subject_id);

-- O27: one notification per affected client organisation, due 24 h after discovery.
CREATE TABLE breach_tenant_notification (
    breach_id       uuid NOT NULL REFERENCES breach (id),
    tenant_id       text NOT NULL,
    affected_count  integer NOT NULL,
    due_at          timestamptz NOT NULL,
    notified_at     timestamptz,
    PRIMARY KEY (breach_id, tenant_id)
);
