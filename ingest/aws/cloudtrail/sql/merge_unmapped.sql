INSERT INTO unmapped_event BY NAME
SELECT $integration_id AS integration_id, event_source, event_name, status, reason, calls, first_seen, last_seen
FROM ct_unmapped
ON CONFLICT DO UPDATE SET
  calls = unmapped_event.calls + excluded.calls,
  first_seen = least(unmapped_event.first_seen, excluded.first_seen),
  last_seen = greatest(unmapped_event.last_seen, excluded.last_seen),
  status = excluded.status,
  reason = excluded.reason
