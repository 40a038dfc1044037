-- What each principal used in the window: an action is used when at least one call succeeded
-- (calls - denied > 0). Used actions the principal is not effectively granted (allowed by a
-- resource policy, or only denied calls) are counted apart and never count as used.
-- Usage is reduced to principal x action name and given the principal's cloud before it
-- meets the catalog (a materialized step: left to itself, the optimizer pairs every principal
-- with every action of its cloud first, tens of millions of rows for a large organization).
CREATE OR REPLACE TEMP TABLE sc_used AS
WITH u AS MATERIALIZED (
  SELECT u.principal_id, m.cloud, lower(u.action) AS action_lower, max(u.last_seen) AS last_seen,
         arg_max(u.source, u.last_seen) AS source
  FROM usage_daily u
  JOIN sc_member m ON m.principal_id = u.principal_id
  WHERE u.integration_id = $integration_id
    AND u.day BETWEEN $window_start::DATE AND $window_end::DATE
    AND u.calls > u.denied
  GROUP BY u.principal_id, m.cloud, lower(u.action)
)
SELECT u.principal_id, a.action_id, max(u.last_seen) AS last_seen, arg_max(u.source, u.last_seen) AS source
FROM u
JOIN sc_action a ON a.cloud = u.cloud AND a.action_lower = u.action_lower
GROUP BY u.principal_id, a.action_id;

-- Group membership: AWS groups list their members; GCP members list their groups (transitively).
CREATE OR REPLACE TEMP TABLE sc_membership AS
SELECT DISTINCT group_id, member_id FROM (
  SELECT g.principal_id AS group_id,
         unnest(from_json(g.attributes->'members', '["VARCHAR"]')) AS member_id
  FROM sc_member g
  WHERE g.kind = 'group' AND g.cloud = 'aws' AND json_type(g.attributes->'members') = 'ARRAY'
  UNION ALL
  SELECT unnest(from_json(m.attributes->'groups', '["VARCHAR"]')) AS group_id, m.principal_id AS member_id
  FROM sc_member m
  WHERE m.cloud = 'gcp' AND json_type(m.attributes->'groups') = 'ARRAY'
) x
WHERE group_id IN (SELECT principal_id FROM sc_member WHERE kind = 'group');

-- Groups never act: what their members used counts as the group's use.
INSERT INTO sc_used
SELECT ms.group_id, u.action_id, max(u.last_seen), arg_max(u.source, u.last_seen)
FROM sc_membership ms
JOIN sc_member m ON m.principal_id = ms.member_id AND m.kind <> 'group'
JOIN sc_used u ON u.principal_id = ms.member_id
GROUP BY ms.group_id, u.action_id;

-- Log coverage of each account or project: days covered (any region) in the span that decides
-- dormancy, and whether data events (AWS) or Data Access logs (GCP) were recorded.
CREATE OR REPLACE TEMP TABLE sc_account_coverage AS
SELECT account_id,
       count(DISTINCT day) FILTER (WHERE day BETWEEN $coverage_start::DATE AND $coverage_end::DATE)::INTEGER AS covered_days,
       bool_or(data_events) AS data_events
FROM log_coverage
WHERE integration_id = $integration_id AND day BETWEEN $window_start::DATE AND $window_end::DATE
GROUP BY account_id;

-- Evidence gaps: principals some of whose uses the logs cannot show. (1) Its account's logs miss
-- days of its lifetime in the span that decides dormancy (from its creation or the span start,
-- to the span end). (2) The inventory reports a use inside the window in a region where the
-- account has no logs at all. Their unseen actions are unobservable, never unused. GCP directory
-- members (users and groups of the organization, not of a project) have no gap of their own.
CREATE OR REPLACE TEMP TABLE sc_evidence_gap AS
WITH days AS (
  SELECT DISTINCT account_id, day FROM log_coverage
  WHERE integration_id = $integration_id AND day BETWEEN $coverage_start::DATE AND $coverage_end::DATE
),
partial AS (
  SELECT m.principal_id, m.account_id,
         greatest($coverage_start::DATE, coalesce(m.created_at::DATE, $coverage_start::DATE)) AS from_day
  FROM sc_member m
  LEFT JOIN sc_account_coverage c ON c.account_id = m.account_id
  WHERE coalesce(c.covered_days, 0) < $coverage_required
    AND m.account_id IN (SELECT account_id FROM account WHERE assessment_id = $assessment_id)
),
day_gaps AS (
  SELECT p.principal_id, p.account_id, p.from_day,
         date_diff('day', p.from_day, $coverage_end::DATE)::INTEGER + 1 AS needed,
         count(d.day)::INTEGER AS covered
  FROM partial p
  LEFT JOIN days d ON d.account_id = p.account_id AND d.day >= p.from_day
  GROUP BY ALL
),
inventory_use AS (
  SELECT principal_id, attributes->>'lastUsedRegion' AS region, last_used_at
  FROM sc_member WHERE cloud = 'aws' AND last_used_at IS NOT NULL
  UNION ALL
  SELECT principal_id, last_used_region, last_used_at
  FROM credential WHERE assessment_id = $assessment_id AND last_used_at IS NOT NULL
),
region_gaps AS (
  SELECT m.principal_id,
         arg_max(printf('its inventory reports a use on %s in %s, a region where the logs of account %s show nothing',
                        strftime(i.last_used_at, '%Y-%m-%d'), i.region, m.account_id), i.last_used_at) AS reason
  FROM inventory_use i
  JOIN sc_member m ON m.principal_id = i.principal_id
  WHERE regexp_full_match(coalesce(i.region, ''), '[a-z]{2}(-[a-z]+)+-[0-9]+')
    AND i.last_used_at::DATE BETWEEN $window_start::DATE AND $window_end::DATE
    AND NOT EXISTS (SELECT 1 FROM log_coverage c
                    WHERE c.integration_id = $integration_id AND c.account_id = m.account_id
                      AND c.region = i.region AND c.day BETWEEN $window_start::DATE AND $window_end::DATE)
  GROUP BY m.principal_id
)
SELECT principal_id, string_agg(reason, '; ' ORDER BY reason) AS reason FROM (
  SELECT principal_id,
         printf('the logs of account %s cover only %d of the %d days from %s to %s', account_id,
                covered, needed, strftime(from_day, '%Y-%m-%d'), $coverage_end) AS reason
  FROM day_gaps WHERE covered < needed
  UNION ALL
  SELECT principal_id, reason FROM region_gaps
) x
GROUP BY principal_id;

CREATE OR REPLACE TEMP TABLE sc_used_level AS
SELECT u.principal_id, e.level_rank, count(*)::INTEGER AS used,
       count(*) FILTER (WHERE a.observable = 'never')::INTEGER AS used_never,
       count(*) FILTER (WHERE a.observable = 'data-event' AND coalesce(de.selected, true))::INTEGER AS used_data_event,
       count(*) FILTER (WHERE a.observable = 'data-event' AND NOT coalesce(de.selected, true))::INTEGER AS used_unselected
FROM sc_used u
JOIN sc_principal_fp pf ON pf.principal_id = u.principal_id
JOIN sc_effective e ON e.fingerprint = pf.fingerprint AND e.action_id = u.action_id
JOIN sc_action a ON a.action_id = u.action_id
LEFT JOIN sc_action_de de ON de.action_id = u.action_id
GROUP BY u.principal_id, e.level_rank;

-- Per principal and level: granted, used, unobservable (never logged, or data events that the
-- account does not record, unless seen anyway), unused (the rest).
CREATE OR REPLACE TEMP TABLE sc_principal_level AS
WITH x AS (
  SELECT pf.principal_id, l.level_rank::INTEGER AS level_rank,
         coalesce(f.granted, 0) AS granted, coalesce(u.used, 0) AS used,
         coalesce(f.never_count, 0) - coalesce(u.used_never, 0)
           + coalesce(f.unselected_count, 0) - coalesce(u.used_unselected, 0)
           + CASE WHEN coalesce(c.data_events, false) THEN 0
                  ELSE coalesce(f.data_event_count, 0) - coalesce(u.used_data_event, 0) END AS unobservable,
         g.principal_id IS NOT NULL AS gap
  FROM sc_principal_fp pf
  CROSS JOIN range(0, 6) l(level_rank)
  LEFT JOIN sc_fp_level f ON f.fingerprint = pf.fingerprint AND f.level_rank = l.level_rank
  LEFT JOIN sc_used_level u ON u.principal_id = pf.principal_id AND u.level_rank = l.level_rank
  LEFT JOIN sc_account_coverage c ON c.account_id = pf.account_id
  LEFT JOIN sc_evidence_gap g ON g.principal_id = pf.principal_id
)
-- With an evidence gap, nothing granted and unseen can be called unused.
SELECT principal_id, level_rank, granted, used,
       CASE WHEN gap THEN granted - used ELSE unobservable END AS unobservable,
       CASE WHEN gap THEN 0 ELSE granted - used - unobservable END AS unused
FROM x;

CREATE OR REPLACE TEMP TABLE sc_principal_usage AS
WITH names AS (SELECT ['LIST', 'READ', 'TAGGING', 'WRITE', 'IAM', 'ADMIN'] AS n),
agg AS (
  SELECT l.principal_id,
         sum(granted)::INTEGER AS granted, sum(used)::INTEGER AS used,
         sum(unused)::INTEGER AS unused, sum(unobservable)::INTEGER AS unobservable,
         sum(granted) FILTER (WHERE level_rank >= 4)::INTEGER AS privileged_granted,
         sum(used) FILTER (WHERE level_rank >= 4)::INTEGER AS privileged_used,
         sum(unused) FILTER (WHERE level_rank >= 4)::INTEGER AS privileged_unused,
         json_group_object(names.n[level_rank + 1], json_object('granted', granted, 'used', used,
           'unused', unused, 'unobservable', unobservable)) AS levels,
         list(names.n[level_rank + 1] ORDER BY level_rank) FILTER (WHERE unused > 0) AS unused_levels
  FROM sc_principal_level l, names
  GROUP BY l.principal_id
)
SELECT principal_id, granted, used, unused, unobservable, levels,
       coalesce(unused_levels, []::VARCHAR[]) AS unused_levels,
       CASE WHEN used + unused > 0 THEN round(100.0 * unused / (used + unused), 2) END AS overprivilege_pct,
       CASE WHEN privileged_used + privileged_unused > 0
            THEN round(100.0 * privileged_unused / (privileged_used + privileged_unused), 2) END AS high_risk_overprivilege_pct,
       CASE WHEN granted > 0 THEN privileged_granted / granted ELSE 0 END AS privileged_share
FROM agg;

-- Status: active (a successful logged call, or an inventory last use, in the dormancy window);
-- new (created in the dormancy window); no-coverage (the logs miss its account on some day of
-- the dormancy window, the last two days excepted for late delivery); dormant otherwise.
CREATE OR REPLACE TEMP TABLE sc_status_base AS
WITH mapped AS (
  SELECT principal_id, max(last_seen) AS last_seen, arg_max(source, last_seen) AS source
  FROM sc_used
  GROUP BY principal_id
),
-- Calls that need no permission (sts:GetCallerIdentity, console sign-in) map to no action but
-- are activity too: a principal made such calls when the logs attribute more calls to it than
-- were refused.
unmapped AS (
  SELECT i.principal_id, max(i.last_seen) AS last_seen
  FROM identity_usage i
  WHERE i.integration_id = $integration_id AND i.day BETWEEN $window_start::DATE AND $window_end::DATE
  GROUP BY i.principal_id
  HAVING sum(i.calls) > coalesce((
    SELECT sum(u.denied) FROM usage_daily u
    WHERE u.integration_id = $integration_id AND u.principal_id = i.principal_id
      AND u.day BETWEEN $window_start::DATE AND $window_end::DATE), 0)
),
logged AS (
  SELECT coalesce(m.principal_id, n.principal_id) AS principal_id,
         coalesce(m.last_seen, n.last_seen) AS last_seen,
         coalesce(m.source, 'logs (calls needing no permission)') AS source
  FROM mapped m
  FULL JOIN unmapped n ON n.principal_id = m.principal_id
),
keys AS (
  SELECT principal_id, max(last_used_at) AS last_used_at, arg_max(kind, last_used_at) AS kind
  FROM credential
  WHERE assessment_id = $assessment_id AND last_used_at IS NOT NULL
  GROUP BY principal_id
),
ungranted AS (
  SELECT u.principal_id, count(*)::INTEGER AS n
  FROM sc_used u
  JOIN sc_principal_fp pf ON pf.principal_id = u.principal_id
  ANTI JOIN sc_effective e ON e.fingerprint = pf.fingerprint AND e.action_id = u.action_id
  GROUP BY u.principal_id
),
x AS (
  SELECT m.principal_id, m.account_id, m.created_at, m.cloud, m.kind,
         -- GCP directory users and groups belong to the organization, which counts as covered
         m.cloud = 'gcp' AND m.account_id NOT IN (SELECT account_id FROM account WHERE assessment_id = $assessment_id) AS org_member,
         lg.last_seen AS logged_at, lg.source AS logged_source,
         CASE WHEN k.last_used_at IS NOT NULL AND (m.last_used_at IS NULL OR k.last_used_at > m.last_used_at)
              THEN k.last_used_at ELSE m.last_used_at END AS inventory_at,
         CASE WHEN k.last_used_at IS NOT NULL AND (m.last_used_at IS NULL OR k.last_used_at > m.last_used_at)
              THEN coalesce(m.last_used_source, k.kind || ' last used') ELSE m.last_used_source END AS inventory_source,
         coalesce(c.covered_days, 0) AS covered_days,
         coalesce(ug.n, 0) AS used_not_granted
  FROM sc_member m
  LEFT JOIN logged lg ON lg.principal_id = m.principal_id
  LEFT JOIN keys k ON k.principal_id = m.principal_id
  LEFT JOIN sc_account_coverage c ON c.account_id = m.account_id
  LEFT JOIN ungranted ug ON ug.principal_id = m.principal_id
)
SELECT principal_id, used_not_granted,
       CASE WHEN used_not_granted > 0
            THEN printf('; %d action(s) it called successfully are not granted by its own policies (resource policies, or calls the logs attribute to it)', used_not_granted)
            ELSE '' END AS used_note,
       greatest(logged_at, inventory_at) AS last_used_at,
       CASE WHEN logged_at IS NOT NULL AND (inventory_at IS NULL OR logged_at >= inventory_at) THEN logged_source
            WHEN inventory_at IS NOT NULL THEN coalesce(inventory_source, 'inventory') END AS last_used_source,
       CASE WHEN logged_at::DATE >= $dormancy_start::DATE OR inventory_at::DATE >= $dormancy_start::DATE THEN 'active'
            WHEN created_at::DATE >= $dormancy_start::DATE THEN 'new'
            WHEN cloud = 'gcp' AND kind = 'public' THEN 'no-coverage'
            WHEN covered_days < $coverage_required AND NOT org_member THEN 'no-coverage'
            ELSE 'dormant' END AS status,
       CASE WHEN logged_at::DATE >= $dormancy_start::DATE
              THEN printf('successful logged call on %s (%s)', strftime(logged_at, '%Y-%m-%d'), logged_source)
            WHEN inventory_at::DATE >= $dormancy_start::DATE
              THEN printf('last used %s according to %s', strftime(inventory_at, '%Y-%m-%d'), coalesce(inventory_source, 'inventory'))
            WHEN created_at::DATE >= $dormancy_start::DATE
              THEN printf('created %s, inside the %d-day dormancy window', strftime(created_at, '%Y-%m-%d'), $dormancy_days)
            WHEN cloud = 'gcp' AND kind = 'public'
              THEN 'public members act anonymously: audit logs never attribute calls to them'
            WHEN covered_days < $coverage_required AND NOT org_member
              THEN printf('no activity seen, but the logs cover account %s on only %d of the %d days from %s to %s',
                          account_id, covered_days, $coverage_required, $coverage_start, $coverage_end)
            WHEN org_member
              THEN printf('no activity since %s; a member of the organization directory, covered by every project''s logs',
                          coalesce(strftime(greatest(logged_at, inventory_at), '%Y-%m-%d'), 'before the window'))
            ELSE printf('no activity since %s; logs cover account %s on all %d days from %s to %s; created %s',
                        coalesce(strftime(greatest(logged_at, inventory_at), '%Y-%m-%d'), 'before the window'),
                        account_id, $coverage_required, $coverage_start, $coverage_end,
                        coalesce(strftime(created_at, '%Y-%m-%d'), 'at an unknown date')) END AS status_reason
FROM x;

-- A group is active when one of its members is (its members act for it).
CREATE OR REPLACE TEMP TABLE sc_status AS
WITH active_member AS (
  SELECT ms.group_id, arg_max(b.principal_id, b.last_used_at) AS member,
         max(b.last_used_at) AS last_used_at
  FROM sc_membership ms
  JOIN sc_member m ON m.principal_id = ms.member_id AND m.kind <> 'group'
  JOIN sc_status_base b ON b.principal_id = ms.member_id
  WHERE b.status = 'active'
  GROUP BY ms.group_id
)
SELECT b.principal_id, b.used_not_granted, b.used_note,
       CASE WHEN am.group_id IS NULL THEN b.last_used_at
            ELSE greatest(b.last_used_at, am.last_used_at) END AS last_used_at,
       CASE WHEN am.group_id IS NOT NULL AND b.status <> 'active' THEN 'member ' || am.member
            ELSE b.last_used_source END AS last_used_source,
       CASE WHEN am.group_id IS NOT NULL THEN 'active' ELSE b.status END AS status,
       CASE WHEN am.group_id IS NOT NULL AND b.status <> 'active'
            THEN printf('member %s is active', am.member) ELSE b.status_reason END AS status_reason
FROM sc_status_base b
LEFT JOIN active_member am ON am.group_id = b.principal_id;

CREATE OR REPLACE TEMP TABLE sc_identities AS
SELECT principal_id,
       count(DISTINCT identity) FILTER (WHERE identity_kind = 'human')::INTEGER AS human,
       count(DISTINCT identity) FILTER (WHERE identity_kind = 'machine')::INTEGER AS machine
FROM identity_usage
WHERE integration_id = $integration_id AND day BETWEEN $window_start::DATE AND $window_end::DATE
GROUP BY principal_id;
