-- O15: a retention rule per store and category. The stores declare their defaults in their
-- inventories (kept in store_inventory); this table holds what people set on top of them:
-- overrides by operators and the DPO, and the policy terms seeded below.
CREATE TABLE retention_rule (
    -- '*': a policy term for any store's category of this name that declares no rule itself.
    store         text NOT NULL,
    category      text NOT NULL,
    period        text NOT NULL,
    clock         text NOT NULL CHECK (clock IN ('record_created', 'last_activity',
                      'request_handled', 'account_closed', 'contract_ended')),
    action        text NOT NULL CHECK (action IN ('destroy', 'anonymise')),
    auto_approve  boolean NOT NULL DEFAULT false,
    source        text NOT NULL CHECK (source IN ('override', 'policy')),
    changed_by    text NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store, category)
);

-- Every change of a rule, with who and when: overrides, reverts and new store defaults.
CREATE TABLE retention_rule_change (
    id            bigserial PRIMARY KEY,
    store         text NOT NULL,
    category      text NOT NULL,
    change        text NOT NULL CHECK (change IN ('declared', 'override', 'revert', 'policy')),
    period        text,
    clock         text,
    action        text,
    auto_approve  boolean,
    changed_by    text NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX retention_rule_change_rule ON retention_rule_change (store, category, id);

-- The terms the platform's privacy policies state (seeds 000, 002, 003): training history
-- while the account exists; contact and sign-up forms until handled; usage data and logs
-- 180 days after last use; financial records 7 years (statutory, Dutch tax law).
INSERT INTO retention_rule (store, category, period, clock, action, source, changed_by) VALUES
    ('*', 'training_history', 'P0D', 'account_closed', 'anonymise', 'policy', 'privacy policy'),
    ('*', 'contact_forms', 'P0D', 'request_handled', 'destroy', 'policy', 'privacy policy'),
    ('*', 'signup_forms', 'P0D', 'request_handled', 'destroy', 'policy', 'privacy policy'),
    ('*', 'usage_data', 'P180D', 'last_activity', 'destroy', 'policy', 'privacy policy'),
    ('*', 'logs', 'P180D', 'last_activity', 'destroy', 'policy', 'privacy policy'),
    ('*', 'financial_records', 'P7Y', 'record_created', 'destroy', 'policy', 'privacy policy');
INSERT INTO retention_rule_change (store, category, change, period, clock, action, auto_approve,
                                   changed_by)
SELECT store, category, 'policy', period, clock, action, auto_approve, changed_by
FROM retention_rule;
