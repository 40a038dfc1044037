SELECT principal_id, integration_id, account_id, cloud, kind, name, path, unique_id,
       CAST(created_at AS VARCHAR) AS created_at, CAST(last_used_at AS VARCHAR) AS last_used_at,
       tags, boundary_policy_id, service_linked, owner, attributes
FROM principal
WHERE assessment_id = $assessment_id
ORDER BY principal_id;
