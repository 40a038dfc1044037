-- Recommendations of the integration that this assessment no longer finds: the issue is gone
-- (fixed outside, principal deleted, usage appeared). Applied ones stay applied.
UPDATE recommendation
SET state = CASE WHEN state = 'applied' THEN 'applied' ELSE 'resolved' END,
    state_reason = CASE WHEN state = 'applied' THEN state_reason
                        WHEN state = 'resolved' THEN state_reason
                        ELSE 'no longer found by assessment ' || $assessment_id END,
    assessment_id = $assessment_id
WHERE integration_id = $integration_id
  AND recommendation_id NOT IN (SELECT recommendation_id FROM rec_stage);
