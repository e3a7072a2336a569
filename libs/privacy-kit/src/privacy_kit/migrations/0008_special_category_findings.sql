-- O5: where a tenant with the separate written agreement stored special-category data or a
-- BSN, which field of which record held which category (never the text). The fact that a
-- person's record holds, say, health data is itself about them: erased and exported with them.
CREATE TABLE special_category_finding (
    id            bigserial PRIMARY KEY,
    record_kind   text NOT NULL,
    record_id     text NOT NULL,
    tenant_id     text,
    subject_id    text,
    field         text NOT NULL,
    category      text NOT NULL,
    agreement_id  text,
    found_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX special_category_finding_subject ON special_category_finding (subject_id)
    WHERE subject_id IS NOT NULL;
CREATE INDEX special_category_finding_tenant ON special_category_finding (tenant_id)
    WHERE tenant_id IS NOT NULL;
