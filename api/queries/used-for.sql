-- Policies attached to a principal (all attachment paths) with the policy document. The
-- attachments are found by principal id alone (index of migration 008), then the assessment kept.
WITH pp AS MATERIALIZED (
  SELECT * FROM principal_policy WHERE principal_id = $principal_id
)
SELECT pp.policy_id, pp.via, pp.via_ref, pp.condition,
  pol.name, pol.kind, pol.cloud, pol.document, pol.parse_error, pol.version_id
FROM pp
LEFT JOIN policy pol ON pol.assessment_id = pp.assessment_id AND pol.policy_id = pp.policy_id
WHERE pp.assessment_id = $assessment_id
ORDER BY pp.policy_id, pp.via, pp.via_ref
