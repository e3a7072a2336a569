-- O14: a policy version that widens collection or sub-processors (announce) is told to everyone
-- with consent records; who was told, when, with which message, and who accepted which version.
CREATE TABLE policy_announcement (
    policy_version  text NOT NULL REFERENCES policy_version (version),
    subject_id      text NOT NULL,
    -- pending: to be told; told: a message is queued; no_address: training-records knows no
    -- (unrestricted) address for this person, so nobody could be told.
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'told', 'no_address')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    told_at         timestamptz,
    message_id      uuid,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    PRIMARY KEY (policy_version, subject_id)
);
CREATE INDEX policy_announcement_pending ON policy_announcement (created_at)
    WHERE status = 'pending';
CREATE INDEX policy_announcement_subject ON policy_announcement (subject_id);

CREATE TABLE policy_acceptance (
    subject_id      text NOT NULL,
    policy_version  text NOT NULL REFERENCES policy_version (version),
    accepted_at     timestamptz NOT NULL DEFAULT now(),
    actor_sub       text NOT NULL,
    actor_role      text NOT NULL,
    on_behalf       boolean NOT NULL,
    PRIMARY KEY (subject_id, policy_version)
);
