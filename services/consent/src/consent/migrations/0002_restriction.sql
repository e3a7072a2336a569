-- O19: while a person's processing is restricted (GDPR art. 18), or their objection (art. 21)
-- is being assessed, no purpose counts as effectively granted; their own withdrawals still
-- record in the ledger. Lifting the restriction deletes the row.
CREATE TABLE subject_restriction (
    subject_id     text PRIMARY KEY,
    cause          text NOT NULL CHECK (cause IN ('restricted', 'objected')),
    restricted_at  timestamptz NOT NULL DEFAULT now()
);
