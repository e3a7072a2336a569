-- O15: "training history while the account exists": an account can be closed, and the clock
-- `account_closed` of the retention rules runs from this moment.
ALTER TABLE person ADD COLUMN closed_at timestamptz;
CREATE INDEX person_closed ON person (closed_at) WHERE closed_at IS NOT NULL;

-- O16: what anonymised module progress leaves behind, per module, with nothing that links back.
CREATE TABLE module_benchmark (
    module_id     uuid PRIMARY KEY REFERENCES training_module (id) ON DELETE CASCADE,
    participants  integer NOT NULL DEFAULT 0,
    completed     integer NOT NULL DEFAULT 0,
    time_spent_s  bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX login_logged_in_at ON login (logged_in_at);
CREATE INDEX IF NOT EXISTS access_log_read_at ON access_log (read_at);
