-- Policies attached to a principal (all attachment paths) with the policy document.
SELECT pp.policy_id, pp.via, pp.via_ref, pp.condition,
  pol.name, pol.kind, pol.cloud, pol.document, pol.parse_error, pol.version_id
FROM principal_policy pp
LEFT JOIN policy pol ON pol.assessment_id = pp.assessment_id AND pol.policy_id = pp.policy_id
WHERE pp.assessment_id = $assessment_id AND pp.principal_id = $principal_id
ORDER BY pp.policy_id, pp.via, pp.via_ref
