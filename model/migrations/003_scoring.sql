-- Scoring: expanded policy actions and effective permissions. Effective permissions are stored
-- once per distinct set of policies (fingerprint), never per principal: principal_score names
-- the fingerprint of each principal. Re-scoring an assessment replaces its rows. The two large
-- tables carry no primary key: the scoring engine writes them whole, unique by construction
-- ((assessment_id, policy_id, action, effect) and (assessment_id, fingerprint, action)), and an
-- index would only slow the bulk insert.

CREATE TABLE policy_action (
  assessment_id VARCHAR NOT NULL,
  policy_id VARCHAR NOT NULL,
  action VARCHAR NOT NULL,
  effect VARCHAR NOT NULL,
  all_resources BOOLEAN NOT NULL,
  unconditional BOOLEAN NOT NULL,
  unconditional_all_resources BOOLEAN NOT NULL,
  statements INTEGER NOT NULL
);
COMMENT ON TABLE policy_action IS 'Each policy expanded into the catalog actions it allows or denies (wildcards and NotAction resolved), with resource and condition flags.';
COMMENT ON COLUMN policy_action.assessment_id IS 'Snapshot the policy belongs to.';
COMMENT ON COLUMN policy_action.policy_id IS 'The policy, SCP, boundary or GCP role.';
COMMENT ON COLUMN policy_action.action IS 'Catalog action (AWS) or permission (GCP), canonical case.';
COMMENT ON COLUMN policy_action.effect IS 'Allow or Deny.';
COMMENT ON COLUMN policy_action.all_resources IS 'Some statement covering the action applies to every resource: Resource "*" (or an ARN made only of wildcards) or NotResource.';
COMMENT ON COLUMN policy_action.unconditional IS 'Some statement covering the action has no Condition.';
COMMENT ON COLUMN policy_action.unconditional_all_resources IS 'One statement covers the action on every resource with no Condition (for a Deny: the action is removed outright).';
COMMENT ON COLUMN policy_action.statements IS 'Statements of the policy that cover the action with this effect.';

CREATE TABLE scoring_fingerprint (
  assessment_id VARCHAR NOT NULL,
  fingerprint VARCHAR NOT NULL,
  cloud VARCHAR NOT NULL,
  identity_policies VARCHAR[] NOT NULL,
  boundary_policy_id VARCHAR,
  scp_path JSON NOT NULL,
  principals INTEGER NOT NULL,
  granted_count INTEGER NOT NULL,
  admin_equivalent BOOLEAN NOT NULL,
  PRIMARY KEY (assessment_id, fingerprint)
);
COMMENT ON TABLE scoring_fingerprint IS 'Distinct sets of policies that decide what principals can do; effective permissions are computed once for each.';
COMMENT ON COLUMN scoring_fingerprint.assessment_id IS 'Assessment that computed it.';
COMMENT ON COLUMN scoring_fingerprint.fingerprint IS 'MD5 of the sorted identity policies (GCP: with binding scope and condition flag), the boundary and the SCP path.';
COMMENT ON COLUMN scoring_fingerprint.cloud IS 'aws or gcp.';
COMMENT ON COLUMN scoring_fingerprint.identity_policies IS 'Identity policies (direct, inline, group-inherited) or GCP roles (as role|scope|condition), sorted.';
COMMENT ON COLUMN scoring_fingerprint.boundary_policy_id IS 'Permissions boundary; null when none.';
COMMENT ON COLUMN scoring_fingerprint.scp_path IS 'JSON list of SCP levels from the root down to the account, each a list of SCP ids; [] when SCPs do not apply (no SCPs, management account, service-linked role).';
COMMENT ON COLUMN scoring_fingerprint.principals IS 'Principals that share this fingerprint.';
COMMENT ON COLUMN scoring_fingerprint.granted_count IS 'Effective actions.';
COMMENT ON COLUMN scoring_fingerprint.admin_equivalent IS 'True when the effective set holds every catalog action unconditionally on every resource, or an unconditional "*" survives every layer.';

CREATE TABLE effective_action (
  assessment_id VARCHAR NOT NULL,
  fingerprint VARCHAR NOT NULL,
  action VARCHAR NOT NULL,
  level_rank TINYINT NOT NULL,
  resource_scope VARCHAR NOT NULL,
  conditional BOOLEAN NOT NULL,
  deny_partial BOOLEAN NOT NULL
);
COMMENT ON TABLE effective_action IS 'Effective permissions per fingerprint: identity allows minus unconditional denies, intersected with the boundary and each level of the SCP path.';
COMMENT ON COLUMN effective_action.assessment_id IS 'Assessment that computed it.';
COMMENT ON COLUMN effective_action.fingerprint IS 'The policy set (scoring_fingerprint).';
COMMENT ON COLUMN effective_action.action IS 'Catalog action or GCP permission, canonical case.';
COMMENT ON COLUMN effective_action.level_rank IS 'Privilege level rank of the action, 0 (LIST) to 5 (ADMIN).';
COMMENT ON COLUMN effective_action.resource_scope IS 'all (every layer allows it on every resource) or specific (some layer names particular resources).';
COMMENT ON COLUMN effective_action.conditional IS 'True when some layer (identity, boundary, SCP level, GCP binding) allows it only under a condition.';
COMMENT ON COLUMN effective_action.deny_partial IS 'True when a Deny applies only under a condition or to some resources: the action is kept and flagged.';

ALTER TABLE principal_score ADD COLUMN status_reason VARCHAR;
ALTER TABLE principal_score ADD COLUMN tier_reason VARCHAR;
COMMENT ON COLUMN principal_score.status_reason IS 'Evidence for the status: the last use and its source, the creation date, or the days the logs cover.';
COMMENT ON COLUMN principal_score.tier_reason IS 'The tier rule that placed the principal (scoring/data/risk-weights.json).';
