-- Column descriptions brought in line with how recommendations and remediations are stored.
COMMENT ON COLUMN recommendation.recommendation_id IS 'Stable id: hash of integration, principal, kind and policy, so state (applied, ignored) carries over between assessments.';
COMMENT ON COLUMN recommendation.rank IS 'Order among the principal''s open recommendations (1 = first; the top 3 are shown); 0 when not open.';
COMMENT ON COLUMN recommendation.owner_source IS 'tag (the principal''s owner tag), integration (its owner, or the top-level owner) or none.';
COMMENT ON COLUMN remediation.option_type IS 'The option applied: quarantine, custom-quarantine (a boundary, or deny rules when the boundary cannot hold them) or gcp-disable.';
