-- Effective permissions per fingerprint:
--   identity allows (direct, inline, group-inherited; GCP bindings)
--   minus unconditional denies on every resource (identity, boundary and SCP denies)
--   intersected with the boundary's allows (when there is a boundary)
--   intersected with, for each level of the SCP path, the union of that level's SCP allows.
-- Conditional or resource-scoped denies do not remove an action: they flag it.
-- The boundary and SCP layers depend only on the context (SCP path, boundary), so each policy
-- is intersected once per context it is used in; fingerprints then take the union of their
-- policies' rows, minus the actions their own identity denies remove.
CREATE OR REPLACE TEMP TABLE sc_ctx AS
SELECT row_number() OVER (ORDER BY path_key NULLS FIRST, boundary_id NULLS FIRST)::INTEGER AS ctx_id,
       path_key, boundary_id
FROM (SELECT DISTINCT path_key, boundary_id FROM sc_fp);

CREATE OR REPLACE TEMP TABLE sc_fp_ctx AS
SELECT f.fingerprint, c.ctx_id
FROM sc_fp f
JOIN sc_ctx c ON coalesce(c.path_key, '') = coalesce(f.path_key, '')
             AND coalesce(c.boundary_id, '') = coalesce(f.boundary_id, '');

CREATE OR REPLACE TEMP TABLE sc_fp_policy_ctx AS
SELECT fpp.fingerprint, fpp.policy_id, fpp.binding_specific, fpp.binding_conditional, fc.ctx_id
FROM sc_fp_policy fpp
JOIN sc_fp_ctx fc ON fc.fingerprint = fpp.fingerprint;

CREATE OR REPLACE TEMP TABLE sc_identity_deny AS
SELECT fp.fingerprint, pa.action_id,
       bool_or(pa.unconditional_all_resources AND NOT fp.binding_conditional AND NOT fp.binding_specific) AS removed,
       bool_or(NOT (pa.unconditional_all_resources AND NOT fp.binding_conditional AND NOT fp.binding_specific)) AS partial
FROM sc_fp_policy fp
JOIN sc_policy_action pa ON pa.policy_id = fp.policy_id AND pa.effect = 'Deny'
GROUP BY fp.fingerprint, pa.action_id;

-- A level restricts only when its SCPs allow something: AWS attaches FullAWSAccess to every
-- root, OU and account, so a level with deny-only SCPs is a snapshot that omits it (as small
-- test organizations do), and reading it as "allows nothing" would hide every permission.
CREATE OR REPLACE TEMP TABLE sc_scp_level_allow AS
SELECT pl.path_key, pl.level, pa.action_id,
       bool_or(pa.all_resources) AS all_resources, bool_or(pa.unconditional) AS unconditional
FROM sc_path_level pl
JOIN sc_policy_action pa ON pa.policy_id = pl.policy_id AND pa.effect = 'Allow'
GROUP BY pl.path_key, pl.level, pa.action_id;

CREATE OR REPLACE TEMP TABLE sc_path_allow AS
SELECT path_key, count(DISTINCT level) AS levels FROM sc_scp_level_allow GROUP BY path_key;

CREATE OR REPLACE TEMP TABLE sc_scp_allow AS
SELECT p.path_key, p.action_id,
       bool_and(p.all_resources) AS all_resources, bool_and(p.unconditional) AS unconditional
FROM sc_scp_level_allow p
JOIN sc_path_allow n ON n.path_key = p.path_key
GROUP BY p.path_key, p.action_id, n.levels
HAVING count(*) = n.levels;

CREATE OR REPLACE TEMP TABLE sc_scp_deny AS
SELECT pl.path_key, pa.action_id,
       bool_or(pa.unconditional_all_resources) AS removed,
       bool_or(NOT pa.unconditional_all_resources) AS partial
FROM (SELECT DISTINCT path_key, policy_id FROM sc_path_level) pl
JOIN sc_policy_action pa ON pa.policy_id = pl.policy_id AND pa.effect = 'Deny'
GROUP BY pl.path_key, pa.action_id;

-- Each identity policy's allows within one context: boundary and SCP path applied.
CREATE OR REPLACE TEMP TABLE sc_policy_ctx_action AS
WITH pairs AS (SELECT DISTINCT policy_id, ctx_id FROM sc_fp_policy_ctx)
SELECT pc.policy_id, pc.ctx_id, pa.action_id, act.level_rank,
       pa.all_resources AND coalesce(b.all_resources, true) AND coalesce(s.all_resources, true) AS all_resources,
       pa.unconditional AND coalesce(b.unconditional, true) AND coalesce(s.unconditional, true) AS unconditional,
       bd.action_id IS NOT NULL OR coalesce(sd.partial, false) AS deny_partial
FROM pairs pc
JOIN sc_ctx c ON c.ctx_id = pc.ctx_id
JOIN sc_policy_action pa ON pa.policy_id = pc.policy_id AND pa.effect = 'Allow'
JOIN sc_action act ON act.action_id = pa.action_id
LEFT JOIN sc_policy_action b
  ON b.policy_id = c.boundary_id AND b.action_id = pa.action_id AND b.effect = 'Allow'
LEFT JOIN sc_policy_action bd
  ON bd.policy_id = c.boundary_id AND bd.action_id = pa.action_id AND bd.effect = 'Deny'
LEFT JOIN sc_path_allow pal ON pal.path_key = c.path_key
LEFT JOIN sc_scp_allow s ON s.path_key = c.path_key AND s.action_id = pa.action_id
LEFT JOIN sc_scp_deny sd ON sd.path_key = c.path_key AND sd.action_id = pa.action_id
WHERE (c.boundary_id IS NULL OR b.action_id IS NOT NULL)
  AND (pal.path_key IS NULL OR s.action_id IS NOT NULL)
  AND NOT coalesce(bd.unconditional_all_resources, false)
  AND NOT coalesce(sd.removed, false);

-- Grouped on one packed BIGINT key (fingerprint << 20 | action_id): about twice as fast as two
-- integer keys on millions of groups. Action ids stay below 2^20.
CREATE OR REPLACE TEMP TABLE sc_effective AS
WITH u AS (
  SELECT (fpp.fingerprint::BIGINT << 20) | pca.action_id AS k, any_value(pca.level_rank) AS level_rank,
         bool_or(pca.all_resources AND NOT fpp.binding_specific) AS all_resources,
         bool_or(pca.unconditional AND NOT fpp.binding_conditional) AS unconditional,
         bool_or(pca.deny_partial) AS deny_partial
  FROM sc_fp_policy_ctx fpp
  JOIN sc_policy_ctx_action pca ON pca.policy_id = fpp.policy_id AND pca.ctx_id = fpp.ctx_id
  GROUP BY k
),
d AS (
  SELECT (fingerprint::BIGINT << 20) | action_id AS k, removed, partial FROM sc_identity_deny
)
SELECT (u.k >> 20)::INTEGER AS fingerprint, (u.k & 1048575)::INTEGER AS action_id, u.level_rank,
       CASE WHEN u.all_resources THEN 'all' ELSE 'specific' END AS resource_scope,
       NOT u.unconditional AS conditional,
       u.deny_partial OR coalesce(d.partial, false) AS deny_partial
FROM u
LEFT JOIN d ON d.k = u.k
WHERE NOT coalesce(d.removed, false);

-- Data events are recorded only for the resource types the trails select. Without selector
-- information (file imports), every type counts as selected where the account logs data events.
CREATE OR REPLACE TEMP TABLE sc_action_de AS
SELECT a.action_id,
       (SELECT count(*) FROM sc_selected_type) = 0 OR t.resource_type IS NULL
         OR t.resource_type IN (SELECT resource_type FROM sc_selected_type) AS selected
FROM sc_action a
LEFT JOIN sc_data_event_type t ON t.action_lower = a.action_lower
WHERE a.observable = 'data-event' AND a.cloud = 'aws'
UNION ALL
SELECT action_id, true FROM sc_action WHERE observable = 'data-event' AND cloud <> 'aws';

-- Per fingerprint and level, in one pass: counts by observability, the most sensitive action
-- (sensitivity lowered for resource-scoped, conditional or partly denied grants), data reads,
-- and privileged actions held on every resource without condition (admin-equivalence).
CREATE OR REPLACE TEMP TABLE sc_fp_level AS
WITH x AS (
  SELECT e.fingerprint, e.level_rank, e.action_id, a.observable, a.sensitivity, e.resource_scope, e.conditional,
         e.resource_scope = 'all' AND NOT e.conditional AS is_full,
         greatest(a.sensitivity
           - CASE WHEN e.resource_scope = 'specific' THEN $scoped_penalty ELSE 0 END
           - CASE WHEN e.conditional THEN $conditional_penalty ELSE 0 END
           - CASE WHEN e.deny_partial THEN $partial_deny_penalty ELSE 0 END, 0) AS adjusted,
         a.data_read, coalesce(de.selected, true) AS de_selected
  FROM sc_effective e
  JOIN sc_action a ON a.action_id = e.action_id
  LEFT JOIN sc_action_de de ON de.action_id = e.action_id
)
SELECT fingerprint, level_rank, count(*)::INTEGER AS granted,
       count(*) FILTER (WHERE observable = 'never')::INTEGER AS never_count,
       count(*) FILTER (WHERE observable = 'data-event' AND de_selected)::INTEGER AS data_event_count,
       count(*) FILTER (WHERE observable = 'data-event' AND NOT de_selected)::INTEGER AS unselected_count,
       count(*) FILTER (WHERE level_rank >= 4 AND is_full)::INTEGER AS privileged_full,
       max(adjusted) AS max_adjusted,
       -- ties: higher raw sensitivity, then the first action in catalog order
       -- scope and condition ride along in the key's low bits, so no second pass is needed
       max(((adjusted * 100 + sensitivity) * 4 + CASE WHEN resource_scope = 'all' THEN 2 ELSE 0 END
            + CASE WHEN conditional THEN 1 ELSE 0 END)::BIGINT * 1000000 + (999999 - action_id)) AS top_key,
       list(action_id) FILTER (WHERE data_read AND is_full) AS data_reads
FROM x
GROUP BY fingerprint, level_rank;

CREATE OR REPLACE TEMP TABLE sc_fp_summary AS
WITH privileged AS (
  SELECT cloud, count(*) AS n FROM sc_action WHERE level_rank >= 4 GROUP BY cloud
),
held AS (
  SELECT fingerprint, sum(granted)::INTEGER AS granted, sum(privileged_full) AS privileged_full
  FROM sc_fp_level
  GROUP BY fingerprint
)
SELECT f.fingerprint, coalesce(h.granted, 0) AS granted,
       coalesce(h.privileged_full >= $admin_share * p.n AND p.n > 0, false) AS admin_equivalent
FROM sc_fp f
LEFT JOIN held h ON h.fingerprint = f.fingerprint
LEFT JOIN privileged p ON p.cloud = f.cloud;
