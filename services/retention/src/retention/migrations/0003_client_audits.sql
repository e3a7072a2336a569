-- O29: the record of audits per client organisation (processor agreement 001 §10): when, by
-- which independent auditor, what was found and what was done about it. At most one regular
-- audit a year per client; one prompted by a breach or an authority's order may come on top.
CREATE TABLE client_audit (
    id                uuid PRIMARY KEY,
    tenant_id         text NOT NULL,
    audited_on        date NOT NULL,
    auditor           text NOT NULL,
    scope             text NOT NULL DEFAULT '',
    findings          text NOT NULL DEFAULT '',
    follow_up         text NOT NULL DEFAULT '',
    follow_up_done_on date,
    prompted_by       text NOT NULL DEFAULT 'regular'
                      CHECK (prompted_by IN ('regular', 'breach', 'authority_order')),
    prompt_reference  text,
    recorded_by       text NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    updated_by        text,
    updated_at        timestamptz,
    CHECK (prompted_by = 'regular' OR prompt_reference IS NOT NULL)
);
CREATE INDEX client_audit_tenant ON client_audit (tenant_id, audited_on DESC, id DESC);
