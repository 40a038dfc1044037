-- Logins: each new role session (its creation time) and each successful console sign-in,
-- with the user agent and source IP of the first call seen for it.
INSERT INTO identity_login BY NAME
SELECT $integration_id AS integration_id, principal_id, session_name AS identity,
       session_created AS login_at, 'SessionStart' AS event_name,
       first_user_agent AS user_agent, first_source_ip AS source_ip
FROM ct_agg
WHERE grouping_set = 'session' AND principal_id IS NOT NULL AND session_name IS NOT NULL AND session_created IS NOT NULL
UNION ALL
SELECT $integration_id, principal_id, session_name, console_at, 'ConsoleLogin', first_user_agent, first_source_ip
FROM ct_agg
WHERE grouping_set = 'console' AND principal_id IS NOT NULL AND session_name IS NOT NULL AND console_at IS NOT NULL
ON CONFLICT DO NOTHING
