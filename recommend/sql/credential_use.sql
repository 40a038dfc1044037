SELECT principal_id, CAST(max(last_used_at) AS VARCHAR) AS last_used_at
FROM credential
WHERE assessment_id = $assessment_id AND last_used_at IS NOT NULL
GROUP BY principal_id;
