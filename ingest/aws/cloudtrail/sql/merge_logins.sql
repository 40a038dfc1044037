-- Logins: each new role session (its creation time) and each successful console sign-in.
INSERT INTO identity_login BY NAME
SELECT $integration_id AS integration_id, principal_id, identity, login_at, event_name,
       arg_min(user_agent, event_time) AS user_agent, arg_min(source_ip, event_time) AS source_ip
FROM (
  SELECT principal_id, session_name AS identity, session_created AS login_at, 'SessionStart' AS event_name,
         user_agent, source_ip, event_time
  FROM ct_batch
  WHERE principal_id IS NOT NULL AND session_name IS NOT NULL AND session_created IS NOT NULL
  UNION ALL
  SELECT principal_id, session_name, event_time, 'ConsoleLogin', user_agent, source_ip, event_time
  FROM ct_batch
  WHERE console_login AND principal_id IS NOT NULL AND session_name IS NOT NULL AND event_time IS NOT NULL
)
GROUP BY principal_id, identity, login_at, event_name
ON CONFLICT DO NOTHING
