-- O2: a Beheerder sees the full profile and results of the participants they (or their team)
-- registered or assigned training to; of the tenant's other participants only name and status.
-- A tenant that wants one shared view for all its Beheerders says so here.
ALTER TABLE tenant ADD COLUMN beheerder_view text NOT NULL DEFAULT 'assigned'
    CHECK (beheerder_view IN ('assigned', 'shared'));
-- Teams are kept simple: a name on the Beheerder, set by the operator who registers them.
ALTER TABLE person ADD COLUMN team text;
CREATE INDEX assignment_assigned_by ON assignment (tenant_id, assigned_by);
CREATE INDEX person_team ON person (tenant_id, team) WHERE team IS NOT NULL;
