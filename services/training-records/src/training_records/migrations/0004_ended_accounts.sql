-- O25: accounts a retention sweep ended (their term after closure ran out), waiting for their
-- erasure to be asked of every other store through retention. Written in the same transaction
-- as the account's erasure and emitted by a background task right after it, so that the
-- sweep's own answer is not queued behind thousands of follow-up requests. Only the
-- pseudonymous id stays here, and only until the request is in the outbox.
CREATE TABLE ended_account (
    subject_id  uuid PRIMARY KEY,
    tenant_id   uuid,
    ended_at    timestamptz NOT NULL DEFAULT now()
);
