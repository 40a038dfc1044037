-- Calls that map to no permission, per kind. The totals come from the ledger (one row per day
-- and kind), so a day loaded again replaces its count instead of adding to it.
INSERT INTO unmapped_event BY NAME
SELECT
  $integration_id AS integration_id,
  'gcp' AS event_source,
  totals.event_name,
  CASE WHEN totals.event_name = '(no permission)' THEN 'no-permission' ELSE 'unmapped' END AS status,
  CASE WHEN totals.event_name = '(no permission)'
       THEN 'audit entries without authorizationInfo: no permission was checked'
       ELSE 'authorizationInfo names no valid permission (expected service.resource.verb)' END AS reason,
  totals.calls,
  least(staged.first_seen, known.first_seen) AS first_seen,
  greatest(staged.last_seen, known.last_seen) AS last_seen
FROM (
  SELECT split_part(object_key, '#unmapped/', 2) AS event_name, sum(records) AS calls
  FROM ingest_object
  WHERE integration_id = $integration_id AND source = 'bigquery' AND status = 'ok'
    AND object_key LIKE '%#unmapped/%'
  GROUP BY 1
) AS totals
LEFT JOIN (
  SELECT CASE WHEN action_status = 'no-permission' THEN '(no permission)' ELSE action END AS event_name,
         min(first_seen) AS first_seen, max(last_seen) AS last_seen
  FROM gcp_bq_stage WHERE action_status <> 'mapped'
  GROUP BY 1
) AS staged ON staged.event_name = totals.event_name
LEFT JOIN unmapped_event AS known
  ON known.integration_id = $integration_id AND known.event_source = 'gcp'
 AND known.event_name = totals.event_name
WHERE coalesce(staged.first_seen, known.first_seen) IS NOT NULL
ON CONFLICT DO UPDATE SET
  calls = excluded.calls,
  status = excluded.status,
  reason = excluded.reason,
  first_seen = excluded.first_seen,
  last_seen = excluded.last_seen
