-- Which account x region x day the logs cover (any record counts, attributable or not).
INSERT INTO log_coverage BY NAME
SELECT $integration_id AS integration_id, account_id, region, day, $source AS source,
       bool_or(is_data_event) OR $data_events AS data_events, sum(calls)::BIGINT AS records
FROM ct_fine
WHERE NOT is_object AND account_id IS NOT NULL AND day IS NOT NULL
GROUP BY account_id, region, day
ON CONFLICT DO UPDATE SET
  records = log_coverage.records + excluded.records,
  data_events = log_coverage.data_events OR excluded.data_events
