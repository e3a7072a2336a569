-- O16: the stored benchmark never holds the values of fewer people than the minimum group.
-- `scored`: how many people's values are in score_sum and passed (0, or at least the minimum);
-- `participants` also counts those folded while the group was too small, by count only.
ALTER TABLE training_benchmark ADD COLUMN scored integer NOT NULL DEFAULT 0;
-- Existing aggregates of at least the default minimum (5) keep their sums; smaller ones keep
-- their count only, their values are destroyed.
UPDATE training_benchmark SET scored = participants WHERE participants >= 5;
UPDATE training_benchmark SET score_sum = 0, passed = 0 WHERE participants < 5;
ALTER TABLE training_benchmark
    ADD CONSTRAINT training_benchmark_scored CHECK (scored >= 0 AND scored <= participants),
    ADD CONSTRAINT training_benchmark_no_values_unscored
        CHECK (scored > 0 OR (score_sum = 0 AND passed = 0));
