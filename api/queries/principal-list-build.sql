-- Copy one finished assessment's principals into principal_list (see migrations 004 and 006).
-- Row numbers continue after the highest one in the table, so that they are unique across
-- assessments: (sort column, row_no) is a total order without comparing assessment ids.
-- item_json is the list item the API returns (api/principals.ts PrincipalListItem) without
-- `ignored`; timestamps are written as JavaScript's toISOString() writes them.
INSERT INTO principal_list BY NAME
SELECT
  r.*,
  json_object(
    'principalId', r.principal_id,
    'name', r.name,
    'type', r.kind,
    'cloud', r.cloud,
    'integrationId', r.integration_id,
    'assessmentId', r.assessment_id,
    'account', json_object('id', r.account_id, 'name', r.account_name),
    'status', r.status,
    'tier', r.tier,
    'riskScore', r.risk_score,
    'overprivilegePct', r.overprivilege_pct,
    'highRiskOverprivilegePct', r.high_risk_overprivilege_pct,
    'lastUsedAt', strftime(r.last_used_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'),
    'createdAt', strftime(r.created_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'),
    'owner', r.owner,
    'tags', CASE WHEN json_type(r.tags) = 'NULL' THEN '{}'::JSON ELSE r.tags END,
    'unusedLevels', r.unused_levels,
    'identities', json_object('human', r.human_identities, 'machine', r.machine_identities),
    'actions', json_object(
      'granted', r.granted_count,
      'used', r.used_count,
      'unused', r.unused_count,
      'unobservable', r.unobservable_count
    )
  )::VARCHAR AS item_json,
  (CASE WHEN list_contains(r.unused_levels, 'LIST') THEN 1 ELSE 0 END)
    | (CASE WHEN list_contains(r.unused_levels, 'READ') THEN 2 ELSE 0 END)
    | (CASE WHEN list_contains(r.unused_levels, 'TAGGING') THEN 4 ELSE 0 END)
    | (CASE WHEN list_contains(r.unused_levels, 'WRITE') THEN 8 ELSE 0 END)
    | (CASE WHEN list_contains(r.unused_levels, 'IAM') THEN 16 ELSE 0 END)
    | (CASE WHEN list_contains(r.unused_levels, 'ADMIN') THEN 32 ELSE 0 END) AS unused_level_mask
FROM (
  SELECT
    ps.assessment_id,
    CAST($first_row + row_number() OVER (ORDER BY ps.principal_id) AS INTEGER) AS row_no,
    ps.principal_id,
    ps.integration_id,
    ps.account_id,
    a.name AS account_name,
    p.name,
    p.kind,
    p.cloud,
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
    false AS ignored
  FROM principal_score ps
  JOIN principal p ON p.assessment_id = ps.assessment_id AND p.principal_id = ps.principal_id
  LEFT JOIN account a ON a.assessment_id = ps.assessment_id AND a.account_id = ps.account_id
  WHERE ps.assessment_id = $assessment_id
) r
