-- access-discovery:gcp-usage-aggregate v2
WITH entries AS (
{{entries}}
)
SELECT
  entries.protopayload_auditlog.authenticationInfo.principalEmail AS principal_email,
  entries.protopayload_auditlog.authenticationInfo.serviceAccountDelegationInfo[SAFE_OFFSET(0)].firstPartyPrincipal.principalEmail AS delegate_email,
  auth.permission AS permission,
  DATE(entries.timestamp) AS day,
  entries.resource.labels.project_id AS project_id,
  entries.log_type AS log_type,
  COUNT(*) AS calls,
  COUNTIF(auth.permission IS NOT NULL AND auth.granted IS NOT TRUE) AS denied,
  MIN(entries.timestamp) AS first_seen,
  MAX(entries.timestamp) AS last_seen,
  ARRAY_AGG(entries.protopayload_auditlog.requestMetadata.callerIp IGNORE NULLS
    ORDER BY entries.timestamp DESC, entries.insertId DESC LIMIT 1)[SAFE_OFFSET(0)] AS last_caller_ip,
  ARRAY_AGG(entries.protopayload_auditlog.requestMetadata.callerSuppliedUserAgent IGNORE NULLS
    ORDER BY entries.timestamp DESC, entries.insertId DESC LIMIT 1)[SAFE_OFFSET(0)] AS last_user_agent
FROM entries
LEFT JOIN UNNEST(entries.protopayload_auditlog.authorizationInfo) AS auth
GROUP BY principal_email, delegate_email, permission, day, project_id, log_type
ORDER BY day, principal_email, delegate_email, permission, project_id, log_type
