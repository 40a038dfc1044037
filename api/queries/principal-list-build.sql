-- Copy one finished assessment's principals into principal_list (see migration 003). Row
-- numbers continue after the highest one in the table, so that they are unique across
-- assessments: (sort column, row_no) is a total order without comparing assessment ids.
INSERT INTO principal_list
SELECT
  ps.assessment_id,
  CAST($first_row + row_number() OVER (ORDER BY ps.principal_id) AS INTEGER) AS row_no,
  ps.principal_id,
  ps.integration_id,
  ps.account_id,
  a.name,
  p.name,
  p.kind,
  p.cloud,
  ps.status,
  ps.tier,
  CASE lower(ps.tier) WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 END,
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
  false
FROM principal_score ps
JOIN principal p ON p.assessment_id = ps.assessment_id AND p.principal_id = ps.principal_id
LEFT JOIN account a ON a.assessment_id = ps.assessment_id AND a.account_id = ps.account_id
WHERE ps.assessment_id = $assessment_id
