-- Log coverage of each account of an assessment over its evidence window: days with logs,
-- days with data events, regions seen and records.
WITH win AS (
  SELECT window_start, window_end, integration_id,
    date_diff('day', window_start, window_end) + 1 AS window_days
  FROM assessment WHERE assessment_id = $assessment_id
),
cov AS (
  SELECT lc.account_id,
    count(DISTINCT lc.day) AS days_covered,
    count(DISTINCT lc.day) FILTER (WHERE lc.data_events) AS data_event_days,
    list(DISTINCT lc.region ORDER BY lc.region) AS regions,
    list(DISTINCT lc.source ORDER BY lc.source) AS sources,
    sum(lc.records) AS records,
    min(lc.day) AS first_day,
    max(lc.day) AS last_day
  FROM log_coverage lc, win
  WHERE lc.integration_id = win.integration_id AND lc.day BETWEEN win.window_start AND win.window_end
  GROUP BY lc.account_id
)
SELECT a.account_id, a.name, a.inventory_status, win.window_days,
  coalesce(cov.days_covered, 0) AS days_covered,
  coalesce(cov.data_event_days, 0) AS data_event_days,
  coalesce(cov.regions, []) AS regions,
  coalesce(cov.sources, []) AS sources,
  coalesce(cov.records, 0) AS records,
  CAST(cov.first_day AS VARCHAR) AS first_day,
  CAST(cov.last_day AS VARCHAR) AS last_day
FROM account a
CROSS JOIN win
LEFT JOIN cov ON cov.account_id = a.account_id
WHERE a.assessment_id = $assessment_id
ORDER BY a.account_id
