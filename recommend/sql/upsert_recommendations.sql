-- Upsert the staged recommendations. Ids are stable across assessments, so a recommendation that
-- is found again keeps its first creation time, and an applied one stays applied (its remediation
-- is in force; rollback reopens it).
INSERT INTO recommendation BY NAME
SELECT * FROM rec_stage
ON CONFLICT (recommendation_id) DO UPDATE SET
  assessment_id = excluded.assessment_id,
  integration_id = excluded.integration_id,
  principal_id = excluded.principal_id,
  policy_id = excluded.policy_id,
  kind = excluded.kind,
  title = excluded.title,
  severity = excluded.severity,
  options = excluded.options,
  proof = excluded.proof,
  owner = excluded.owner,
  owner_source = excluded.owner_source,
  state = CASE WHEN recommendation.state = 'applied' THEN 'applied' ELSE excluded.state END,
  state_reason = CASE WHEN recommendation.state = 'applied' THEN recommendation.state_reason ELSE excluded.state_reason END;
