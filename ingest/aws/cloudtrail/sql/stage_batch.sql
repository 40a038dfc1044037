-- One batch of CloudTrail records, projected to what aggregation needs. The record source
-- below is filled in by aggregate.ts (wrapped Records objects and/or bare arrays, file lists bound).
CREATE OR REPLACE TEMP TABLE ct_batch AS
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
    CASE
      WHEN userIdentity.type = 'AssumedRole' THEN split_part(userIdentity.principalId, ':', 2)
      WHEN userIdentity.type = 'FederatedUser' THEN regexp_extract(userIdentity.arn, 'federated-user/(.+)$', 1)
      WHEN userIdentity.type = 'IAMUser' THEN userIdentity.userName
      WHEN userIdentity.type = 'Root' THEN 'root'
    END AS session_name,
    userIdentity.sessionContext.sessionIssuer.userName AS issuer_name,
    userIdentity.sessionContext.webIdFederationData IS NOT NULL
      AND userIdentity.sessionContext.webIdFederationData::VARCHAR NOT IN ('{}', 'null') AS web_identity,
    userIdentity.accessKeyId AS access_key_id,
    try_cast(userIdentity.sessionContext.attributes.creationDate AS TIMESTAMPTZ) AS session_created,
    sessionCredentialFromConsole = 'true' AS from_console,
    eventName = 'ConsoleLogin' AND json_extract_string(responseElements, '$.ConsoleLogin') = 'Success' AS console_login
  FROM r
)
SELECT
  *,
  CAST(event_time AS DATE) AS day,
  error_code IS NOT NULL AS is_error,
  coalesce(error_code IN ('AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Client.UnauthorizedOperation', 'UnauthorizedAccess', 'AuthorizationError', 'Forbidden'), false) AS is_denied,
  CASE
    WHEN identity_type_raw = 'Root' THEN 'root'
    WHEN identity_type_raw = 'FederatedUser' THEN 'federated'
    WHEN identity_type_raw = 'IAMUser' AND (from_console OR console_login) THEN 'console'
    WHEN identity_type_raw = 'IAMUser' THEN 'iam-user'
    WHEN issuer_name LIKE 'AWSReservedSSO\_%' ESCAPE '\' THEN 'sso'
    WHEN web_identity THEN 'web-identity'
    WHEN regexp_matches(session_name, '^i-[0-9a-f]{8,17}$') THEN 'instance'
    WHEN user_agent LIKE '%AWS_Lambda%' OR user_agent LIKE '%lambda.amazonaws.com%' THEN 'function'
    WHEN session_name LIKE '%@%' THEN 'saml'
    WHEN from_console THEN 'console'
    ELSE 'session'
  END AS identity_type
FROM typed;
