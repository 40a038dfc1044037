SELECT target_id, policy_id
FROM policy_target
WHERE assessment_id = $assessment_id
ORDER BY target_id, policy_id;
