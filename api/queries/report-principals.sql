-- The least-privilege report table: one row per scored principal of one assessment, riskiest
-- first, with its active ignore reason and open recommendations.
SELECT
  ps.integration_id,
  ps.assessment_id,
  ps.account_id,
  a.name AS account_name,
  ps.principal_id,
  p.name AS principal_name,
  p.kind AS type,
  p.cloud,
  ps.status,
  ps.tier,
  ps.risk_score,
  ps.overprivilege_pct,
  ps.high_risk_overprivilege_pct,
  ps.granted_count,
  ps.used_count,
  ps.unused_count,
  ps.unobservable_count,
  ps.unused_levels,
  ps.last_used_at,
  ps.last_used_source,
  p.created_at,
  p.owner,
  ps.human_identities,
  ps.machine_identities,
  (
    SELECT arg_max(ir.reason, ir.created_at) FROM ignore_rule ir
    WHERE ir.principal_id = ps.principal_id
      AND (ir.integration_id IS NULL OR ir.integration_id = ps.integration_id)
      AND ir.removed_at IS NULL
      AND (ir.expires_at IS NULL OR ir.expires_at > now())
  ) AS ignore_reason,
  coalesce(rec.open_count, 0) AS open_recommendations,
  rec.top_title AS top_recommendation
FROM principal_score ps
JOIN principal p ON p.assessment_id = ps.assessment_id AND p.principal_id = ps.principal_id
LEFT JOIN account a ON a.assessment_id = ps.assessment_id AND a.account_id = ps.account_id
LEFT JOIN (
  SELECT principal_id,
    count(*) FILTER (WHERE state = 'open') AS open_count,
    arg_min(title, rank) FILTER (WHERE state = 'open') AS top_title
  FROM recommendation
  WHERE assessment_id = $assessment_id
  GROUP BY principal_id
) rec ON rec.principal_id = ps.principal_id
WHERE ps.assessment_id = $assessment_id
