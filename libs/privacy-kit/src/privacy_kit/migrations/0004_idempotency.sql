-- Idempotency-Key: the first answer to a POST, replayed to a retry with the same key and body
-- for 24 hours. Keyed by the caller (their token's sub, or 'anonymous') and their key.
CREATE TABLE idempotency_key (
    caller         text NOT NULL,
    key            text NOT NULL,
    caller_tenant  text,
    fingerprint    text NOT NULL,
    method         text NOT NULL,
    path           text NOT NULL,
    -- Null until the first request has answered; then what it answered.
    status         integer,
    headers        jsonb,
    body           bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- While the first request runs, a retry waits for it (409) until this passes.
    locked_until   timestamptz,
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_key_expiry ON idempotency_key (expires_at);
