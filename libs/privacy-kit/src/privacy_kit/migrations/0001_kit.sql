-- The transactional outbox: written in the same transaction as the change it announces.
CREATE TABLE outbox (
    seq          bigserial PRIMARY KEY,
    id           uuid NOT NULL UNIQUE,
    topic        text NOT NULL,
    key          text,
    envelope     jsonb NOT NULL,
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;

-- Idempotent consumer: one row per handled event and consumer, written with the effect.
CREATE TABLE processed_event (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    handled_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Events that failed every retry; they went to <topic>.dlq and are shown in /healthz.
CREATE TABLE dead_letter (
    id           bigserial PRIMARY KEY,
    consumer     text NOT NULL,
    topic        text NOT NULL,
    event_id     text,
    event_type   text,
    error        text NOT NULL,
    payload      bytea,
    dead_at      timestamptz NOT NULL DEFAULT now()
);
