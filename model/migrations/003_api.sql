-- API: per-policy usage for the principal "Used for" view. Filled by the scoring engine, read
-- by GET /api/v1/principals/:principalId/used-for.

CREATE TABLE policy_usage (
  assessment_id VARCHAR NOT NULL,
  principal_id VARCHAR NOT NULL,
  policy_id VARCHAR NOT NULL,
  privilege_level VARCHAR NOT NULL,
  granted INTEGER NOT NULL,
  used INTEGER NOT NULL,
  unused INTEGER NOT NULL,
  unobservable INTEGER NOT NULL,
  PRIMARY KEY (assessment_id, principal_id, policy_id, privilege_level)
);
COMMENT ON TABLE policy_usage IS 'Per principal and attached policy: actions granted, used, unused and unobservable at each privilege level (the "Used for" view).';
COMMENT ON COLUMN policy_usage.assessment_id IS 'Assessment that computed the counts.';
COMMENT ON COLUMN policy_usage.principal_id IS 'The principal.';
COMMENT ON COLUMN policy_usage.policy_id IS 'An allow policy or role attached to the principal (as in principal_policy).';
COMMENT ON COLUMN policy_usage.privilege_level IS 'LIST, READ, TAGGING, WRITE, IAM or ADMIN.';
COMMENT ON COLUMN policy_usage.granted IS 'Distinct actions of this level the policy grants the principal, after deny statements, SCPs and boundaries.';
COMMENT ON COLUMN policy_usage.used IS 'Of those, actions the principal used in the evidence window.';
COMMENT ON COLUMN policy_usage.unused IS 'Of those, observable actions not used in the window.';
COMMENT ON COLUMN policy_usage.unobservable IS 'Of those, actions the logs cannot show (neither used nor unused).';
