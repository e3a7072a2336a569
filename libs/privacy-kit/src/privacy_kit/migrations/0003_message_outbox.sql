-- Messages to people (identity codes, breach notices, policy announcements): written in the
-- business transaction like events, sent through SMTP when configured, kept for staff otherwise.
-- They hold an address and text, so they are personal data: erased and exported with the person.
CREATE TABLE message_outbox (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL,
    subject_id  text,
    tenant_id   text,
    recipient   text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text
);
CREATE INDEX message_outbox_unsent ON message_outbox (created_at) WHERE sent_at IS NULL;
CREATE INDEX message_outbox_subject ON message_outbox (subject_id) WHERE subject_id IS NOT NULL;
CREATE INDEX message_outbox_tenant ON message_outbox (tenant_id) WHERE tenant_id IS NOT NULL;
