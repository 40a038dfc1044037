-- Scoring: expanded policy actions and effective permissions. Effective permissions are stored
-- once per distinct set of policies (fingerprint), never per principal: principal_score names
-- the fingerprint of each principal. Re-scoring an assessment replaces its rows. The expanded
-- actions are stored as one list per policy or fingerprint: millions of keyed rows would make
-- the primary-key index cost more than the scoring itself.

CREATE TABLE policy_action (
  assessment_id VARCHAR NOT NULL,
  policy_id VARCHAR NOT NULL,
  actions STRUCT(action VARCHAR, effect VARCHAR, all_resources BOOLEAN, unconditional BOOLEAN,
                 unconditional_all_resources BOOLEAN, statements INTEGER)[] NOT NULL,
  PRIMARY KEY (assessment_id, policy_id)
);
COMMENT ON TABLE policy_action IS 'Each policy that applies to someone, expanded into the catalog actions it allows or denies (wildcards and NotAction resolved). Read rows with unnest(actions).';
COMMENT ON COLUMN policy_action.assessment_id IS 'Snapshot the policy belongs to.';
COMMENT ON COLUMN policy_action.policy_id IS 'The policy, SCP, boundary or GCP role.';
COMMENT ON COLUMN policy_action.actions IS 'One entry per action and effect: action (canonical case), effect (Allow or Deny), all_resources (some covering statement applies to every resource: "*", an ARN made only of wildcards, or NotResource), unconditional (some covering statement has no Condition), unconditional_all_resources (one statement both: for a Deny, the action is removed outright), statements (how many statements cover it).';

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
  actions STRUCT(action VARCHAR, level_rank TINYINT, resource_scope VARCHAR, conditional BOOLEAN,
                 deny_partial BOOLEAN)[] NOT NULL,
  PRIMARY KEY (assessment_id, fingerprint)
);
COMMENT ON TABLE effective_action IS 'Effective permissions per fingerprint: identity allows minus unconditional denies, intersected with the boundary and each level of the SCP path. Read rows with unnest(actions).';
COMMENT ON COLUMN effective_action.assessment_id IS 'Assessment that computed it.';
COMMENT ON COLUMN effective_action.fingerprint IS 'The policy set (scoring_fingerprint).';
COMMENT ON COLUMN effective_action.actions IS 'One entry per effective action: action (canonical case), level_rank (0 LIST to 5 ADMIN), resource_scope (all: every layer allows it on every resource; specific: some layer names particular resources), conditional (some layer allows it only under a condition), deny_partial (a Deny applies only under a condition or to some resources: kept and flagged).';

ALTER TABLE principal_score ADD COLUMN status_reason VARCHAR;
ALTER TABLE principal_score ADD COLUMN tier_reason VARCHAR;
COMMENT ON COLUMN principal_score.status_reason IS 'Evidence for the status: the last use and its source, the creation date, or the days the logs cover.';
COMMENT ON COLUMN principal_score.tier_reason IS 'The tier rule that placed the principal (scoring/data/risk-weights.json).';
