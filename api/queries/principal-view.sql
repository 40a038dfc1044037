-- One row per scored principal of the assessments in scope, with every column the principals
-- list shows and the filter language can name (api/filter/fields.ts maps fields to these).
-- {{scope}} is a list of bound placeholders for assessment ids.
SELECT
  ps.assessment_id,
  ps.principal_id,
  p.name,
  p.kind,
  p.cloud,
  ps.integration_id,
  ps.account_id,
  a.name AS account_name,
  ps.status,
  ps.tier,
  CASE lower(ps.tier) WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 END AS tier_rank,
  ps.risk_score,
  ps.overprivilege_pct,
  ps.high_risk_overprivilege_pct,
  ps.last_used_at,
  p.created_at,
  p.owner,
  p.tags,
  ps.unused_levels,
  p.service_linked,
  ps.human_identities,
  ps.machine_identities,
  ps.granted_count,
  ps.used_count,
  ps.unused_count,
  ps.unobservable_count,
  EXISTS (
    SELECT 1 FROM ignore_rule ir
    WHERE ir.principal_id = ps.principal_id
      AND (ir.integration_id IS NULL OR ir.integration_id = ps.integration_id)
      AND ir.removed_at IS NULL
      AND (ir.expires_at IS NULL OR ir.expires_at > now())
  ) AS ignored
FROM principal_score ps
JOIN principal p ON p.assessment_id = ps.assessment_id AND p.principal_id = ps.principal_id
LEFT JOIN account a ON a.assessment_id = ps.assessment_id AND a.account_id = ps.account_id
WHERE ps.assessment_id IN ({{scope}})
