-- One pass over a batch of CloudTrail records: DuckDB reads the objects and aggregates them
-- at once, so no record is ever materialized. The record source below is filled in by
-- aggregate.ts (wrapped Records objects and/or bare arrays, file lists bound). Two grains:
--   is_object      per object: records, unattributed records, records that look like CloudTrail
--   NOT is_object  principal x event x day x account x region x acting identity x session: fine
--                  enough that every usage table is a cheap roll-up of it (the merge_*.sql),
--                  and usually several times smaller than the batch.
CREATE OR REPLACE TEMP TABLE ct_fine AS
WITH r AS (
  {{records}}
),
typed AS (
  SELECT
    object_path,
    try_cast(eventTime AS TIMESTAMPTZ) AS event_time,
    eventSource AS event_source,
    eventName AS event_name,
    coalesce(awsRegion, 'unknown') AS region,
    sourceIPAddress AS source_ip,
    userAgent AS user_agent,
    errorCode AS error_code,
    coalesce(recipientAccountId, userIdentity.accountId) AS account_id,
    coalesce(eventCategory = 'Data' OR managementEvent = false, false) AS is_data_event,
    userIdentity.type AS identity_type_raw,
    -- The same rule as the Athena aggregation: a session counts against the role or user that
    -- issued it; anything else (AWS services, anonymous, SAML/web-identity sign-in calls) is
    -- not attributable to a principal.
    CASE
      WHEN userIdentity.type IN ('IAMUser', 'AssumedRole', 'Root', 'FederatedUser')
        THEN coalesce(userIdentity.sessionContext.sessionIssuer.arn, userIdentity.arn)
    END AS principal_id,
    -- A service-linked role acts for its service: the identity is the service principal
    -- (invokedBy), not the session name the service picked.
    CASE
      WHEN userIdentity.type = 'AssumedRole'
           AND contains(coalesce(userIdentity.sessionContext.sessionIssuer.arn, ''), ':role/aws-service-role/')
           AND userIdentity.invokedBy IS NOT NULL THEN userIdentity.invokedBy
      WHEN userIdentity.type = 'AssumedRole' THEN split_part(userIdentity.principalId, ':', 2)
      WHEN userIdentity.type = 'FederatedUser' THEN regexp_extract(userIdentity.arn, 'federated-user/(.+)$', 1)
      WHEN userIdentity.type = 'IAMUser' THEN userIdentity.userName
      WHEN userIdentity.type = 'Root' THEN 'root'
    END AS session_name,
    userIdentity.sessionContext.sessionIssuer.userName AS issuer_name,
    userIdentity.type = 'AssumedRole'
      AND contains(coalesce(userIdentity.sessionContext.sessionIssuer.arn, ''), ':role/aws-service-role/')
      AND userIdentity.invokedBy IS NOT NULL AS service_linked_session,
    userIdentity.sessionContext.webIdFederationData IS NOT NULL
      AND userIdentity.sessionContext.webIdFederationData::VARCHAR NOT IN ('{}', 'null') AS web_identity,
    try_cast(userIdentity.sessionContext.attributes.creationDate AS TIMESTAMPTZ) AS session_created,
    sessionCredentialFromConsole = 'true' AS from_console,
    eventName = 'ConsoleLogin' AND json_extract_string(responseElements, '$.ConsoleLogin') = 'Success' AS console_login,
    -- Valid JSON that is not CloudTrail reads as records without any of these.
    eventSource IS NOT NULL OR eventName IS NOT NULL OR eventTime IS NOT NULL AS shaped
  FROM r
),
classified AS (
  SELECT
    *,
    CAST(event_time AS DATE) AS day,
    CASE WHEN console_login THEN event_time END AS console_at,
    CASE
      WHEN identity_type_raw = 'Root' THEN 'root'
      WHEN identity_type_raw = 'FederatedUser' THEN 'federated'
      WHEN identity_type_raw = 'IAMUser' AND (from_console OR console_login) THEN 'console'
      WHEN identity_type_raw = 'IAMUser' THEN 'iam-user'
      WHEN service_linked_session THEN 'service'
      WHEN issuer_name LIKE 'AWSReservedSSO\_%' ESCAPE '\' THEN 'sso'
      WHEN web_identity THEN 'web-identity'
      WHEN regexp_matches(session_name, '^i-[0-9a-f]{8,17}$') THEN 'instance'
      WHEN user_agent LIKE '%AWS_Lambda%' OR user_agent LIKE '%lambda.amazonaws.com%' THEN 'function'
      WHEN session_name LIKE '%@%' THEN 'saml'
      WHEN from_console THEN 'console'
      ELSE 'session'
    END AS identity_type
  FROM typed
),
kinds AS (
  SELECT
    *,
    CASE WHEN identity_type IN ('root', 'federated', 'console', 'sso', 'saml') THEN 'human'
         WHEN identity_type = 'iam-user' AND (user_agent ILIKE '%aws-cli%' OR user_agent ILIKE 'Mozilla%') THEN 'human'
         ELSE 'machine' END AS identity_kind
  FROM classified
)
SELECT
  GROUPING(object_path) = 0 AS is_object,
  object_path, principal_id, event_source, event_name, day, account_id, region,
  session_name, identity_kind, identity_type, session_created, console_at, is_data_event,
  count(*) AS calls,
  count(*) FILTER (WHERE principal_id IS NULL) AS unattributed,
  count(*) FILTER (WHERE shaped) AS shaped,
  count(*) FILTER (WHERE error_code IS NOT NULL) AS errors,
  count(*) FILTER (WHERE error_code IN ('AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Client.UnauthorizedOperation', 'UnauthorizedAccess', 'AuthorizationError', 'Forbidden')) AS denied,
  min(event_time) AS first_seen,
  max(event_time) AS last_seen,
  arg_max(user_agent, event_time) AS last_user_agent,
  arg_max(source_ip, event_time) AS last_source_ip,
  arg_min(user_agent, event_time) AS first_user_agent,
  arg_min(source_ip, event_time) AS first_source_ip
FROM kinds
GROUP BY GROUPING SETS (
  (object_path),
  (principal_id, event_source, event_name, day, account_id, region,
   session_name, identity_kind, identity_type, session_created, console_at, is_data_event)
)
