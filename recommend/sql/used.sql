-- An action counts as used when at least one call in the window was not refused.
SELECT principal_id, action, max(day)::VARCHAR AS last_day
FROM usage_daily
WHERE integration_id = $integration_id
  AND day BETWEEN $window_start::DATE AND $window_end::DATE
  AND calls > denied
GROUP BY principal_id, action;
