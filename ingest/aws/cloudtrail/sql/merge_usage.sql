-- Aggregate the batch into usage_daily: one row per principal x action x day x account.
-- A call mapped to several actions counts once for each.
INSERT INTO usage_daily BY NAME
SELECT
  $integration_id AS integration_id,
  b.principal_id,
  m.action,
  b.day,
  b.account_id,
  count(*) AS calls,
  count(*) FILTER (WHERE b.is_error) AS errors,
  count(*) FILTER (WHERE b.is_denied) AS denied,
  min(b.event_time) AS first_seen,
  max(b.event_time) AS last_seen,
  $source AS source
FROM ct_batch b
JOIN ct_event_map m ON m.event_source = b.event_source AND m.event_name = b.event_name
WHERE b.principal_id IS NOT NULL AND b.event_time IS NOT NULL AND b.account_id IS NOT NULL
GROUP BY b.principal_id, m.action, b.day, b.account_id
ON CONFLICT DO UPDATE SET
  calls = usage_daily.calls + excluded.calls,
  errors = usage_daily.errors + excluded.errors,
  denied = usage_daily.denied + excluded.denied,
  first_seen = least(usage_daily.first_seen, excluded.first_seen),
  last_seen = greatest(usage_daily.last_seen, excluded.last_seen)
