-- Aggregate the batch into usage_daily: one row per principal x action x day x account.
-- A call mapped to several actions counts once for each.
INSERT INTO usage_daily BY NAME
SELECT
  $integration_id AS integration_id,
  a.principal_id,
  m.action,
  a.day,
  a.account_id,
  sum(a.calls)::BIGINT AS calls,
  sum(a.errors)::BIGINT AS errors,
  sum(a.denied)::BIGINT AS denied,
  min(a.first_seen) AS first_seen,
  max(a.last_seen) AS last_seen,
  $source AS source
FROM ct_fine a
JOIN ct_event_map m ON m.event_source = a.event_source AND m.event_name = a.event_name
WHERE NOT a.is_object AND a.principal_id IS NOT NULL AND a.day IS NOT NULL AND a.account_id IS NOT NULL
GROUP BY a.principal_id, m.action, a.day, a.account_id
ON CONFLICT DO UPDATE SET
  calls = usage_daily.calls + excluded.calls,
  errors = usage_daily.errors + excluded.errors,
  denied = usage_daily.denied + excluded.denied,
  first_seen = least(usage_daily.first_seen, excluded.first_seen),
  last_seen = greatest(usage_daily.last_seen, excluded.last_seen)
