-- One row per BigQuery aggregate row, with the caller already turned into its IAM member
-- string and the permission checked as a permission name (action_status: mapped, no-permission
-- for entries without authorizationInfo, unmapped for a value that is no permission name).
CREATE OR REPLACE TEMP TABLE gcp_bq_stage (
  principal_id VARCHAR,
  identity VARCHAR,
  identity_kind VARCHAR,
  action VARCHAR,
  action_status VARCHAR NOT NULL,
  day DATE NOT NULL,
  project_id VARCHAR,
  log_type VARCHAR NOT NULL,
  calls BIGINT NOT NULL,
  denied BIGINT NOT NULL,
  first_seen TIMESTAMPTZ NOT NULL,
  last_seen TIMESTAMPTZ NOT NULL,
  last_caller_ip VARCHAR,
  last_user_agent VARCHAR
)
