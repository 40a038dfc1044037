-- The last 5 logins of each identity through a principal, up to the end of the window.
SELECT identity, login_at, event_name, user_agent, source_ip
FROM (
  SELECT *, row_number() OVER (PARTITION BY identity ORDER BY login_at DESC, event_name) AS rn
  FROM identity_login
  WHERE integration_id = $integration_id
    AND principal_id = $principal_id
    AND login_at < CAST($window_end AS DATE) + INTERVAL 1 DAY
)
WHERE rn <= 5
ORDER BY identity, login_at DESC
