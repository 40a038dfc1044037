-- Statements of every policy of the snapshot, with the flags effective permissions need.
-- A statement applies to every resource when it names "*" (or an ARN made only of wildcards,
-- such as arn:aws:s3:::*) or, for an Allow, uses NotResource ("all but these"). A Deny with
-- NotResource spares the listed resources, so it never removes an action outright.
INSERT INTO sc_pattern
SELECT DISTINCT 'gcp', lower(g.action_pattern), lower(g.action_pattern)
FROM "grant" g
JOIN policy p ON p.assessment_id = g.assessment_id AND p.policy_id = g.policy_id
WHERE g.assessment_id = $assessment_id AND p.cloud = 'gcp';

-- Only policies that can apply to someone: attached (directly, inline, through a group or a
-- binding), used as a boundary, or SCPs.
CREATE OR REPLACE TEMP TABLE sc_relevant_policy AS
SELECT DISTINCT policy_id FROM principal_policy WHERE assessment_id = $assessment_id
UNION
SELECT boundary_policy_id FROM principal WHERE assessment_id = $assessment_id AND boundary_policy_id IS NOT NULL
UNION
SELECT policy_id FROM policy WHERE assessment_id = $assessment_id AND kind = 'scp';

CREATE OR REPLACE TEMP TABLE sc_statement AS
WITH s AS (
  SELECT g.policy_id, g.statement_index, p.cloud,
         any_value(g.effect) AS effect,
         bool_or(g.not_action) AS not_action,
         bool_or(g.not_resource) AS not_resource,
         bool_or(list_bool_or(list_transform(g.resources,
           lambda r: r = '*' OR regexp_full_match(r, 'arn:[^:]*:[^:]*:\*?:\*?:\*')))) AS star,
         bool_or(g.has_condition) AS conditional
  FROM "grant" g
  JOIN policy p ON p.assessment_id = g.assessment_id AND p.policy_id = g.policy_id
  SEMI JOIN sc_relevant_policy r ON r.policy_id = g.policy_id
  WHERE g.assessment_id = $assessment_id
  GROUP BY g.policy_id, g.statement_index, p.cloud
)
SELECT policy_id, statement_index, cloud, effect, not_action, conditional,
       CASE WHEN effect = 'Allow' THEN coalesce(star, false) OR not_resource
            ELSE coalesce(star, false) AND NOT not_resource END AS all_resources
FROM s;

-- Actions each statement names (its Action patterns expanded), and for NotAction statements
-- every action of the cloud except those its patterns name.
CREATE OR REPLACE TEMP TABLE sc_pattern_action AS
SELECT DISTINCT sp.cloud, sp.pattern, a.action_id
FROM sc_pattern sp
JOIN sc_action a ON a.cloud = sp.cloud AND a.action_lower = sp.action_lower;

CREATE OR REPLACE TEMP TABLE sc_grant_pattern AS
SELECT DISTINCT g.policy_id, g.statement_index, g.not_action, p.cloud, lower(g.action_pattern) AS pattern
FROM "grant" g
JOIN policy p ON p.assessment_id = g.assessment_id AND p.policy_id = g.policy_id
SEMI JOIN sc_relevant_policy r ON r.policy_id = g.policy_id
WHERE g.assessment_id = $assessment_id;

CREATE OR REPLACE TEMP TABLE sc_named_action AS
SELECT DISTINCT g.policy_id, g.statement_index, pa.action_id, g.not_action
FROM sc_grant_pattern g
JOIN sc_pattern_action pa ON pa.cloud = g.cloud AND pa.pattern = g.pattern;

CREATE OR REPLACE TEMP TABLE sc_statement_action AS
SELECT policy_id, statement_index, action_id FROM sc_named_action WHERE NOT not_action;

INSERT INTO sc_statement_action
SELECT s.policy_id, s.statement_index, a.action_id
FROM sc_statement s
JOIN sc_action a ON a.cloud = s.cloud
WHERE s.not_action
  AND NOT EXISTS (
    SELECT 1 FROM sc_named_action n
    WHERE n.not_action AND n.policy_id = s.policy_id AND n.statement_index = s.statement_index
      AND n.action_id = a.action_id
  );

CREATE OR REPLACE TEMP TABLE sc_policy_action AS
SELECT sa.policy_id, sa.action_id, s.effect,
       bool_or(s.all_resources) AS all_resources,
       bool_or(NOT s.conditional) AS unconditional,
       bool_or(s.all_resources AND NOT s.conditional) AS unconditional_all_resources,
       count(*)::INTEGER AS statements
FROM sc_statement_action sa
JOIN sc_statement s ON s.policy_id = sa.policy_id AND s.statement_index = sa.statement_index
GROUP BY sa.policy_id, sa.action_id, s.effect;
