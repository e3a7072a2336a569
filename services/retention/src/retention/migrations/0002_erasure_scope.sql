-- An erasure job stores the scope it asked for, once; the event is built from it.
ALTER TABLE erasure_job ADD COLUMN request_scope jsonb;
UPDATE erasure_job SET request_scope = jsonb_build_object(
    'kind', scope, 'subject_id', subject_id, 'tenant_id', tenant_id, 'category', category,
    'older_than', older_than, 'held_subject_ids', '[]'::jsonb);
ALTER TABLE erasure_job ALTER COLUMN request_scope SET NOT NULL;
