-- O17: every store's copy of the active legal holds (from legal_hold.placed / .released), so a
-- store refuses to rectify held data without asking retention. Ids and the ground code only.
CREATE TABLE IF NOT EXISTS legal_hold_copy (
    hold_id    uuid PRIMARY KEY,
    subject_id text,
    tenant_id  text,
    category   text,
    ground     text NOT NULL,
    placed_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS legal_hold_copy_subject ON legal_hold_copy (subject_id)
    WHERE subject_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS legal_hold_copy_tenant ON legal_hold_copy (tenant_id)
    WHERE tenant_id IS NOT NULL;
