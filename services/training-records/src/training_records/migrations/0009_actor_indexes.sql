-- Erasing a person also clears them where they acted on others' records (erasure._forget_actors:
-- who recorded a result, assigned a training, changed or restricted a profile, read a record).
-- Without these indexes each of those updates read its whole table, once per erased person:
-- a mass erasure grew with the square of the platform's size.
CREATE INDEX IF NOT EXISTS result_recorded_by ON result (recorded_by);
CREATE INDEX IF NOT EXISTS assignment_by ON assignment (assigned_by) WHERE assigned_by IS NOT NULL;
CREATE INDEX IF NOT EXISTS person_rectification_changed_by ON person_rectification (changed_by);
CREATE INDEX IF NOT EXISTS access_log_actor ON access_log (actor_sub);
CREATE INDEX IF NOT EXISTS person_created_by ON person (created_by) WHERE created_by IS NOT NULL;
CREATE INDEX IF NOT EXISTS person_restricted_by ON person (restricted_by)
    WHERE restricted_by IS NOT NULL;
