-- One principal in the assessments in scope, with its score (absent when not scored yet), its
-- account and whether an ignore rule covers it. {{scope}} lists bound assessment ids.
-- The principal's rows are found by id alone, through the principal_id indexes (migration 008):
-- a filter on the assessment too would make DuckDB scan every assessment's rows instead.
WITH p AS MATERIALIZED (
  SELECT * FROM principal WHERE principal_id = $principal_id
), ps AS MATERIALIZED (
  SELECT * FROM principal_score WHERE principal_id = $principal_id
)
SELECT
  p.assessment_id, p.principal_id, p.integration_id, p.account_id, p.cloud, p.kind, p.name,
  p.path, p.unique_id, p.identity_type, p.created_at, p.tags, p.boundary_policy_id,
  p.trust_policy, p.service_linked, p.console_access, p.mfa_enabled, p.owner, p.attributes,
  p.last_used_at AS inventory_last_used_at, p.last_used_source AS inventory_last_used_source,
  a.name AS account_name, a.parent_path AS account_path, a.risk_level AS account_risk_level,
  a.status AS account_status,
  ps.status, ps.tier, ps.risk_score, ps.risk_breakdown, ps.last_used_at, ps.last_used_source,
  ps.granted_count, ps.used_count, ps.unused_count, ps.unobservable_count, ps.levels,
  ps.unused_levels, ps.overprivilege_pct, ps.high_risk_overprivilege_pct, ps.privileged_share,
  ps.human_identities, ps.machine_identities, ps.evidence_gap,
  asm.window_start, asm.window_end
FROM p
JOIN assessment asm ON asm.assessment_id = p.assessment_id
LEFT JOIN ps ON ps.assessment_id = p.assessment_id AND ps.principal_id = p.principal_id
LEFT JOIN account a ON a.assessment_id = p.assessment_id AND a.account_id = p.account_id
WHERE p.assessment_id IN ({{scope}})
ORDER BY p.integration_id
