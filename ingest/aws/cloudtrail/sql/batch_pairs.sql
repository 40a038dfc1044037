-- Distinct (eventSource, eventName) pairs of the batch, for the TS mapper.
SELECT event_source, event_name, count(*) AS calls, min(event_time) AS first_seen, max(event_time) AS last_seen
FROM ct_batch
WHERE principal_id IS NOT NULL AND event_time IS NOT NULL AND event_source IS NOT NULL AND event_name IS NOT NULL
GROUP BY ALL
