-- Logins: each new role session (its creation time) and each successful console sign-in,
-- with the user agent and source IP of the first call seen for it.
INSERT INTO identity_login BY NAME
SELECT $integration_id AS integration_id, principal_id, session_name AS identity,
       session_created AS login_at, 'SessionStart' AS event_name,
       arg_min(first_user_agent, first_seen) AS user_agent, arg_min(first_source_ip, first_seen) AS source_ip
FROM ct_fine
WHERE NOT is_object AND principal_id IS NOT NULL AND session_name IS NOT NULL AND session_created IS NOT NULL
GROUP BY principal_id, session_name, session_created
UNION ALL
SELECT $integration_id, principal_id, session_name, console_at, 'ConsoleLogin',
       arg_min(first_user_agent, first_seen), arg_min(first_source_ip, first_seen)
FROM ct_fine
WHERE NOT is_object AND principal_id IS NOT NULL AND session_name IS NOT NULL AND console_at IS NOT NULL
GROUP BY principal_id, session_name, console_at
ON CONFLICT DO NOTHING
