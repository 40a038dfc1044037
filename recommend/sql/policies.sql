SELECT policy_id, kind, name, account_id, cloud, document, size_chars, parse_error
FROM policy
WHERE assessment_id = $assessment_id;
