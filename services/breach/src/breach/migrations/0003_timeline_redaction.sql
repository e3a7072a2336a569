-- O25: the timeline stays append-only, with one exception: the erasure of a person may redact
-- free text naming them in an entry's data (breach.redaction sets breach.erasure_redaction for
-- its own transaction). Nothing else of an entry may change, and nothing is ever deleted.
CREATE OR REPLACE FUNCTION breach_timeline_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('breach.erasure_redaction', true) = 'on'
       AND NEW.id = OLD.id AND NEW.breach_id = OLD.breach_id AND NEW.kind = OLD.kind
       AND NEW.actor = OLD.actor AND NEW.actor_roles = OLD.actor_roles AND NEW.at = OLD.at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'breach_timeline is append-only: add a follow-up or a note instead';
END $$;
