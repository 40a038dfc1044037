-- Integer ids for every catalog action (hash joins on integers), and the pattern expansions
-- table that TypeScript fills for AWS patterns (the catalog's expander, one scan per distinct
-- pattern). GCP permissions carry no wildcards: each expands to itself.
CREATE OR REPLACE TEMP TABLE sc_action AS
SELECT row_number() OVER (ORDER BY cloud, action)::INTEGER AS action_id,
       cloud, action, action_lower, level_rank, sensitivity, observable, sensitivity_reason,
       -- reads that can exfiltrate data or expose credentials (risk-weights.json, data-sensitivity)
       level_rank <= $data_max_level AND sensitivity >= $data_min_sensitivity
         AND len(list_filter($data_categories::VARCHAR[],
               lambda c: contains(sensitivity_reason, '(' || c || ')'))) > 0 AS data_read
FROM action_catalog;

CREATE OR REPLACE TEMP TABLE sc_pattern (cloud VARCHAR, pattern VARCHAR, action_lower VARCHAR);

CREATE OR REPLACE TEMP TABLE sc_esc_raw (
  path_id VARCHAR, cloud VARCHAR, group_idx INTEGER, action_lower VARCHAR
);

CREATE OR REPLACE TEMP TABLE sc_exposure (
  principal_id VARCHAR, points INTEGER, finding VARCHAR, evidence VARCHAR
);

CREATE OR REPLACE TEMP TABLE sc_tier_rule (
  ord INTEGER, tier VARCHAR, admin_equivalent BOOLEAN, min_risk DOUBLE,
  min_overprivilege DOUBLE, min_privileged_share DOUBLE, reason VARCHAR
);

-- Data-event actions and the CloudTrail resource type that records them (data file), and the
-- types the integration's trails select (from log_source). Filled by TypeScript.
CREATE OR REPLACE TEMP TABLE sc_data_event_type (action_lower VARCHAR, resource_type VARCHAR);

CREATE OR REPLACE TEMP TABLE sc_selected_type (resource_type VARCHAR);
