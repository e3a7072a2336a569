-- O11: every record's hash is sealed with a key the database does not hold (HMAC-SHA256 under
-- LEDGER_KEY, see ledger/chain.py), so rewriting a chain consistently needs the key, not only
-- database rights. Records written before this migration have no seal until the service seals
-- them, once, at its first start with a key (ledger/sealing.py), after checking their chain.
ALTER TABLE consent_record ADD COLUMN seal text;

-- That one sealing of the records written before the ledger was keyed; never repeated.
CREATE TABLE ledger_sealing (
    id         smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    sealed_at  timestamptz NOT NULL DEFAULT now(),
    records    integer NOT NULL,
    subjects   integer NOT NULL,
    -- Subjects whose unkeyed chain did not verify: their records stay unsealed, and verification
    -- keeps reporting them.
    broken     integer NOT NULL
);

-- Append-only for DELETE too, as for UPDATE. Two exceptions: filling in a missing seal (nothing
-- else may change), and erasing one subject's chain (O25), which the erasure announces by naming
-- the subject in the transaction setting `consent.erasing_subject`.
CREATE OR REPLACE FUNCTION consent_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seal IS NULL AND NEW.seal IS NOT NULL
       AND to_jsonb(NEW) - 'seal' = to_jsonb(OLD) - 'seal' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE'
       AND OLD.subject_id = current_setting('consent.erasing_subject', true) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'consent_record is append-only: record a new grant or withdrawal instead';
END $$;
CREATE TRIGGER consent_record_no_delete BEFORE DELETE ON consent_record
    FOR EACH ROW EXECUTE FUNCTION consent_record_append_only();

CREATE FUNCTION consent_record_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent_record is append-only: it cannot be truncated';
END $$;
CREATE TRIGGER consent_record_no_truncate BEFORE TRUNCATE ON consent_record
    FOR EACH STATEMENT EXECUTE FUNCTION consent_record_no_truncate();
