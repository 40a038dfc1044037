SELECT account_id, name, risk_level
FROM account
WHERE assessment_id = $assessment_id;
