-- A certificate outlives its holder's data as a fact, not as a record of a person: after an
-- erasure the public check can still say the code was genuine, and that the holder's data was
-- erased since. Only a hash of the code is kept, with the training and the time of issue;
-- nothing here names or points back to the person.
CREATE TABLE erased_certificate (
    code_hash    text PRIMARY KEY,
    training_id  uuid REFERENCES training (id) ON DELETE SET NULL,
    training     text NOT NULL,
    issued_at    timestamptz NOT NULL,
    erased_at    timestamptz NOT NULL DEFAULT now()
);
