-- A project the sink has shown in the window is covered on every day loaded, quiet days
-- included: Admin Activity logs are always on, so a day without entries is a day without
-- changes, not a day without logs. Projects never seen stay uncovered (the sink may not
-- include them).
INSERT INTO log_coverage BY NAME
SELECT
  $integration_id AS integration_id,
  covered.account_id,
  'global' AS region,
  loaded.day,
  'bigquery' AS source,
  false AS data_events,
  0 AS records
FROM (
  SELECT DISTINCT account_id FROM log_coverage
  WHERE integration_id = $integration_id AND source = 'bigquery' AND records > 0
    AND day BETWEEN $window_start::DATE AND $window_end::DATE
) AS covered
CROSS JOIN (
  SELECT DISTINCT day FROM ingest_object
  WHERE integration_id = $integration_id AND source = 'bigquery' AND status = 'ok'
    AND day BETWEEN $window_start::DATE AND $window_end::DATE
) AS loaded
ON CONFLICT DO NOTHING
