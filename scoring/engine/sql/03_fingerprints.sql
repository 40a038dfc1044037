-- Principals, their identity policies, boundary and SCP path, and the fingerprint that
-- groups principals with the same set of policies.
CREATE OR REPLACE TEMP TABLE sc_member AS
SELECT principal_id, account_id, cloud, kind, name, service_linked, boundary_policy_id,
       created_at, last_used_at, last_used_source, trust_policy, attributes
FROM principal
WHERE assessment_id = $assessment_id;

-- SCP levels of each AWS account: the root, each OU down the path, then the account itself.
-- SCPs never apply to the organization's management account (the account that owns them);
-- a level with no SCP attached does not restrict (AWS requires one wherever SCPs are enabled,
-- so it only happens when the organization does not use SCPs).
CREATE OR REPLACE TEMP TABLE sc_scp_level AS
WITH scp AS (
  SELECT policy_id, account_id AS management_account
  FROM policy
  WHERE assessment_id = $assessment_id AND kind = 'scp'
),
paths AS (
  SELECT account_id, list_append(parent_path, account_id) AS path
  FROM account
  WHERE assessment_id = $assessment_id AND cloud = 'aws'
),
levels AS (
  SELECT account_id, unnest(range(1, len(path) + 1)) AS level, unnest(path) AS node_id FROM paths
)
SELECT DISTINCT l.account_id, l.level::INTEGER AS level, pt.policy_id
FROM levels l
JOIN policy_target pt ON pt.assessment_id = $assessment_id AND pt.target_id = l.node_id
JOIN scp ON scp.policy_id = pt.policy_id
WHERE l.account_id NOT IN (SELECT management_account FROM scp WHERE management_account IS NOT NULL);

CREATE OR REPLACE TEMP TABLE sc_account_scp AS
WITH per_level AS (
  SELECT account_id, level, list(policy_id ORDER BY policy_id) AS policies
  FROM sc_scp_level
  GROUP BY account_id, level
)
SELECT account_id,
       md5(string_agg(array_to_string(policies, chr(31)), chr(30) ORDER BY level)) AS path_key,
       to_json(list(policies ORDER BY level)) AS scp_path
FROM per_level
GROUP BY account_id;

-- Levels of each distinct SCP path, renumbered 1..n.
CREATE OR REPLACE TEMP TABLE sc_path_level AS
SELECT DISTINCT s.path_key, dense_rank() OVER (PARTITION BY l.account_id ORDER BY l.level) AS level, l.policy_id
FROM sc_scp_level l
JOIN sc_account_scp s ON s.account_id = l.account_id;

-- Identity policies: direct, inline and group-inherited (AWS), role bindings (GCP). A GCP
-- binding on a single resource (not an organization, folder or project) is resource-scoped.
CREATE OR REPLACE TEMP TABLE sc_principal_element AS
SELECT DISTINCT pp.principal_id, pp.policy_id,
       (m.cloud = 'gcp' AND pp.via = 'binding'
         AND NOT regexp_full_match(pp.via_ref, '(organizations|folders|projects)/[^/]+')) AS binding_specific,
       (pp.condition IS NOT NULL AND pp.condition::VARCHAR <> 'null') AS binding_conditional
FROM principal_policy pp
JOIN sc_member m ON m.principal_id = pp.principal_id
WHERE pp.assessment_id = $assessment_id AND pp.via <> 'boundary';

CREATE OR REPLACE TEMP TABLE sc_principal_fp AS
WITH el AS (
  SELECT principal_id,
         policy_id || CASE WHEN binding_specific THEN '|resource' ELSE '' END
                   || CASE WHEN binding_conditional THEN '|conditional' ELSE '' END AS element
  FROM sc_principal_element
),
agg AS (
  SELECT principal_id, list(DISTINCT element ORDER BY element) AS elements FROM el GROUP BY principal_id
),
base AS (
  SELECT m.principal_id, m.cloud, m.account_id,
         coalesce(agg.elements, []::VARCHAR[]) AS elements,
         m.boundary_policy_id AS boundary_id,
         CASE WHEN m.cloud = 'aws' AND NOT m.service_linked THEN s.path_key END AS path_key,
         CASE WHEN m.cloud = 'aws' AND NOT m.service_linked THEN s.scp_path END AS scp_path
  FROM sc_member m
  LEFT JOIN agg ON agg.principal_id = m.principal_id
  LEFT JOIN sc_account_scp s ON s.account_id = m.account_id
),
hashed AS (
  SELECT *,
         md5(cloud || chr(30) || array_to_string(elements, chr(31)) || chr(30)
             || coalesce(boundary_id, '') || chr(30) || coalesce(path_key, '')) AS fp_hash
  FROM base
)
-- Integer ids inside the run (hashing integers is much cheaper than 32-character hashes);
-- the stored tables carry the hash.
SELECT *, dense_rank() OVER (ORDER BY fp_hash)::INTEGER AS fingerprint FROM hashed;

CREATE OR REPLACE TEMP TABLE sc_fp AS
SELECT fingerprint, any_value(fp_hash) AS fp_hash, any_value(cloud) AS cloud, any_value(elements) AS elements,
       any_value(boundary_id) AS boundary_id, any_value(path_key) AS path_key,
       coalesce(any_value(scp_path), '[]') AS scp_path, count(*)::INTEGER AS principals
FROM sc_principal_fp
GROUP BY fingerprint;

CREATE OR REPLACE TEMP TABLE sc_fp_policy AS
SELECT DISTINCT f.fingerprint, e.policy_id, e.binding_specific, e.binding_conditional
FROM sc_principal_element e
JOIN sc_principal_fp f ON f.principal_id = e.principal_id;
