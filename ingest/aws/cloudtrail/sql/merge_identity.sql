-- Who acted through each principal, per day: SSO/SAML session names, IAM users, instances,
-- functions, web identities.
INSERT INTO identity_usage BY NAME
SELECT
  $integration_id AS integration_id,
  principal_id,
  session_name AS identity,
  identity_kind,
  identity_type,
  day,
  sum(calls)::BIGINT AS calls,
  min(first_seen) AS first_seen,
  max(last_seen) AS last_seen,
  arg_max(last_user_agent, last_seen) AS last_user_agent,
  arg_max(last_source_ip, last_seen) AS last_source_ip
FROM ct_fine
WHERE NOT is_object AND principal_id IS NOT NULL AND session_name IS NOT NULL AND day IS NOT NULL
GROUP BY principal_id, session_name, identity_kind, identity_type, day
ON CONFLICT DO UPDATE SET
  calls = identity_usage.calls + excluded.calls,
  first_seen = least(identity_usage.first_seen, excluded.first_seen),
  last_user_agent = CASE WHEN excluded.last_seen >= identity_usage.last_seen THEN excluded.last_user_agent ELSE identity_usage.last_user_agent END,
  last_source_ip = CASE WHEN excluded.last_seen >= identity_usage.last_seen THEN excluded.last_source_ip ELSE identity_usage.last_source_ip END,
  last_seen = greatest(identity_usage.last_seen, excluded.last_seen)
