-- Erasing many people at once (a tenant at contract end) in set-based statements: the erasure
-- names the subjects whose chains go in `consent_erasing`, inside its own transaction (no other
-- transaction sees those rows), and removes them again before it commits.
CREATE TABLE consent_erasing (subject_id text PRIMARY KEY);

CREATE OR REPLACE FUNCTION consent_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seal IS NULL AND NEW.seal IS NOT NULL
       AND to_jsonb(NEW) - 'seal' = to_jsonb(OLD) - 'seal' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' AND (
           OLD.subject_id = current_setting('consent.erasing_subject', true)
           OR EXISTS (SELECT 1 FROM consent_erasing e WHERE e.subject_id = OLD.subject_id)) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'consent_record is append-only: record a new grant or withdrawal instead';
END $$;
