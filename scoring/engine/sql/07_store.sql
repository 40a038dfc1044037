-- Replace the assessment's scoring rows (re-scoring is idempotent).
DELETE FROM policy_action WHERE assessment_id = $assessment_id;
DELETE FROM scoring_fingerprint WHERE assessment_id = $assessment_id;
DELETE FROM effective_action WHERE assessment_id = $assessment_id;
DELETE FROM principal_score WHERE assessment_id = $assessment_id;
DELETE FROM policy_usage WHERE assessment_id = $assessment_id;

INSERT INTO policy_action BY NAME
SELECT $assessment_id AS assessment_id, pa.policy_id,
       list({'action': a.action, 'effect': pa.effect, 'all_resources': pa.all_resources,
             'unconditional': pa.unconditional,
             'unconditional_all_resources': pa.unconditional_all_resources,
             'statements': pa.statements}) AS actions
FROM sc_policy_action pa
JOIN sc_action a ON a.action_id = pa.action_id
GROUP BY pa.policy_id;

INSERT INTO scoring_fingerprint BY NAME
SELECT $assessment_id AS assessment_id, f.fp_hash AS fingerprint, f.cloud, f.elements AS identity_policies,
       f.boundary_id AS boundary_policy_id, f.scp_path, f.principals,
       s.granted AS granted_count, s.admin_equivalent
FROM sc_fp f
JOIN sc_fp_summary s ON s.fingerprint = f.fingerprint;

INSERT INTO effective_action BY NAME
SELECT $assessment_id AS assessment_id, any_value(f.fp_hash) AS fingerprint,
       list({'action': a.action, 'level_rank': e.level_rank, 'resource_scope': e.resource_scope,
             'conditional': e.conditional, 'deny_partial': e.deny_partial}) AS actions
FROM sc_effective e
JOIN sc_fp f ON f.fingerprint = e.fingerprint
JOIN sc_action a ON a.action_id = e.action_id
GROUP BY e.fingerprint;

INSERT INTO principal_score BY NAME
SELECT $assessment_id AS assessment_id, m.principal_id, $integration_id AS integration_id, m.account_id,
       st.status, st.status_reason || st.used_note AS status_reason, st.last_used_at, st.last_used_source,
       u.granted AS granted_count, u.used AS used_count, u.unused AS unused_count,
       u.unobservable AS unobservable_count, u.levels, u.unused_levels, g.reason AS evidence_gap,
       u.overprivilege_pct, u.high_risk_overprivilege_pct, u.privileged_share,
       r.risk_score, r.risk_breakdown, t.tier, t.tier_reason, pf.fp_hash AS fingerprint,
       coalesce(i.human, 0) AS human_identities, coalesce(i.machine, 0) AS machine_identities
FROM sc_member m
JOIN sc_principal_fp pf ON pf.principal_id = m.principal_id
JOIN sc_principal_usage u ON u.principal_id = m.principal_id
JOIN sc_status st ON st.principal_id = m.principal_id
JOIN sc_risk r ON r.principal_id = m.principal_id
JOIN sc_tier t ON t.principal_id = m.principal_id
LEFT JOIN sc_identities i ON i.principal_id = m.principal_id
LEFT JOIN sc_evidence_gap g ON g.principal_id = m.principal_id;

-- "Used for": per principal, attached allow policy and level. A policy's granted and
-- unobservable counts depend only on its context (SCP path, boundary), except in the rare
-- fingerprints whose own denies remove actions; only used actions are per principal.
CREATE OR REPLACE TEMP TABLE sc_fp_removing AS
SELECT DISTINCT fingerprint FROM sc_identity_deny WHERE removed;

CREATE OR REPLACE TEMP TABLE sc_fp_policy_level AS
WITH ctx_counts AS (
  SELECT pca.policy_id, pca.ctx_id, pca.level_rank, count(*)::INTEGER AS granted,
         count(*) FILTER (WHERE a.observable = 'never')::INTEGER AS never_count,
         count(*) FILTER (WHERE a.observable = 'data-event' AND coalesce(de.selected, true))::INTEGER AS data_event_count,
         count(*) FILTER (WHERE a.observable = 'data-event' AND NOT coalesce(de.selected, true))::INTEGER AS unselected_count
  FROM sc_policy_ctx_action pca
  JOIN sc_action a ON a.action_id = pca.action_id
  LEFT JOIN sc_action_de de ON de.action_id = pca.action_id
  GROUP BY pca.policy_id, pca.ctx_id, pca.level_rank
),
pairs AS (SELECT DISTINCT fingerprint, policy_id, ctx_id FROM sc_fp_policy_ctx)
SELECT p.fingerprint, p.policy_id, c.level_rank, c.granted, c.never_count, c.data_event_count,
       c.unselected_count
FROM pairs p
JOIN ctx_counts c ON c.policy_id = p.policy_id AND c.ctx_id = p.ctx_id
WHERE p.fingerprint NOT IN (SELECT fingerprint FROM sc_fp_removing)
UNION ALL
SELECT p.fingerprint, p.policy_id, pca.level_rank, count(*)::INTEGER,
       count(*) FILTER (WHERE a.observable = 'never')::INTEGER,
       count(*) FILTER (WHERE a.observable = 'data-event' AND coalesce(de.selected, true))::INTEGER,
       count(*) FILTER (WHERE a.observable = 'data-event' AND NOT coalesce(de.selected, true))::INTEGER
FROM (SELECT DISTINCT fingerprint, policy_id, ctx_id FROM sc_fp_policy_ctx
      WHERE fingerprint IN (SELECT fingerprint FROM sc_fp_removing)) p
JOIN sc_policy_ctx_action pca ON pca.policy_id = p.policy_id AND pca.ctx_id = p.ctx_id
JOIN sc_action a ON a.action_id = pca.action_id
LEFT JOIN sc_action_de de ON de.action_id = pca.action_id
ANTI JOIN (SELECT fingerprint, action_id FROM sc_identity_deny WHERE removed) d
  ON d.fingerprint = p.fingerprint AND d.action_id = pca.action_id
GROUP BY p.fingerprint, p.policy_id, pca.level_rank;

-- Used actions per principal and attached policy (joined in this order on purpose: the used
-- set is small, the policies' actions are not).
CREATE OR REPLACE TEMP TABLE sc_used_policy AS
SELECT DISTINCT u.principal_id, pf.fingerprint, fpp.policy_id, fpp.ctx_id, u.action_id
FROM sc_used u
JOIN sc_principal_fp pf ON pf.principal_id = u.principal_id
JOIN (SELECT DISTINCT fingerprint, policy_id, ctx_id FROM sc_fp_policy_ctx) fpp ON fpp.fingerprint = pf.fingerprint;

INSERT INTO policy_usage BY NAME
WITH used AS (
  SELECT up.principal_id, up.policy_id, pca.level_rank, count(*)::INTEGER AS used,
         count(*) FILTER (WHERE a.observable = 'never')::INTEGER AS used_never,
         count(*) FILTER (WHERE a.observable = 'data-event' AND coalesce(de.selected, true))::INTEGER AS used_data_event,
         count(*) FILTER (WHERE a.observable = 'data-event' AND NOT coalesce(de.selected, true))::INTEGER AS used_unselected
  FROM sc_used_policy up
  JOIN sc_policy_ctx_action pca
    ON pca.policy_id = up.policy_id AND pca.ctx_id = up.ctx_id AND pca.action_id = up.action_id
  JOIN sc_action a ON a.action_id = up.action_id
  LEFT JOIN sc_action_de de ON de.action_id = up.action_id
  ANTI JOIN (SELECT fingerprint, action_id FROM sc_identity_deny WHERE removed) d
    ON d.fingerprint = up.fingerprint AND d.action_id = up.action_id
  GROUP BY up.principal_id, up.policy_id, pca.level_rank
),
x AS (
  SELECT pf.principal_id, c.policy_id, c.level_rank, c.granted, coalesce(u.used, 0) AS used,
         c.never_count - coalesce(u.used_never, 0)
           + c.unselected_count - coalesce(u.used_unselected, 0)
           + CASE WHEN coalesce(cov.data_events, false) THEN 0
                  ELSE c.data_event_count - coalesce(u.used_data_event, 0) END AS unobservable,
         g.principal_id IS NOT NULL AS gap
  FROM sc_principal_fp pf
  JOIN sc_fp_policy_level c ON c.fingerprint = pf.fingerprint
  LEFT JOIN used u ON u.principal_id = pf.principal_id AND u.policy_id = c.policy_id AND u.level_rank = c.level_rank
  LEFT JOIN sc_account_coverage cov ON cov.account_id = pf.account_id
  LEFT JOIN sc_evidence_gap g ON g.principal_id = pf.principal_id
)
SELECT $assessment_id AS assessment_id, principal_id, policy_id,
       ['LIST', 'READ', 'TAGGING', 'WRITE', 'IAM', 'ADMIN'][level_rank + 1] AS privilege_level,
       granted, used,
       CASE WHEN gap THEN 0 ELSE granted - used - unobservable END AS unused,
       CASE WHEN gap THEN granted - used ELSE unobservable END AS unobservable
FROM x;

UPDATE assessment SET identity_count = (
  SELECT count(DISTINCT identity)::INTEGER FROM identity_usage
  WHERE integration_id = $integration_id AND day BETWEEN $window_start::DATE AND $window_end::DATE
    AND principal_id IN (SELECT principal_id FROM sc_member)
) WHERE assessment_id = $assessment_id;
