-- Synthetic principals for the API benchmark: $n principals in assessment $assessment across 50
-- accounts, with scores, tags and owners spread the way a large organization's are.
INSERT INTO account
SELECT $assessment, acct, 'bench', 'aws', 'account-' || acct, ['r-root'], 'ACTIVE', '{}', 'high', 'tag', 'ok', NULL
FROM (SELECT DISTINCT CAST(100000000000 + (i % 50) AS VARCHAR) AS acct FROM range($n) t(i));

INSERT INTO principal
SELECT $assessment, id, 'bench', acct, 'aws', kind, name, '/', 'AROA' || i, 'machine',
  now() - to_days(CAST(hash(i, 1) % 900 AS INTEGER)),
  CASE WHEN hash(i, 2) % 6 = 0 THEN NULL ELSE now() - to_hours(CAST(hash(i, 3) % 5000 AS INTEGER)) END,
  'cloudtrail',
  json_object('env', ['prod', 'dev', 'staging'][1 + CAST(hash(i, 4) % 3 AS INTEGER)], 'team', 'team-' || (hash(i, 5) % 40)),
  NULL, NULL, hash(i, 6) % 50 = 0, NULL, NULL,
  CASE WHEN hash(i, 7) % 4 = 0 THEN NULL ELSE 'team-' || (hash(i, 5) % 40) END,
  '{}'
FROM (
  SELECT i, CAST(100000000000 + (i % 50) AS VARCHAR) AS acct,
    ['role', 'role', 'role', 'user', 'group'][1 + CAST(hash(i, 8) % 5 AS INTEGER)] AS kind,
    'principal-' || lpad(CAST(i AS VARCHAR), 6, '0') AS name
  FROM range($n) t(i)
) s, LATERAL (SELECT 'arn:aws:iam::' || acct || ':' || kind || '/' || name AS id);

INSERT INTO principal_score
SELECT p.assessment_id, p.principal_id, 'bench', p.account_id,
  ['active', 'active', 'active', 'dormant', 'new', 'no-coverage'][1 + CAST(hash(p.principal_id, $seed) % 6 AS INTEGER)],
  p.last_used_at, 'cloudtrail',
  g, u, g - u, 0,
  '{}',
  list_filter(['LIST', 'READ', 'TAGGING', 'WRITE', 'IAM', 'ADMIN'], lambda l, k: hash(p.principal_id, k, $seed) % 3 = 0),
  CASE WHEN hash(p.principal_id, 9) % 8 = 0 THEN NULL ELSE round(100.0 * (g - u) / g, 1) END,
  CASE WHEN hash(p.principal_id, 10) % 3 = 0 THEN NULL ELSE CAST(hash(p.principal_id, 11, $seed) % 1000 AS DOUBLE) / 10 END,
  0.1,
  CAST(hash(p.principal_id, 12, $seed) % 101 AS INTEGER),
  '[{"component":"unused-admin","points":10}]',
  ['Low', 'Medium', 'High', 'Critical'][1 + CAST(hash(p.principal_id, 13, $seed) % 4 AS INTEGER)],
  'fp', CAST(hash(p.principal_id, 14) % 4 AS INTEGER), CAST(hash(p.principal_id, 15) % 3 AS INTEGER),
  NULL, NULL, NULL
FROM principal p,
  LATERAL (SELECT CAST(10 + hash(p.principal_id, 16) % 3000 AS INTEGER) AS g),
  LATERAL (SELECT CAST(hash(p.principal_id, 17, $seed) % g AS INTEGER) AS u)
WHERE p.assessment_id = $assessment;
