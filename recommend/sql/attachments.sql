SELECT principal_id, policy_id, via, via_ref, condition
FROM principal_policy
WHERE assessment_id = $assessment_id
ORDER BY principal_id, via, policy_id, via_ref;
