-- Who acted, per day: in GCP the caller is the principal itself (principalEmail), or the person
-- who impersonated it (delegate_email); the member string is the principal. Calls here are authorization
-- checks plus entries with none, as the aggregate counts them.
INSERT INTO identity_usage BY NAME
SELECT
  $integration_id AS integration_id,
  principal_id,
  identity,
  identity_kind,
  'gcp' AS identity_type,
  day,
  sum(calls) AS calls,
  min(first_seen) AS first_seen,
  max(last_seen) AS last_seen,
  arg_max(last_user_agent, last_seen) FILTER (WHERE last_user_agent IS NOT NULL) AS last_user_agent,
  arg_max(last_caller_ip, last_seen) FILTER (WHERE last_caller_ip IS NOT NULL) AS last_source_ip
FROM gcp_bq_stage
WHERE principal_id IS NOT NULL
GROUP BY principal_id, identity, identity_kind, day
ON CONFLICT DO UPDATE SET
  identity_kind = excluded.identity_kind,
  identity_type = excluded.identity_type,
  calls = excluded.calls,
  first_seen = excluded.first_seen,
  last_seen = excluded.last_seen,
  last_user_agent = excluded.last_user_agent,
  last_source_ip = excluded.last_source_ip
