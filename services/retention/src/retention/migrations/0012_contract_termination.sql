-- O18: a client's contract ends; its data is handed over on request, then erased everywhere.
CREATE TABLE contract_termination (
    id               uuid PRIMARY KEY,
    tenant_id        text NOT NULL,
    end_date         date NOT NULL,
    -- The day after the last day, 00:00 UTC: from then on the tenant's data may not grow.
    ends_at          timestamptz NOT NULL,
    erase_after      timestamptz NOT NULL,
    reference        text,
    status           text NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('scheduled', 'effective', 'held', 'erasing', 'erased',
                                       'cancelled')),
    recorded_by      text NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    effective_at     timestamptz,
    held_since       timestamptz,
    erasure_job_id   uuid REFERENCES erasure_job (id),
    cancelled_by     text,
    cancelled_at     timestamptz
);
-- One live termination per tenant.
CREATE UNIQUE INDEX contract_termination_live ON contract_termination (tenant_id)
    WHERE status <> 'cancelled';
CREATE INDEX contract_termination_recorded ON contract_termination (recorded_at DESC, id DESC);
CREATE INDEX contract_termination_due ON contract_termination (status, ends_at);

-- The tenant's export: one zip archive, kept in chunks for a limited time.
CREATE TABLE tenant_export (
    id              uuid PRIMARY KEY,
    termination_id  uuid NOT NULL REFERENCES contract_termination (id),
    tenant_id       text NOT NULL,
    status          text NOT NULL DEFAULT 'preparing'
                    CHECK (status IN ('preparing', 'ready', 'failed', 'expired')),
    requested_by    text NOT NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    ready_at        timestamptz,
    expires_at      timestamptz,
    size_bytes      bigint,
    sha256          text,
    manifest        jsonb,
    error           text
);
CREATE INDEX tenant_export_termination ON tenant_export (termination_id, requested_at DESC);

CREATE TABLE tenant_export_chunk (
    export_id  uuid NOT NULL REFERENCES tenant_export (id) ON DELETE CASCADE,
    seq        integer NOT NULL,
    data       bytea NOT NULL,
    PRIMARY KEY (export_id, seq)
);

-- Every download of an export: who and when.
CREATE TABLE tenant_export_download (
    id             bigserial PRIMARY KEY,
    export_id      uuid NOT NULL REFERENCES tenant_export (id),
    downloaded_by  text NOT NULL,
    downloaded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_export_download_export ON tenant_export_download (export_id);
