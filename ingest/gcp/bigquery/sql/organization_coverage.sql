-- Organization-level principals (users, groups, domains) may act in any project: the
-- organization counts as covered on a day the sink was read, and its reads as recorded only
-- when every covered project recorded Data Access entries that day (an unused read permission
-- granted organization-wide is unused only if no project could have hidden its use).
INSERT INTO log_coverage BY NAME
SELECT
  $integration_id AS integration_id,
  $organization_account AS account_id,
  'global' AS region,
  day,
  'bigquery' AS source,
  bool_and(data_events) AS data_events,
  0 AS records
FROM log_coverage
WHERE integration_id = $integration_id AND source = 'bigquery' AND account_id <> $organization_account
  AND day BETWEEN $start::DATE AND $end::DATE
GROUP BY day
ON CONFLICT DO UPDATE SET data_events = excluded.data_events, source = excluded.source
