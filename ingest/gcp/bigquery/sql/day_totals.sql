-- Ledger rows of a loaded range: one per day (all checks and entries of that day) and one per
-- day and kind of call that maps to no permission.
SELECT strftime(day, '%Y-%m-%d') AS day, NULL AS event_name, sum(calls) AS records
FROM gcp_bq_stage GROUP BY day
UNION ALL
SELECT strftime(day, '%Y-%m-%d') AS day,
       CASE WHEN action_status = 'no-permission' THEN '(no permission)' ELSE action END AS event_name,
       sum(calls) AS records
FROM gcp_bq_stage WHERE action_status <> 'mapped'
GROUP BY day, 2
ORDER BY day, event_name NULLS FIRST
