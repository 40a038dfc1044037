-- Per account (AWS account, GCP project), and over the whole integration (account_id NULL) for
-- principals that act across projects (GCP users and groups): days of the dormancy window the
-- logs cover, and whether data events / Data Access logs are recorded.
SELECT account_id,
       count(DISTINCT day) FILTER (WHERE day >= $dormancy_start::DATE)::INTEGER AS covered_days,
       CASE WHEN account_id IS NULL THEN bool_and(data_events) ELSE bool_or(data_events) END AS data_events
FROM log_coverage
WHERE integration_id = $integration_id AND day BETWEEN $window_start::DATE AND $window_end::DATE
GROUP BY GROUPING SETS ((account_id), ());
