-- API: one principal's details, recommendations and policies are read through an index on
-- principal_id. DuckDB 1.5 scans an index only for a filter on its single column (never for
-- the compound primary keys, which lead with assessment_id), so the queries that read one
-- principal (api/queries/principal-detail.sql, used-for.sql, api/principal-details.ts) first
-- fetch the principal's rows of every assessment by id and only then keep the assessment asked.
CREATE INDEX principal_by_id ON principal (principal_id);
CREATE INDEX principal_score_by_id ON principal_score (principal_id);
CREATE INDEX recommendation_by_principal ON recommendation (principal_id);
CREATE INDEX principal_policy_by_principal ON principal_policy (principal_id);
CREATE INDEX policy_usage_by_principal ON policy_usage (principal_id);
