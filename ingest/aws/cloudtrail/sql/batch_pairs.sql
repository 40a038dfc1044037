-- Distinct (eventSource, eventName) pairs of the batch, for the TS mapper.
SELECT event_source, event_name, sum(calls)::BIGINT AS calls, min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM ct_fine
WHERE NOT is_object
  AND principal_id IS NOT NULL AND day IS NOT NULL AND event_source IS NOT NULL AND event_name IS NOT NULL
GROUP BY ALL
