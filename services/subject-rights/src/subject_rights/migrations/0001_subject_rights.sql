-- Data subject requests as cases (O19-O23).
CREATE TABLE subject_request (
    id            uuid PRIMARY KEY,
    subject_id    text NOT NULL,
    tenant_id     text,
    kind          text NOT NULL,
    details       text NOT NULL DEFAULT '',
    status        text NOT NULL DEFAULT 'received',
    submitted_by  text NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    due_at        timestamptz NOT NULL
);
CREATE INDEX subject_request_subject ON subject_request (subject_id);
