SELECT principal_id, status, risk_score, tier, evidence_gap
FROM principal_score
WHERE assessment_id = $assessment_id;
