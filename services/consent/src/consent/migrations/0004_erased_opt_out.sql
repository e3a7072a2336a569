-- O13: a person who opted out of anonymised data and was erased here is remembered for a short
-- while, as a keyed hash of their id only, so that a store erasing the same person later still
-- learns not to fold them into anonymous aggregates (consent/optout.py).
CREATE TABLE erased_opt_out (
    subject_hash  text PRIMARY KEY,
    erased_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erased_opt_out_age ON erased_opt_out (erased_at);
