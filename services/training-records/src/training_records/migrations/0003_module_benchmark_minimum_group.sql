-- O16 for the per-module aggregate too (module_benchmark, migration
-- 0002_account_closure_and_module_benchmark): it never holds the values of fewer people than the
-- minimum group. `scored`: how many people's values are in `completed` and `time_spent_s` (0, or
-- at least the minimum); `participants` also counts those folded while the group was too small,
-- by count only.
ALTER TABLE module_benchmark ADD COLUMN scored integer NOT NULL DEFAULT 0;
-- Existing aggregates of at least the default minimum (5) keep their values; smaller ones keep
-- their count only, their values are destroyed.
UPDATE module_benchmark SET scored = participants WHERE participants >= 5;
UPDATE module_benchmark SET completed = 0, time_spent_s = 0 WHERE participants < 5;
ALTER TABLE module_benchmark
    ADD CONSTRAINT module_benchmark_scored CHECK (scored >= 0 AND scored <= participants),
    ADD CONSTRAINT module_benchmark_no_values_unscored
        CHECK (scored > 0 OR (completed = 0 AND time_spent_s = 0));
