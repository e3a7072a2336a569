-- Outbox hygiene: find a subject's or a tenant's events by index (erasure forgets them), prune
-- what was sent long ago, and keep what the relay last failed on.
ALTER TABLE outbox ADD COLUMN subject_id text, ADD COLUMN tenant_id text;
UPDATE outbox SET subject_id = envelope->>'subject_id', tenant_id = envelope->>'tenant_id';
CREATE INDEX outbox_subject ON outbox (subject_id) WHERE subject_id IS NOT NULL;
CREATE INDEX outbox_tenant ON outbox (tenant_id) WHERE tenant_id IS NOT NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
