-- The ledger: every object of the batch (staged in ct_ledger) with its outcome, in one statement.
INSERT INTO ingest_object (integration_id, source, object_key, etag, size_bytes, account_id, region, day,
                           records, status, error, assessment_id, ingested_at)
SELECT $integration_id, $source, object_key, etag, size_bytes, account_id, region, day::DATE,
       records, status, error, $assessment_id, now()
FROM ct_ledger
ON CONFLICT DO UPDATE SET etag = excluded.etag, size_bytes = excluded.size_bytes, records = excluded.records,
  status = excluded.status, error = excluded.error, assessment_id = excluded.assessment_id,
  ingested_at = excluded.ingested_at
