-- Risk components per fingerprint (what the policies allow) and per principal (account,
-- exposure, unused privileged access), summed into a 0-100 score with a breakdown, then tiers.
CREATE OR REPLACE TEMP TABLE sc_fp_risk AS
WITH top AS (
  SELECT fingerprint, max(max_adjusted) AS max_sensitivity, max(top_key) AS top_key,
         flatten(list(data_reads) FILTER (WHERE data_reads IS NOT NULL)) AS data_reads
  FROM sc_fp_level
  GROUP BY fingerprint
)
SELECT t.fingerprint, t.max_sensitivity,
       a.action AS top_action, a.sensitivity AS top_action_sensitivity,
       CASE WHEN (t.top_key // 1000000) % 4 >= 2 THEN 'all' ELSE 'specific' END AS top_action_scope,
       (t.top_key // 1000000) % 2 = 1 AS top_action_conditional,
       coalesce(len(t.data_reads), 0)::INTEGER AS data_reads,
       (SELECT list(d.action ORDER BY d.sensitivity DESC, d.action)
        FROM unnest(t.data_reads) AS r(id) JOIN sc_action d ON d.action_id = r.id) AS data_read_actions
FROM top t
JOIN sc_action a ON a.action_id = 999999 - (t.top_key % 1000000);

CREATE OR REPLACE TEMP TABLE sc_esc_req AS
SELECT DISTINCT r.path_id, r.group_idx, a.action_id, a.action
FROM sc_esc_raw r
JOIN sc_action a ON a.cloud = r.cloud AND a.action_lower = r.action_lower;

CREATE OR REPLACE TEMP TABLE sc_fp_escalation AS
WITH steps AS (
  SELECT e.fingerprint, r.path_id, r.group_idx,
         bool_or(e.resource_scope = 'all' AND NOT e.conditional) AS full_step,
         first(r.action ORDER BY (e.resource_scope = 'all' AND NOT e.conditional) DESC, r.action) AS action
  FROM sc_esc_req r
  JOIN sc_effective e ON e.action_id = r.action_id
  GROUP BY e.fingerprint, r.path_id, r.group_idx
),
n AS (SELECT path_id, count(DISTINCT group_idx) AS groups FROM sc_esc_raw GROUP BY path_id)
SELECT s.fingerprint, s.path_id, bool_and(s.full_step) AS unconditional,
       list(s.action ORDER BY s.group_idx) AS actions
FROM steps s
JOIN n ON n.path_id = s.path_id
GROUP BY s.fingerprint, s.path_id, n.groups
HAVING count(*) = n.groups;

CREATE OR REPLACE TEMP TABLE sc_fp_escalation_summary AS
SELECT fingerprint, bool_or(unconditional) AS any_unconditional,
       list({'path': path_id, 'actions': actions, 'unconditional': unconditional}
            ORDER BY NOT unconditional, path_id) AS paths
FROM sc_fp_escalation
GROUP BY fingerprint;

CREATE OR REPLACE TEMP TABLE sc_exposure_best AS
SELECT principal_id, max(points) AS points,
       first(finding ORDER BY points DESC, finding) AS finding,
       list(evidence ORDER BY points DESC, evidence) AS evidence
FROM sc_exposure
GROUP BY principal_id;

CREATE OR REPLACE TEMP TABLE sc_components AS
SELECT pf.principal_id, pf.fingerprint,
       coalesce(fs.admin_equivalent, false) AS admin_equivalent,
       least($principal_max, round(coalesce(fr.max_sensitivity, 0) * $principal_max / 10.0))::INTEGER AS principal_points,
       CASE acc.risk_level WHEN 'low' THEN $account_low WHEN 'medium' THEN $account_medium
            WHEN 'high' THEN $account_high WHEN 'critical' THEN $account_critical ELSE 0 END AS account_points,
       least($data_max, coalesce(fr.data_reads, 0) * $data_per_action)::INTEGER AS data_points,
       least($exposure_max, coalesce(x.points, 0))::INTEGER AS exposure_points,
       CASE WHEN es.fingerprint IS NULL THEN 0
            WHEN es.any_unconditional THEN $escalation_unconditional ELSE $escalation_limited END AS escalation_points,
       round(coalesce(u.high_risk_overprivilege_pct, 0) * $unused_max / 100.0)::INTEGER AS unused_points,
       fr.max_sensitivity, fr.top_action, fr.top_action_sensitivity, fr.top_action_scope, fr.top_action_conditional,
       fr.data_reads, fr.data_read_actions, acc.risk_level, acc.risk_source,
       x.finding AS exposure_finding, x.evidence AS exposure_evidence, es.paths AS escalation_paths,
       u.high_risk_overprivilege_pct, u.privileged_share
FROM sc_principal_fp pf
JOIN sc_principal_usage u ON u.principal_id = pf.principal_id
LEFT JOIN sc_fp_summary fs ON fs.fingerprint = pf.fingerprint
LEFT JOIN sc_fp_risk fr ON fr.fingerprint = pf.fingerprint
LEFT JOIN account acc ON acc.assessment_id = $assessment_id AND acc.account_id = pf.account_id
LEFT JOIN sc_exposure_best x ON x.principal_id = pf.principal_id
LEFT JOIN sc_fp_escalation_summary es ON es.fingerprint = pf.fingerprint;

CREATE OR REPLACE TEMP TABLE sc_risk AS
SELECT c.principal_id, c.admin_equivalent,
       least(100, c.principal_points + c.account_points + c.data_points + c.exposure_points
                  + c.escalation_points + c.unused_points)::INTEGER AS risk_score,
       to_json([
         {'component': 'principal-risk', 'points': c.principal_points, 'max': $principal_max,
          'reason': CASE WHEN c.top_action IS NULL THEN 'No effective permissions.'
                         ELSE printf('Most sensitive effective action: %s (sensitivity %d, %s%s), counted as %d of 10.',
                                     c.top_action, c.top_action_sensitivity,
                                     CASE WHEN c.top_action_scope = 'all' THEN 'on every resource' ELSE 'on specific resources' END,
                                     CASE WHEN c.top_action_conditional THEN ', under a condition' ELSE '' END,
                                     c.max_sensitivity) END,
          'evidence': to_json({'action': c.top_action, 'sensitivity': c.top_action_sensitivity,
                               'adjusted': c.max_sensitivity, 'resourceScope': c.top_action_scope,
                               'conditional': c.top_action_conditional, 'adminEquivalent': c.admin_equivalent})},
         {'component': 'account-risk', 'points': c.account_points, 'max': $account_max,
          'reason': CASE WHEN c.risk_level IS NULL THEN 'Account or project not in the snapshot.'
                         ELSE printf('Account risk level %s (from %s).', c.risk_level, c.risk_source) END,
          'evidence': to_json({'riskLevel': c.risk_level, 'source': c.risk_source})},
         {'component': 'data-sensitivity', 'points': c.data_points, 'max': $data_max,
          'reason': CASE WHEN coalesce(c.data_reads, 0) = 0 THEN 'No unconditional data-exfiltration or credential reads on every resource.'
                         ELSE printf('%d data-exfiltration or credential reads on every resource without condition.', c.data_reads) END,
          'evidence': to_json({'actions': coalesce(c.data_read_actions[1:10], []::VARCHAR[]), 'count': coalesce(c.data_reads, 0)})},
         {'component': 'exposure', 'points': c.exposure_points, 'max': $exposure_max,
          'reason': coalesce(c.exposure_finding, 'No exposure beyond the organization found.'),
          'evidence': to_json(coalesce(c.exposure_evidence, []::VARCHAR[]))},
         {'component': 'escalation', 'points': c.escalation_points, 'max': $escalation_max,
          'reason': CASE WHEN c.escalation_paths IS NULL THEN 'No privilege-escalation path.'
                         ELSE printf('%d privilege-escalation path(s): %s.', len(c.escalation_paths),
                                     array_to_string(list_transform(c.escalation_paths[1:5], lambda p: p.path), ', ')) END,
          'evidence': to_json(coalesce(c.escalation_paths, []))},
         {'component': 'unused-high-risk', 'points': c.unused_points, 'max': $unused_max,
          'reason': CASE WHEN c.high_risk_overprivilege_pct IS NULL THEN 'No observable IAM or ADMIN action granted.'
                         ELSE printf('%.1f%% of its observable IAM and ADMIN actions unused in the window.', c.high_risk_overprivilege_pct) END,
          'evidence': to_json({'highRiskOverprivilegePct': c.high_risk_overprivilege_pct, 'privilegedShare': c.privileged_share})}
       ]) AS risk_breakdown
FROM sc_components c;

CREATE OR REPLACE TEMP TABLE sc_tier AS
SELECT r.principal_id, first(t.tier ORDER BY t.ord) AS tier, first(t.reason ORDER BY t.ord) AS tier_reason
FROM sc_risk r
JOIN sc_principal_usage u ON u.principal_id = r.principal_id
JOIN sc_tier_rule t
  ON (t.admin_equivalent IS NULL OR r.admin_equivalent)
 AND (t.min_risk IS NULL OR r.risk_score >= t.min_risk)
 AND (t.min_overprivilege IS NULL OR coalesce(u.overprivilege_pct, 0) >= t.min_overprivilege)
 AND (t.min_privileged_share IS NULL OR u.privileged_share >= t.min_privileged_share)
GROUP BY r.principal_id;
