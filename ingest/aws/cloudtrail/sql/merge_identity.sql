-- Who acted through each principal, per day: SSO/SAML session names, IAM users, instances,
-- functions, web identities.
INSERT INTO identity_usage BY NAME
SELECT
  $integration_id AS integration_id,
  principal_id,
  session_name AS identity,
  CASE WHEN identity_type IN ('root', 'federated', 'console', 'sso', 'saml') THEN 'human'
       WHEN identity_type = 'iam-user' AND (user_agent ILIKE '%aws-cli%' OR user_agent ILIKE 'Mozilla%') THEN 'human'
       ELSE 'machine' END AS identity_kind,
  identity_type,
  day,
  count(*) AS calls,
  min(event_time) AS first_seen,
  max(event_time) AS last_seen,
  arg_max(user_agent, event_time) AS last_user_agent,
  arg_max(source_ip, event_time) AS last_source_ip
FROM ct_batch
WHERE principal_id IS NOT NULL AND session_name IS NOT NULL AND event_time IS NOT NULL
GROUP BY principal_id, session_name, identity_kind, identity_type, day
ON CONFLICT DO UPDATE SET
  calls = identity_usage.calls + excluded.calls,
  first_seen = least(identity_usage.first_seen, excluded.first_seen),
  last_user_agent = CASE WHEN excluded.last_seen >= identity_usage.last_seen THEN excluded.last_user_agent ELSE identity_usage.last_user_agent END,
  last_source_ip = CASE WHEN excluded.last_seen >= identity_usage.last_seen THEN excluded.last_source_ip ELSE identity_usage.last_source_ip END,
  last_seen = greatest(identity_usage.last_seen, excluded.last_seen)
