-- Per principal and action, the state the scoring engine counted in principal_score.levels:
-- used (a successful call in the window: its own, or for a group its members'), unobservable
-- (the logs cannot show it: catalog observable = never, a data event the account does not record
-- or the trails do not select, a GCP read without Data Access logs, any unseen action of a
-- principal with an evidence gap), unused (the rest).
-- Used actions the principal is not granted are listed too, with granted = false.
-- Parameters: $assessment_id, $principals (NULL = all), $unselected (data-event actions the
-- trails do not select, lower case).
WITH info AS (
  SELECT integration_id, window_start, window_end FROM assessment WHERE assessment_id = $assessment_id
),
p AS (
  SELECT s.principal_id, s.account_id, s.fingerprint, s.evidence_gap, m.cloud, m.kind, m.attributes
  FROM principal_score s
  JOIN principal m ON m.assessment_id = s.assessment_id AND m.principal_id = s.principal_id
  WHERE s.assessment_id = $assessment_id
),
membership AS (
  SELECT DISTINCT group_id, member_id FROM (
    SELECT g.principal_id AS group_id,
           unnest(from_json(g.attributes->'members', '["VARCHAR"]')) AS member_id
    FROM p g WHERE g.kind = 'group' AND g.cloud = 'aws' AND json_type(g.attributes->'members') = 'ARRAY'
    UNION ALL
    SELECT unnest(from_json(m.attributes->'groups', '["VARCHAR"]')) AS group_id, m.principal_id AS member_id
    FROM p m WHERE m.cloud = 'gcp' AND json_type(m.attributes->'groups') = 'ARRAY'
  ) x
  WHERE group_id IN (SELECT principal_id FROM p WHERE kind = 'group')
    AND member_id IN (SELECT principal_id FROM p WHERE kind <> 'group')
),
own_used AS (
  SELECT u.principal_id, c.action, max(u.last_seen) AS last_seen
  FROM usage_daily u, info
  JOIN p ON p.principal_id = u.principal_id
  JOIN action_catalog c ON c.cloud = p.cloud AND c.action_lower = lower(u.action)
  WHERE u.integration_id = info.integration_id
    AND u.day BETWEEN info.window_start AND info.window_end
    AND u.calls > u.denied
  GROUP BY u.principal_id, c.action
),
used AS (
  SELECT principal_id, action, max(last_seen) AS last_seen FROM (
    SELECT * FROM own_used
    UNION ALL
    SELECT ms.group_id, o.action, o.last_seen FROM membership ms JOIN own_used o ON o.principal_id = ms.member_id
  ) x
  GROUP BY principal_id, action
),
wanted AS (
  SELECT * FROM p WHERE from_json($principals::VARCHAR, '["VARCHAR"]') IS NULL OR list_contains(from_json($principals::VARCHAR, '["VARCHAR"]'), principal_id)
),
coverage AS (
  SELECT c.account_id, bool_or(c.data_events) AS data_events
  FROM log_coverage c, info
  WHERE c.integration_id = info.integration_id AND c.day BETWEEN info.window_start AND info.window_end
  GROUP BY c.account_id
),
effective AS (
  SELECT w.principal_id, w.account_id, w.cloud, t.a.action, t.a.level_rank, t.a.resource_scope,
         t.a.conditional, t.a.deny_partial
  FROM wanted w
  JOIN effective_action e ON e.assessment_id = $assessment_id AND e.fingerprint = w.fingerprint,
  unnest(e.actions) AS t(a)
)
SELECT coalesce(e.principal_id, u.principal_id) AS principal_id,
       coalesce(e.action, u.action) AS action,
       e.action IS NOT NULL AS granted,
       coalesce(e.level_rank, c.level_rank)::INTEGER AS level_rank,
       CASE WHEN u.action IS NOT NULL THEN 'used'
            WHEN c.observable = 'never' THEN 'unobservable'
            WHEN c.observable = 'data-event' AND w.cloud = 'aws' AND list_contains(from_json($unselected::VARCHAR, '["VARCHAR"]'), c.action_lower) THEN 'unobservable'
            WHEN c.observable = 'data-event' AND NOT coalesce(cov.data_events, false) THEN 'unobservable'
            WHEN w.evidence_gap IS NOT NULL THEN 'unobservable'
            ELSE 'unused' END AS state,
       CASE WHEN u.action IS NOT NULL THEN NULL
            WHEN c.observable = 'never' THEN 'the logs never show this action'
            WHEN c.observable = 'data-event' AND w.cloud = 'aws' AND list_contains(from_json($unselected::VARCHAR, '["VARCHAR"]'), c.action_lower)
              THEN 'a data event the trails do not select'
            WHEN c.observable = 'data-event' AND NOT coalesce(cov.data_events, false)
              THEN CASE WHEN w.cloud = 'gcp' THEN 'a read and the project has no Data Access logs'
                        ELSE 'a data event and the account records none' END
            WHEN w.evidence_gap IS NOT NULL THEN w.evidence_gap
            END AS unobservable_reason,
       e.resource_scope, e.conditional, e.deny_partial, u.last_seen
FROM effective e
FULL JOIN (SELECT u.* FROM used u JOIN wanted w USING (principal_id)) u
  ON u.principal_id = e.principal_id AND u.action = e.action
JOIN wanted w ON w.principal_id = coalesce(e.principal_id, u.principal_id)
JOIN action_catalog c ON c.cloud = w.cloud AND c.action = coalesce(e.action, u.action)
LEFT JOIN coverage cov ON cov.account_id = w.account_id
ORDER BY 1, 2
