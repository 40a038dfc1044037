-- Data Access logging is configured per project and stays on once enabled: from the first day
-- a project shows Data Access entries, a day with none (but with Data Access entries in the
-- sink for other projects, so the logs were flowing) still counts as recorded. Days before the
-- first entry stay unrecorded: nothing shows the logs were on then.
UPDATE log_coverage AS lc SET data_events = true
FROM (
  SELECT account_id, min(day) AS since FROM log_coverage
  WHERE integration_id = $integration_id AND source = 'bigquery' AND data_events
  GROUP BY account_id
) AS first_seen
WHERE lc.integration_id = $integration_id AND lc.source = 'bigquery'
  AND lc.account_id = first_seen.account_id AND lc.day >= first_seen.since
  AND NOT lc.data_events
  AND lc.day IN (SELECT DISTINCT day FROM gcp_bq_stage WHERE log_type = 'data_access')
