-- Identities that acted through a principal in the evidence window, newest first, with their
-- latest user agent and source IP.
SELECT
  identity,
  arg_max(identity_kind, last_seen) AS identity_kind,
  arg_max(identity_type, last_seen) AS identity_type,
  sum(calls) AS calls,
  count(*) AS active_days,
  min(first_seen) AS first_seen,
  max(last_seen) AS last_seen,
  arg_max(last_user_agent, last_seen) AS last_user_agent,
  arg_max(last_source_ip, last_seen) AS last_source_ip
FROM identity_usage
WHERE integration_id = $integration_id
  AND principal_id = $principal_id
  AND day BETWEEN CAST($window_start AS DATE) AND CAST($window_end AS DATE)
GROUP BY identity
ORDER BY last_seen DESC, identity
