-- O5: the separate written agreement that lets a tenant store special-category data and BSNs
-- is a record, not a switch: when it was signed, which document, who entered it. Ending it is
-- a record too; the latest one says whether an agreement is in force, and the history stays.
CREATE TABLE special_category_agreement (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    action              text NOT NULL CHECK (action IN ('recorded', 'ended')),
    effective_on        date NOT NULL,
    document_reference  text NOT NULL,
    recorded_by         text NOT NULL,
    recorded_at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX special_category_agreement_tenant
    ON special_category_agreement (tenant_id, recorded_at DESC, id);

-- The boolean it replaces: a tenant that had it keeps an agreement, marked as carried over.
INSERT INTO special_category_agreement
    (id, tenant_id, action, effective_on, document_reference, recorded_by, recorded_at)
SELECT gen_random_uuid(), id, 'recorded', created_at::date,
       'carried over from the former special_data_agreement flag', 'migration 0008', now()
FROM tenant WHERE special_data_agreement;

ALTER TABLE tenant DROP COLUMN special_data_agreement;
