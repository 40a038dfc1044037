-- API: a flat per-assessment copy of the principals list.
-- The principals list reads one flat row per principal: joining principal_score to principal on
-- their long text keys for every page costs more than the page itself at 100,000 principals.
-- A finished assessment never changes, so the API copies its rows here once (on first read)
-- and keeps a few assessments. Only `ignored` changes: it is refreshed from ignore_rule whenever
-- the set of active rules differs from the one last applied.
CREATE TABLE principal_list (
  assessment_id VARCHAR NOT NULL,
  row_no INTEGER NOT NULL,
  principal_id VARCHAR NOT NULL,
  integration_id VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  account_name VARCHAR,
  name VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  cloud VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  tier VARCHAR NOT NULL,
  tier_rank INTEGER,
  risk_score INTEGER NOT NULL,
  overprivilege_pct DOUBLE,
  high_risk_overprivilege_pct DOUBLE,
  last_used_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ,
  owner VARCHAR,
  tags JSON NOT NULL,
  unused_levels VARCHAR[] NOT NULL,
  service_linked BOOLEAN NOT NULL,
  human_identities INTEGER NOT NULL,
  machine_identities INTEGER NOT NULL,
  granted_count INTEGER NOT NULL,
  used_count INTEGER NOT NULL,
  unused_count INTEGER NOT NULL,
  unobservable_count INTEGER NOT NULL,
  ignored BOOLEAN NOT NULL,
  PRIMARY KEY (assessment_id, row_no)
);
COMMENT ON TABLE principal_list IS 'Read copy of a finished assessment''s principals as the API lists them (principal_score joined with principal and account); rebuilt from those tables at any time.';
COMMENT ON COLUMN principal_list.assessment_id IS 'Assessment the row was copied from.';
COMMENT ON COLUMN principal_list.row_no IS 'Row number, unique across the table and in principal_id order within an assessment: the tie-breaker of every sort.';
COMMENT ON COLUMN principal_list.principal_id IS 'principal_score.principal_id.';
COMMENT ON COLUMN principal_list.integration_id IS 'principal_score.integration_id.';
COMMENT ON COLUMN principal_list.account_id IS 'principal_score.account_id.';
COMMENT ON COLUMN principal_list.account_name IS 'account.name; null when the account row is missing.';
COMMENT ON COLUMN principal_list.name IS 'principal.name.';
COMMENT ON COLUMN principal_list.kind IS 'principal.kind.';
COMMENT ON COLUMN principal_list.cloud IS 'principal.cloud.';
COMMENT ON COLUMN principal_list.status IS 'principal_score.status.';
COMMENT ON COLUMN principal_list.tier IS 'principal_score.tier.';
COMMENT ON COLUMN principal_list.tier_rank IS '1 (Low) to 4 (Critical), for ordering and comparisons.';
COMMENT ON COLUMN principal_list.risk_score IS 'principal_score.risk_score.';
COMMENT ON COLUMN principal_list.overprivilege_pct IS 'principal_score.overprivilege_pct.';
COMMENT ON COLUMN principal_list.high_risk_overprivilege_pct IS 'principal_score.high_risk_overprivilege_pct.';
COMMENT ON COLUMN principal_list.last_used_at IS 'principal_score.last_used_at.';
COMMENT ON COLUMN principal_list.created_at IS 'principal.created_at.';
COMMENT ON COLUMN principal_list.owner IS 'principal.owner.';
COMMENT ON COLUMN principal_list.tags IS 'principal.tags.';
COMMENT ON COLUMN principal_list.unused_levels IS 'principal_score.unused_levels.';
COMMENT ON COLUMN principal_list.service_linked IS 'principal.service_linked.';
COMMENT ON COLUMN principal_list.human_identities IS 'principal_score.human_identities.';
COMMENT ON COLUMN principal_list.machine_identities IS 'principal_score.machine_identities.';
COMMENT ON COLUMN principal_list.granted_count IS 'principal_score.granted_count.';
COMMENT ON COLUMN principal_list.used_count IS 'principal_score.used_count.';
COMMENT ON COLUMN principal_list.unused_count IS 'principal_score.unused_count.';
COMMENT ON COLUMN principal_list.unobservable_count IS 'principal_score.unobservable_count.';
COMMENT ON COLUMN principal_list.ignored IS 'An active ignore_rule covers the principal (refreshed when the active rules change).';

CREATE TABLE principal_list_state (
  assessment_id VARCHAR PRIMARY KEY,
  finished_at TIMESTAMPTZ,
  built_at TIMESTAMPTZ NOT NULL,
  read_at TIMESTAMPTZ NOT NULL,
  row_count INTEGER NOT NULL
);
COMMENT ON TABLE principal_list_state IS 'Which assessments principal_list holds, so that a copy is made once and old copies are dropped.';
COMMENT ON COLUMN principal_list_state.assessment_id IS 'Assessment copied.';
COMMENT ON COLUMN principal_list_state.finished_at IS 'assessment.finished_at when copied; a different value means the copy is stale.';
COMMENT ON COLUMN principal_list_state.built_at IS 'When the copy was made.';
COMMENT ON COLUMN principal_list_state.read_at IS 'Last time the API used the copy (the least recently read are dropped first).';
COMMENT ON COLUMN principal_list_state.row_count IS 'Rows copied.';
