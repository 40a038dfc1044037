-- Effective permissions per fingerprint:
--   identity allows (direct, inline, group-inherited; GCP bindings)
--   minus unconditional denies on every resource (identity, boundary and SCP denies)
--   intersected with the boundary's allows (when there is a boundary)
--   intersected with, for each level of the SCP path, the union of that level's SCP allows.
-- Conditional or resource-scoped denies do not remove an action: they flag it.
CREATE OR REPLACE TEMP TABLE sc_identity_allow AS
SELECT fp.fingerprint, pa.action_id,
       bool_or(pa.all_resources AND NOT fp.binding_specific) AS all_resources,
       bool_or(pa.unconditional AND NOT fp.binding_conditional) AS unconditional
FROM sc_fp_policy fp
JOIN sc_policy_action pa ON pa.policy_id = fp.policy_id AND pa.effect = 'Allow'
GROUP BY fp.fingerprint, pa.action_id;

CREATE OR REPLACE TEMP TABLE sc_identity_deny AS
SELECT fp.fingerprint, pa.action_id,
       bool_or(pa.unconditional_all_resources AND NOT fp.binding_conditional AND NOT fp.binding_specific) AS removed,
       bool_or(NOT (pa.unconditional_all_resources AND NOT fp.binding_conditional AND NOT fp.binding_specific)) AS partial
FROM sc_fp_policy fp
JOIN sc_policy_action pa ON pa.policy_id = fp.policy_id AND pa.effect = 'Deny'
GROUP BY fp.fingerprint, pa.action_id;

CREATE OR REPLACE TEMP TABLE sc_scp_allow AS
WITH per_level AS (
  SELECT pl.path_key, pl.level, pa.action_id,
         bool_or(pa.all_resources) AS all_resources, bool_or(pa.unconditional) AS unconditional
  FROM sc_path_level pl
  JOIN sc_policy_action pa ON pa.policy_id = pl.policy_id AND pa.effect = 'Allow'
  GROUP BY pl.path_key, pl.level, pa.action_id
),
n AS (SELECT path_key, count(DISTINCT level) AS levels FROM sc_path_level GROUP BY path_key)
SELECT p.path_key, p.action_id,
       bool_and(p.all_resources) AS all_resources, bool_and(p.unconditional) AS unconditional
FROM per_level p
JOIN n ON n.path_key = p.path_key
GROUP BY p.path_key, p.action_id, n.levels
HAVING count(*) = n.levels;

CREATE OR REPLACE TEMP TABLE sc_scp_deny AS
SELECT pl.path_key, pa.action_id,
       bool_or(pa.unconditional_all_resources) AS removed,
       bool_or(NOT pa.unconditional_all_resources) AS partial
FROM (SELECT DISTINCT path_key, policy_id FROM sc_path_level) pl
JOIN sc_policy_action pa ON pa.policy_id = pl.policy_id AND pa.effect = 'Deny'
GROUP BY pl.path_key, pa.action_id;

CREATE OR REPLACE TEMP TABLE sc_effective AS
SELECT a.fingerprint, a.action_id, act.level_rank,
       CASE WHEN a.all_resources AND coalesce(b.all_resources, true) AND coalesce(s.all_resources, true)
            THEN 'all' ELSE 'specific' END AS resource_scope,
       NOT (a.unconditional AND coalesce(b.unconditional, true) AND coalesce(s.unconditional, true)) AS conditional,
       coalesce(d.partial, false) OR bd.action_id IS NOT NULL OR coalesce(sd.partial, false) AS deny_partial
FROM sc_identity_allow a
JOIN sc_fp f ON f.fingerprint = a.fingerprint
JOIN sc_action act ON act.action_id = a.action_id
LEFT JOIN sc_identity_deny d ON d.fingerprint = a.fingerprint AND d.action_id = a.action_id
LEFT JOIN sc_policy_action bd
  ON bd.policy_id = f.boundary_id AND bd.action_id = a.action_id AND bd.effect = 'Deny'
LEFT JOIN sc_scp_deny sd ON sd.path_key = f.path_key AND sd.action_id = a.action_id
LEFT JOIN sc_policy_action b
  ON b.policy_id = f.boundary_id AND b.action_id = a.action_id AND b.effect = 'Allow'
LEFT JOIN sc_scp_allow s ON s.path_key = f.path_key AND s.action_id = a.action_id
WHERE (f.boundary_id IS NULL OR b.action_id IS NOT NULL)
  AND (f.path_key IS NULL OR s.action_id IS NOT NULL)
  AND NOT coalesce(d.removed, false)
  AND NOT coalesce(bd.unconditional_all_resources, false)
  AND NOT coalesce(sd.removed, false);

-- Admin-equivalent: holds nearly every IAM and ADMIN action of its cloud on every resource,
-- without condition (a "*" that survives every layer, or its equivalent).
CREATE OR REPLACE TEMP TABLE sc_fp_summary AS
WITH privileged AS (
  SELECT cloud, count(*) AS n FROM sc_action WHERE level_rank >= 4 GROUP BY cloud
),
held AS (
  SELECT e.fingerprint, count(*)::INTEGER AS granted,
         count(*) FILTER (WHERE e.level_rank >= 4 AND e.resource_scope = 'all' AND NOT e.conditional) AS privileged_full
  FROM sc_effective e
  GROUP BY e.fingerprint
)
SELECT f.fingerprint, coalesce(h.granted, 0) AS granted,
       coalesce(h.privileged_full >= $admin_share * p.n AND p.n > 0, false) AS admin_equivalent
FROM sc_fp f
LEFT JOIN held h ON h.fingerprint = f.fingerprint
LEFT JOIN privileged p ON p.cloud = f.cloud;
