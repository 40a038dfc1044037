-- principal x permission x day x project. The same key from the Admin Activity and Data Access
-- tables adds up; entries on no project (organization or folder level) land on the fallback.
INSERT INTO usage_daily BY NAME
SELECT
  $integration_id AS integration_id,
  principal_id,
  action,
  day,
  coalesce(project_id, $fallback_account) AS account_id,
  sum(calls) AS calls,
  sum(denied) AS errors,
  sum(denied) AS denied,
  min(first_seen) AS first_seen,
  max(last_seen) AS last_seen,
  'bigquery' AS source
FROM gcp_bq_stage
WHERE action_status = 'mapped' AND principal_id IS NOT NULL
GROUP BY principal_id, action, day, coalesce(project_id, $fallback_account)
ON CONFLICT DO UPDATE SET
  calls = excluded.calls,
  errors = excluded.errors,
  denied = excluded.denied,
  first_seen = excluded.first_seen,
  last_seen = excluded.last_seen,
  source = excluded.source
