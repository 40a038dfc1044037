-- Which project x day the sink shows, and whether Data Access entries were among them.
INSERT INTO log_coverage BY NAME
SELECT
  $integration_id AS integration_id,
  coalesce(project_id, $fallback_account) AS account_id,
  'global' AS region,
  day,
  'bigquery' AS source,
  bool_or(log_type = 'data_access') AS data_events,
  sum(calls) AS records
FROM gcp_bq_stage
GROUP BY coalesce(project_id, $fallback_account), day
ON CONFLICT DO UPDATE SET
  source = excluded.source,
  data_events = excluded.data_events,
  records = excluded.records
