-- O3: every read of personal data by someone other than the person, in every service: who
-- (actor and roles), why (purpose, and the reason staff stated), what of whom (subject, tenant),
-- through which route, and when. Written by `privacy_kit.access_log`.
-- training-records had this table first (uuid ids): on such a database it is widened to text
-- ids like every other kit table, and given the purpose and the reason.
CREATE TABLE IF NOT EXISTS access_log (
    id           bigserial PRIMARY KEY,
    subject_id   text,
    tenant_id    text,
    actor_sub    text NOT NULL,
    actor_roles  text[] NOT NULL,
    what         text NOT NULL,
    route        text NOT NULL,
    read_at      timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE access_log
    ALTER COLUMN subject_id TYPE text USING subject_id::text,
    ALTER COLUMN subject_id DROP NOT NULL,
    ALTER COLUMN tenant_id TYPE text USING tenant_id::text,
    ADD COLUMN IF NOT EXISTS purpose text,
    ADD COLUMN IF NOT EXISTS reason text;
UPDATE access_log SET purpose = what WHERE purpose IS NULL;
ALTER TABLE access_log ALTER COLUMN purpose SET NOT NULL;
CREATE INDEX IF NOT EXISTS access_log_subject ON access_log (subject_id);
CREATE INDEX IF NOT EXISTS access_log_tenant ON access_log (tenant_id);
CREATE INDEX IF NOT EXISTS access_log_read_at ON access_log (read_at);
CREATE INDEX IF NOT EXISTS access_log_actor ON access_log (actor_sub);
