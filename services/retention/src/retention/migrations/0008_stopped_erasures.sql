-- O6/O17: an erasure a store asked for (an under-16 without parental consent, ...) that a
-- legal hold stopped. Kept so the DPO sees it and decides, not only a line in a log.
CREATE TABLE stopped_erasure (
    id            uuid PRIMARY KEY,
    event_id      uuid UNIQUE,
    subject_id    text NOT NULL,
    tenant_id     text,
    reason_code   text NOT NULL,
    trigger       text NOT NULL,
    requested_by  text NOT NULL,
    hold_ids      uuid[] NOT NULL,
    asked_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stopped_erasure_asked ON stopped_erasure (asked_at DESC, id);
CREATE INDEX stopped_erasure_subject ON stopped_erasure (subject_id);
