SELECT account_id, name, risk_level, parent_path
FROM account
WHERE assessment_id = $assessment_id;
