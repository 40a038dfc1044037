-- Recommendations of the integration that this assessment no longer finds: the issue is gone
-- (fixed outside, principal deleted, usage appeared). Applied ones stay applied. A principal
-- whose account this assessment could not read is not "gone": its recommendations are left as
-- they were (the account's inventory failed or was skipped, so nothing is known about it now).
UPDATE recommendation
SET state = CASE WHEN state = 'applied' THEN 'applied' ELSE 'resolved' END,
    state_reason = CASE WHEN state = 'applied' THEN state_reason
                        WHEN state = 'resolved' THEN state_reason
                        ELSE 'no longer found by assessment ' || $assessment_id END,
    assessment_id = $assessment_id
WHERE integration_id = $integration_id
  AND recommendation_id NOT IN (SELECT recommendation_id FROM rec_stage)
  AND NOT EXISTS (
    SELECT 1
    FROM principal p
    JOIN account a ON a.assessment_id = $assessment_id AND a.account_id = p.account_id
    WHERE p.assessment_id = recommendation.assessment_id
      AND p.principal_id = recommendation.principal_id
      AND a.inventory_status <> 'ok'
  );
