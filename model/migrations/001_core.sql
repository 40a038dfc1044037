-- Core model. Every table and column carries a COMMENT; docs/tables.md is generated from them
-- (`./bin/access-discovery docs tables`) and a test checks the two agree.
-- Inventory tables are snapshots keyed by assessment_id: the newest finished assessment of an
-- integration is the current view, older ones are history. Usage tables are cumulative per
-- integration and deduplicated through the ingest_object ledger.

CREATE TABLE schema_version (
  version INTEGER PRIMARY KEY,
  name VARCHAR NOT NULL,
  checksum VARCHAR NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE schema_version IS 'Migrations applied to this database file, one row each.';
COMMENT ON COLUMN schema_version.version IS 'Migration number (the NNN of model/migrations/NNN_name.sql).';
COMMENT ON COLUMN schema_version.name IS 'Migration name.';
COMMENT ON COLUMN schema_version.checksum IS 'First 16 hex digits of the SHA-256 of the migration text when it was applied.';
COMMENT ON COLUMN schema_version.applied_at IS 'When the migration was applied.';

CREATE TABLE integration (
  integration_id VARCHAR PRIMARY KEY,
  kind VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  owner VARCHAR,
  config JSON NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE integration IS 'A configured source: an AWS organization or account, a GCP organization or project, or a file import.';
COMMENT ON COLUMN integration.integration_id IS 'Stable id from the config file (lowercase slug).';
COMMENT ON COLUMN integration.kind IS 'aws-organization, aws-account, gcp-organization, gcp-project or import.';
COMMENT ON COLUMN integration.name IS 'Display name.';
COMMENT ON COLUMN integration.owner IS 'Integration owner: the fallback approver for recommendations with no owner tag.';
COMMENT ON COLUMN integration.config IS 'The validated config block for this integration (never contains credentials).';
COMMENT ON COLUMN integration.created_at IS 'When the integration was first seen in the config.';
COMMENT ON COLUMN integration.updated_at IS 'When the stored config block last changed.';

CREATE TABLE assessment (
  assessment_id VARCHAR PRIMARY KEY,
  integration_id VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  trigger VARCHAR NOT NULL,
  stage VARCHAR NOT NULL,
  started_at TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ,
  heartbeat_at TIMESTAMPTZ,
  window_start DATE NOT NULL,
  window_end DATE NOT NULL,
  dormancy_days INTEGER NOT NULL,
  account_count INTEGER,
  principal_count INTEGER,
  identity_count INTEGER,
  event_count BIGINT,
  object_count BIGINT,
  rejected_object_count BIGINT,
  errors JSON NOT NULL,
  progress JSON
);
COMMENT ON TABLE assessment IS 'One run over one integration: inventory, usage ingestion, scoring and recommendations.';
COMMENT ON COLUMN assessment.assessment_id IS 'Run id: integration id, start time and a random suffix.';
COMMENT ON COLUMN assessment.integration_id IS 'The integration assessed.';
COMMENT ON COLUMN assessment.status IS 'running, succeeded, partial (some accounts or objects failed, the rest is complete) or failed.';
COMMENT ON COLUMN assessment.trigger IS 'What started it: cli, api, schedule, catch-up or demo.';
COMMENT ON COLUMN assessment.stage IS 'Current or last stage: inventory, usage, scoring, recommend, done.';
COMMENT ON COLUMN assessment.started_at IS 'When the run started.';
COMMENT ON COLUMN assessment.finished_at IS 'When the run ended; null while running.';
COMMENT ON COLUMN assessment.heartbeat_at IS 'Last progress update; a running assessment with an old heartbeat was interrupted.';
COMMENT ON COLUMN assessment.window_start IS 'First day (UTC) of the evidence window.';
COMMENT ON COLUMN assessment.window_end IS 'Last day (UTC) of the evidence window.';
COMMENT ON COLUMN assessment.dormancy_days IS 'Dormancy threshold in days used for this run.';
COMMENT ON COLUMN assessment.account_count IS 'Accounts or projects assessed (excluded and suspended ones not counted).';
COMMENT ON COLUMN assessment.principal_count IS 'Principals in the snapshot.';
COMMENT ON COLUMN assessment.identity_count IS 'Distinct human and machine identities seen acting through the principals in the window.';
COMMENT ON COLUMN assessment.event_count IS 'Log records ingested by this run (new objects only).';
COMMENT ON COLUMN assessment.object_count IS 'Log objects or query pages processed by this run.';
COMMENT ON COLUMN assessment.rejected_object_count IS 'Log objects rejected by this run (see ingest_object).';
COMMENT ON COLUMN assessment.errors IS 'JSON array of {accountId, service, call, message} for everything that failed in this run.';
COMMENT ON COLUMN assessment.progress IS 'JSON progress counters of the current stage (accounts done, objects, events per second).';

CREATE TABLE org_node (
  assessment_id VARCHAR NOT NULL,
  node_id VARCHAR NOT NULL,
  parent_id VARCHAR,
  kind VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  excluded BOOLEAN NOT NULL,
  PRIMARY KEY (assessment_id, node_id)
);
COMMENT ON TABLE org_node IS 'Organization hierarchy: AWS roots and OUs, GCP organization and folders.';
COMMENT ON COLUMN org_node.assessment_id IS 'Snapshot the row belongs to.';
COMMENT ON COLUMN org_node.node_id IS 'r-..., ou-..., organizations/N or folders/N.';
COMMENT ON COLUMN org_node.parent_id IS 'Parent node id; null for a root or organization.';
COMMENT ON COLUMN org_node.kind IS 'root, ou, organization or folder.';
COMMENT ON COLUMN org_node.name IS 'Display name.';
COMMENT ON COLUMN org_node.excluded IS 'True when the config excludes this node (and so everything below it).';

CREATE TABLE account (
  assessment_id VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  integration_id VARCHAR NOT NULL,
  cloud VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  parent_path VARCHAR[] NOT NULL,
  status VARCHAR NOT NULL,
  tags JSON NOT NULL,
  risk_level VARCHAR NOT NULL,
  risk_source VARCHAR NOT NULL,
  inventory_status VARCHAR NOT NULL,
  inventory_error VARCHAR,
  PRIMARY KEY (assessment_id, account_id)
);
COMMENT ON TABLE account IS 'AWS account or GCP project in a snapshot, including excluded and failed ones.';
COMMENT ON COLUMN account.assessment_id IS 'Snapshot the row belongs to.';
COMMENT ON COLUMN account.account_id IS '12-digit AWS account id or GCP project id.';
COMMENT ON COLUMN account.integration_id IS 'Integration it came from.';
COMMENT ON COLUMN account.cloud IS 'aws or gcp.';
COMMENT ON COLUMN account.name IS 'Account or project display name.';
COMMENT ON COLUMN account.parent_path IS 'Node ids from the root (or organization) down to the direct parent OU or folder.';
COMMENT ON COLUMN account.status IS 'ACTIVE, SUSPENDED, DELETE_REQUESTED (GCP) and the like, as the cloud reports it.';
COMMENT ON COLUMN account.tags IS 'JSON object of account or project tags/labels.';
COMMENT ON COLUMN account.risk_level IS 'low, medium, high or critical: account risk from config or from tags such as env=prod.';
COMMENT ON COLUMN account.risk_source IS 'Where risk_level came from: config, tag or default.';
COMMENT ON COLUMN account.inventory_status IS 'ok, failed, excluded or skipped (suspended or deleted).';
COMMENT ON COLUMN account.inventory_error IS 'Why inventory failed or was skipped; null when ok.';

CREATE TABLE principal (
  assessment_id VARCHAR NOT NULL,
  principal_id VARCHAR NOT NULL,
  integration_id VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  cloud VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  path VARCHAR,
  unique_id VARCHAR,
  identity_type VARCHAR NOT NULL,
  created_at TIMESTAMPTZ,
  last_used_at TIMESTAMPTZ,
  last_used_source VARCHAR,
  tags JSON NOT NULL,
  boundary_policy_id VARCHAR,
  trust_policy JSON,
  service_linked BOOLEAN NOT NULL,
  console_access BOOLEAN,
  mfa_enabled BOOLEAN,
  owner VARCHAR,
  attributes JSON NOT NULL,
  PRIMARY KEY (assessment_id, principal_id)
);
COMMENT ON TABLE principal IS 'Who can act: IAM users, roles and groups; GCP service accounts, users, groups, domains, public members and federated identities.';
COMMENT ON COLUMN principal.assessment_id IS 'Snapshot the row belongs to.';
COMMENT ON COLUMN principal.principal_id IS 'AWS ARN, or GCP member string (serviceAccount:..., user:..., group:..., allUsers).';
COMMENT ON COLUMN principal.integration_id IS 'Integration it came from.';
COMMENT ON COLUMN principal.account_id IS 'Owning AWS account or GCP project (for org-level GCP members, the organization id).';
COMMENT ON COLUMN principal.cloud IS 'aws or gcp.';
COMMENT ON COLUMN principal.kind IS 'user, role, group (AWS); service-account, user, group, domain, public, federated (GCP).';
COMMENT ON COLUMN principal.name IS 'Short name (user or role name, service account email, member).';
COMMENT ON COLUMN principal.path IS 'IAM path; null for GCP.';
COMMENT ON COLUMN principal.unique_id IS 'Cloud unique id (AIDA..., AROA..., service account unique id).';
COMMENT ON COLUMN principal.identity_type IS 'human or machine: who typically acts through this principal.';
COMMENT ON COLUMN principal.created_at IS 'Creation time reported by the cloud; null when the cloud does not say.';
COMMENT ON COLUMN principal.last_used_at IS 'Latest use known from inventory sources (RoleLastUsed, credential report, key last use).';
COMMENT ON COLUMN principal.last_used_source IS 'Which inventory source gave last_used_at.';
COMMENT ON COLUMN principal.tags IS 'JSON object of tags (AWS) or labels.';
COMMENT ON COLUMN principal.boundary_policy_id IS 'Permissions boundary policy id (ARN); null when none.';
COMMENT ON COLUMN principal.trust_policy IS 'Role trust policy document; null for other kinds.';
COMMENT ON COLUMN principal.service_linked IS 'True for AWS service-linked roles (never remediated).';
COMMENT ON COLUMN principal.console_access IS 'User has a console password (AWS) ; null when not applicable.';
COMMENT ON COLUMN principal.mfa_enabled IS 'User has an MFA device; null when not applicable.';
COMMENT ON COLUMN principal.owner IS 'Value of the configured owner tag; null when untagged.';
COMMENT ON COLUMN principal.attributes IS 'JSON of provider-specific facts (instance profiles, group members, disabled flag, ...).';

CREATE TABLE credential (
  assessment_id VARCHAR NOT NULL,
  credential_id VARCHAR NOT NULL,
  principal_id VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  created_at TIMESTAMPTZ,
  last_used_at TIMESTAMPTZ,
  last_used_service VARCHAR,
  last_used_region VARCHAR,
  PRIMARY KEY (assessment_id, credential_id)
);
COMMENT ON TABLE credential IS 'Long-lived credentials: AWS access keys and console passwords, GCP service account keys.';
COMMENT ON COLUMN credential.assessment_id IS 'Snapshot the row belongs to.';
COMMENT ON COLUMN credential.credential_id IS 'Access key id, key name, or principal ARN + #password.';
COMMENT ON COLUMN credential.principal_id IS 'Principal the credential belongs to.';
COMMENT ON COLUMN credential.kind IS 'access-key, password or service-account-key.';
COMMENT ON COLUMN credential.status IS 'Active, Inactive, disabled or enabled, as reported.';
COMMENT ON COLUMN credential.created_at IS 'Creation time.';
COMMENT ON COLUMN credential.last_used_at IS 'Last use reported by the cloud; null when never used or unknown.';
COMMENT ON COLUMN credential.last_used_service IS 'Service of the last use (AWS access keys).';
COMMENT ON COLUMN credential.last_used_region IS 'Region of the last use (AWS access keys).';

CREATE TABLE policy (
  assessment_id VARCHAR NOT NULL,
  policy_id VARCHAR NOT NULL,
  integration_id VARCHAR NOT NULL,
  account_id VARCHAR,
  cloud VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  version_id VARCHAR,
  document JSON NOT NULL,
  size_chars INTEGER NOT NULL,
  parse_error VARCHAR,
  PRIMARY KEY (assessment_id, policy_id)
);
COMMENT ON TABLE policy IS 'Policy documents: managed, inline, SCP and boundary policies (AWS); predefined and custom roles (GCP).';
COMMENT ON COLUMN policy.assessment_id IS 'Snapshot the row belongs to.';
COMMENT ON COLUMN policy.policy_id IS 'Policy ARN; inline policies: owner ARN + "#inline/" + name; SCPs: policy ARN; GCP: role name.';
COMMENT ON COLUMN policy.integration_id IS 'Integration it came from.';
COMMENT ON COLUMN policy.account_id IS 'Account or project that owns it; null for AWS-managed policies and GCP predefined roles.';
COMMENT ON COLUMN policy.cloud IS 'aws or gcp.';
COMMENT ON COLUMN policy.kind IS 'aws-managed, customer-managed, inline, scp, gcp-predefined or gcp-custom.';
COMMENT ON COLUMN policy.name IS 'Policy or role name.';
COMMENT ON COLUMN policy.version_id IS 'Default version id (AWS managed policies) or etag; null for inline.';
COMMENT ON COLUMN policy.document IS 'The policy document (AWS) or {includedPermissions} (GCP) as JSON.';
COMMENT ON COLUMN policy.size_chars IS 'Document length without whitespace, as AWS counts it against size limits.';
COMMENT ON COLUMN policy.parse_error IS 'Why the document was rejected by the parser; null when it parsed.';

CREATE TABLE principal_policy (
  assessment_id VARCHAR NOT NULL,
  principal_id VARCHAR NOT NULL,
  policy_id VARCHAR NOT NULL,
  via VARCHAR NOT NULL,
  via_ref VARCHAR NOT NULL,
  condition JSON,
  PRIMARY KEY (assessment_id, principal_id, policy_id, via, via_ref)
);
COMMENT ON TABLE principal_policy IS 'Attachments: which policy applies to which principal, and how.';
COMMENT ON COLUMN principal_policy.assessment_id IS 'Snapshot the row belongs to.';
COMMENT ON COLUMN principal_policy.principal_id IS 'The principal.';
COMMENT ON COLUMN principal_policy.policy_id IS 'The policy or role.';
COMMENT ON COLUMN principal_policy.via IS 'direct, inline, group, boundary (AWS); binding (GCP).';
COMMENT ON COLUMN principal_policy.via_ref IS 'The principal itself for direct/inline/boundary, the group id for group, the bound resource (organizations/N, folders/N, projects/P or a resource name) for binding.';
COMMENT ON COLUMN principal_policy.condition IS 'GCP binding condition {title, expression}; null when unconditional.';

CREATE TABLE policy_target (
  assessment_id VARCHAR NOT NULL,
  policy_id VARCHAR NOT NULL,
  target_id VARCHAR NOT NULL,
  target_type VARCHAR NOT NULL,
  PRIMARY KEY (assessment_id, policy_id, target_id)
);
COMMENT ON TABLE policy_target IS 'Where service control policies are attached: root, OU or account.';
COMMENT ON COLUMN policy_target.assessment_id IS 'Snapshot the row belongs to.';
COMMENT ON COLUMN policy_target.policy_id IS 'The SCP.';
COMMENT ON COLUMN policy_target.target_id IS 'r-..., ou-... or a 12-digit account id.';
COMMENT ON COLUMN policy_target.target_type IS 'ROOT, ORGANIZATIONAL_UNIT or ACCOUNT.';

CREATE TABLE "grant" (
  assessment_id VARCHAR NOT NULL,
  policy_id VARCHAR NOT NULL,
  statement_index INTEGER NOT NULL,
  pattern_index INTEGER NOT NULL,
  sid VARCHAR,
  effect VARCHAR NOT NULL,
  action_pattern VARCHAR NOT NULL,
  not_action BOOLEAN NOT NULL,
  resources VARCHAR[] NOT NULL,
  not_resource BOOLEAN NOT NULL,
  has_condition BOOLEAN NOT NULL,
  condition JSON,
  PRIMARY KEY (assessment_id, policy_id, statement_index, pattern_index)
);
COMMENT ON TABLE "grant" IS 'Parsed policy statements, one row per statement and action pattern (GCP: per role permission).';
COMMENT ON COLUMN "grant".assessment_id IS 'Snapshot the row belongs to.';
COMMENT ON COLUMN "grant".policy_id IS 'Policy the statement belongs to.';
COMMENT ON COLUMN "grant".statement_index IS 'Position of the statement in the document (0-based).';
COMMENT ON COLUMN "grant".pattern_index IS 'Position of the action pattern in the statement (0-based).';
COMMENT ON COLUMN "grant".sid IS 'Statement Sid; statements whose Sid starts with NOREPO are never right-sized away.';
COMMENT ON COLUMN "grant".effect IS 'Allow or Deny.';
COMMENT ON COLUMN "grant".action_pattern IS 'Action pattern as written (s3:Get*, *), or a GCP permission.';
COMMENT ON COLUMN "grant".not_action IS 'True when the pattern comes from NotAction (the statement covers everything else).';
COMMENT ON COLUMN "grant".resources IS 'Resource patterns of the statement.';
COMMENT ON COLUMN "grant".not_resource IS 'True when resources come from NotResource.';
COMMENT ON COLUMN "grant".has_condition IS 'True when the statement (or GCP binding) has a condition.';
COMMENT ON COLUMN "grant".condition IS 'The Condition block as JSON; null when none.';

CREATE TABLE action_catalog (
  cloud VARCHAR NOT NULL,
  action VARCHAR NOT NULL,
  action_lower VARCHAR NOT NULL,
  service VARCHAR NOT NULL,
  access_levels VARCHAR[] NOT NULL,
  privilege_level VARCHAR NOT NULL,
  level_rank TINYINT NOT NULL,
  sensitivity TINYINT NOT NULL,
  resource_types VARCHAR[] NOT NULL,
  resource_scopeable BOOLEAN NOT NULL,
  observable VARCHAR NOT NULL,
  level_reason VARCHAR NOT NULL,
  sensitivity_reason VARCHAR NOT NULL,
  data_version VARCHAR NOT NULL,
  PRIMARY KEY (cloud, action)
);
COMMENT ON TABLE action_catalog IS 'Every AWS action and GCP permission with its privilege level and sensitivity.';
COMMENT ON COLUMN action_catalog.cloud IS 'aws or gcp.';
COMMENT ON COLUMN action_catalog.action IS 'Canonical name: service:Action (AWS) or service.resource.verb (GCP).';
COMMENT ON COLUMN action_catalog.action_lower IS 'Lowercase action, for case-insensitive matching.';
COMMENT ON COLUMN action_catalog.service IS 'Service prefix (s3, iam) or GCP service (storage, iam).';
COMMENT ON COLUMN action_catalog.access_levels IS 'AWS access levels as published (List, Read, Tagging, Write, Permissions management); GCP: the rule that matched.';
COMMENT ON COLUMN action_catalog.privilege_level IS 'LIST, READ, TAGGING, WRITE, IAM or ADMIN.';
COMMENT ON COLUMN action_catalog.level_rank IS '0 (LIST) to 5 (ADMIN), for ordering and comparisons.';
COMMENT ON COLUMN action_catalog.sensitivity IS '0 to 10: level base plus data-exfiltration and credential boosts.';
COMMENT ON COLUMN action_catalog.resource_types IS 'Resource types the action can be scoped to.';
COMMENT ON COLUMN action_catalog.resource_scopeable IS 'True when the action accepts specific resource ARNs (not only *).';
COMMENT ON COLUMN action_catalog.observable IS 'management, data-event or never: whether and how audit logs can show a use.';
COMMENT ON COLUMN action_catalog.level_reason IS 'Why the action has its level (published level or override reason).';
COMMENT ON COLUMN action_catalog.sensitivity_reason IS 'Why the action has its sensitivity.';
COMMENT ON COLUMN action_catalog.data_version IS 'Version of the source data (iam-data package or rule file).';

CREATE TABLE usage_daily (
  integration_id VARCHAR NOT NULL,
  principal_id VARCHAR NOT NULL,
  action VARCHAR NOT NULL,
  day DATE NOT NULL,
  account_id VARCHAR NOT NULL,
  calls BIGINT NOT NULL,
  errors BIGINT NOT NULL,
  denied BIGINT NOT NULL,
  first_seen TIMESTAMPTZ NOT NULL,
  last_seen TIMESTAMPTZ NOT NULL,
  source VARCHAR NOT NULL,
  PRIMARY KEY (integration_id, principal_id, action, day, account_id)
);
COMMENT ON TABLE usage_daily IS 'Aggregated activity: principal x action x day. Raw events are never stored.';
COMMENT ON COLUMN usage_daily.integration_id IS 'Integration whose logs produced the row.';
COMMENT ON COLUMN usage_daily.principal_id IS 'Principal that made the calls (role ARN for assumed-role sessions).';
COMMENT ON COLUMN usage_daily.action IS 'IAM action (mapped from the CloudTrail event) or GCP permission, canonical case.';
COMMENT ON COLUMN usage_daily.day IS 'UTC day of the calls.';
COMMENT ON COLUMN usage_daily.account_id IS 'Account or project where the calls landed (recipient account).';
COMMENT ON COLUMN usage_daily.calls IS 'Number of calls, including failed ones.';
COMMENT ON COLUMN usage_daily.errors IS 'Calls that returned any error code.';
COMMENT ON COLUMN usage_daily.denied IS 'Calls refused for lack of permission (AccessDenied, UnauthorizedOperation, GCP granted=false). An action counts as used when calls - denied > 0.';
COMMENT ON COLUMN usage_daily.first_seen IS 'First call that day.';
COMMENT ON COLUMN usage_daily.last_seen IS 'Last call that day.';
COMMENT ON COLUMN usage_daily.source IS 'cloudtrail-s3, lookup-events, athena, bigquery or import.';

CREATE TABLE identity_usage (
  integration_id VARCHAR NOT NULL,
  principal_id VARCHAR NOT NULL,
  identity VARCHAR NOT NULL,
  identity_kind VARCHAR NOT NULL,
  identity_type VARCHAR NOT NULL,
  day DATE NOT NULL,
  calls BIGINT NOT NULL,
  first_seen TIMESTAMPTZ NOT NULL,
  last_seen TIMESTAMPTZ NOT NULL,
  last_user_agent VARCHAR,
  last_source_ip VARCHAR,
  PRIMARY KEY (integration_id, principal_id, identity, day)
);
COMMENT ON TABLE identity_usage IS 'Which human or machine identity acted through a principal, per day.';
COMMENT ON COLUMN identity_usage.integration_id IS 'Integration whose logs produced the row.';
COMMENT ON COLUMN identity_usage.principal_id IS 'Principal acted through.';
COMMENT ON COLUMN identity_usage.identity IS 'Acting identity: SSO/SAML session name, IAM user, instance id, function name, service principal, GCP caller.';
COMMENT ON COLUMN identity_usage.identity_kind IS 'human or machine.';
COMMENT ON COLUMN identity_usage.identity_type IS 'sso, saml, web-identity, console, iam-user, instance, function, service, root, session or gcp.';
COMMENT ON COLUMN identity_usage.day IS 'UTC day.';
COMMENT ON COLUMN identity_usage.calls IS 'Calls made by the identity through the principal that day.';
COMMENT ON COLUMN identity_usage.first_seen IS 'First call that day.';
COMMENT ON COLUMN identity_usage.last_seen IS 'Last call that day.';
COMMENT ON COLUMN identity_usage.last_user_agent IS 'User agent of the last call that day.';
COMMENT ON COLUMN identity_usage.last_source_ip IS 'Source IP of the last call that day.';

CREATE TABLE identity_login (
  integration_id VARCHAR NOT NULL,
  principal_id VARCHAR NOT NULL,
  identity VARCHAR NOT NULL,
  login_at TIMESTAMPTZ NOT NULL,
  event_name VARCHAR NOT NULL,
  user_agent VARCHAR,
  source_ip VARCHAR,
  PRIMARY KEY (integration_id, principal_id, identity, login_at, event_name)
);
COMMENT ON TABLE identity_login IS 'The last 5 logins (sign-ins, role assumptions, federation) of each identity through each principal.';
COMMENT ON COLUMN identity_login.integration_id IS 'Integration whose logs produced the row.';
COMMENT ON COLUMN identity_login.principal_id IS 'Principal logged into.';
COMMENT ON COLUMN identity_login.identity IS 'Acting identity (as in identity_usage).';
COMMENT ON COLUMN identity_login.login_at IS 'Login time.';
COMMENT ON COLUMN identity_login.event_name IS 'ConsoleLogin, AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity, session start, ...';
COMMENT ON COLUMN identity_login.user_agent IS 'User agent of the login.';
COMMENT ON COLUMN identity_login.source_ip IS 'Source IP of the login.';

CREATE TABLE ingest_object (
  integration_id VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  object_key VARCHAR NOT NULL,
  etag VARCHAR,
  size_bytes BIGINT,
  account_id VARCHAR,
  region VARCHAR,
  day DATE,
  records BIGINT,
  status VARCHAR NOT NULL,
  error VARCHAR,
  assessment_id VARCHAR NOT NULL,
  ingested_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (integration_id, source, object_key)
);
COMMENT ON TABLE ingest_object IS 'Ledger of every log object or query page ingested: the idempotency and bad-input record.';
COMMENT ON COLUMN ingest_object.integration_id IS 'Integration that ingested it.';
COMMENT ON COLUMN ingest_object.source IS 'cloudtrail-s3, lookup-events, athena, bigquery or import.';
COMMENT ON COLUMN ingest_object.object_key IS 'S3 key, file path, or a synthetic key for a query page or API window.';
COMMENT ON COLUMN ingest_object.etag IS 'S3 ETag or content hash; null for query pages.';
COMMENT ON COLUMN ingest_object.size_bytes IS 'Object size in bytes.';
COMMENT ON COLUMN ingest_object.account_id IS 'Account or project whose logs it holds.';
COMMENT ON COLUMN ingest_object.region IS 'Region of the logs; null when not regional.';
COMMENT ON COLUMN ingest_object.day IS 'UTC day the object covers.';
COMMENT ON COLUMN ingest_object.records IS 'Records read from it; null when rejected before reading.';
COMMENT ON COLUMN ingest_object.status IS 'ok (counted once, never again) or rejected (error says why; retried on the next run).';
COMMENT ON COLUMN ingest_object.error IS 'Why it was rejected; null when ok.';
COMMENT ON COLUMN ingest_object.assessment_id IS 'Assessment that last processed it.';
COMMENT ON COLUMN ingest_object.ingested_at IS 'When it was last processed.';

CREATE TABLE unmapped_event (
  integration_id VARCHAR NOT NULL,
  event_source VARCHAR NOT NULL,
  event_name VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  reason VARCHAR NOT NULL,
  calls BIGINT NOT NULL,
  first_seen TIMESTAMPTZ NOT NULL,
  last_seen TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (integration_id, event_source, event_name)
);
COMMENT ON TABLE unmapped_event IS 'CloudTrail events that map to no IAM action: counted and reported, never silently dropped.';
COMMENT ON COLUMN unmapped_event.integration_id IS 'Integration whose logs held them.';
COMMENT ON COLUMN unmapped_event.event_source IS 'CloudTrail eventSource.';
COMMENT ON COLUMN unmapped_event.event_name IS 'CloudTrail eventName.';
COMMENT ON COLUMN unmapped_event.status IS 'unmapped (no rule and no catalog action) or no-permission (the call needs no permission).';
COMMENT ON COLUMN unmapped_event.reason IS 'Why it maps to no action.';
COMMENT ON COLUMN unmapped_event.calls IS 'Calls seen.';
COMMENT ON COLUMN unmapped_event.first_seen IS 'First call seen.';
COMMENT ON COLUMN unmapped_event.last_seen IS 'Last call seen.';

CREATE TABLE ingest_prefix (
  integration_id VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  prefix VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  region VARCHAR NOT NULL,
  day DATE NOT NULL,
  objects INTEGER NOT NULL,
  listed_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (integration_id, source, prefix)
);
COMMENT ON TABLE ingest_prefix IS 'Day prefixes of a log bucket already listed. A day listed two or more days after it ended is final and is not listed again.';
COMMENT ON COLUMN ingest_prefix.integration_id IS 'Integration.';
COMMENT ON COLUMN ingest_prefix.source IS 'cloudtrail-s3.';
COMMENT ON COLUMN ingest_prefix.prefix IS 'The S3 prefix listed (one account, region and day).';
COMMENT ON COLUMN ingest_prefix.account_id IS 'Account of the prefix.';
COMMENT ON COLUMN ingest_prefix.region IS 'Region of the prefix.';
COMMENT ON COLUMN ingest_prefix.day IS 'Day of the prefix.';
COMMENT ON COLUMN ingest_prefix.objects IS 'Log objects found by the last listing.';
COMMENT ON COLUMN ingest_prefix.listed_at IS 'When it was last listed completely.';

CREATE TABLE log_coverage (
  integration_id VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  region VARCHAR NOT NULL,
  day DATE NOT NULL,
  source VARCHAR NOT NULL,
  data_events BOOLEAN NOT NULL,
  records BIGINT NOT NULL,
  PRIMARY KEY (integration_id, account_id, region, day)
);
COMMENT ON TABLE log_coverage IS 'Which account x region x day the logs cover, so scoring can tell unused from not observable.';
COMMENT ON COLUMN log_coverage.integration_id IS 'Integration whose logs cover it.';
COMMENT ON COLUMN log_coverage.account_id IS 'Account or project covered.';
COMMENT ON COLUMN log_coverage.region IS 'AWS region, or "global" for GCP.';
COMMENT ON COLUMN log_coverage.day IS 'UTC day covered.';
COMMENT ON COLUMN log_coverage.source IS 'Source that delivered the logs.';
COMMENT ON COLUMN log_coverage.data_events IS 'True when data events (AWS) or Data Access logs (GCP) are recorded for that day.';
COMMENT ON COLUMN log_coverage.records IS 'Records seen for that account, region and day.';

CREATE TABLE log_source (
  integration_id VARCHAR NOT NULL,
  source_id VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  details JSON NOT NULL,
  data_event_selectors JSON NOT NULL,
  observed_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (integration_id, source_id)
);
COMMENT ON TABLE log_source IS 'Trails and audit sinks found for an integration, with what they record.';
COMMENT ON COLUMN log_source.integration_id IS 'Integration.';
COMMENT ON COLUMN log_source.source_id IS 'Trail ARN or BigQuery dataset id.';
COMMENT ON COLUMN log_source.account_id IS 'Account or project that owns the trail or sink.';
COMMENT ON COLUMN log_source.kind IS 'cloudtrail or bigquery-sink.';
COMMENT ON COLUMN log_source.details IS 'JSON: bucket, prefix, organization trail flag, multi-region flag, regions, tables.';
COMMENT ON COLUMN log_source.data_event_selectors IS 'JSON of the data event selectors (AWS) or data-access log tables (GCP).';
COMMENT ON COLUMN log_source.observed_at IS 'When this configuration was read.';

CREATE TABLE principal_score (
  assessment_id VARCHAR NOT NULL,
  principal_id VARCHAR NOT NULL,
  integration_id VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  last_used_at TIMESTAMPTZ,
  last_used_source VARCHAR,
  granted_count INTEGER NOT NULL,
  used_count INTEGER NOT NULL,
  unused_count INTEGER NOT NULL,
  unobservable_count INTEGER NOT NULL,
  levels JSON NOT NULL,
  unused_levels VARCHAR[] NOT NULL,
  overprivilege_pct DOUBLE,
  high_risk_overprivilege_pct DOUBLE,
  privileged_share DOUBLE NOT NULL,
  risk_score INTEGER NOT NULL,
  risk_breakdown JSON NOT NULL,
  tier VARCHAR NOT NULL,
  fingerprint VARCHAR NOT NULL,
  human_identities INTEGER NOT NULL,
  machine_identities INTEGER NOT NULL,
  PRIMARY KEY (assessment_id, principal_id)
);
COMMENT ON TABLE principal_score IS 'Scores per assessment and principal: history comes from these rows, never from recomputation.';
COMMENT ON COLUMN principal_score.assessment_id IS 'Assessment that computed the score.';
COMMENT ON COLUMN principal_score.principal_id IS 'The principal.';
COMMENT ON COLUMN principal_score.integration_id IS 'Integration (denormalized for trend queries).';
COMMENT ON COLUMN principal_score.account_id IS 'Account or project (denormalized for filters).';
COMMENT ON COLUMN principal_score.status IS 'active, dormant, new or no-coverage.';
COMMENT ON COLUMN principal_score.last_used_at IS 'Latest of CloudTrail, RoleLastUsed, credential report and GCP audit use.';
COMMENT ON COLUMN principal_score.last_used_source IS 'Which source gave last_used_at.';
COMMENT ON COLUMN principal_score.granted_count IS 'Distinct actions the principal may perform (effective).';
COMMENT ON COLUMN principal_score.used_count IS 'Granted actions used in the window.';
COMMENT ON COLUMN principal_score.unused_count IS 'Granted, observable actions not used in the window.';
COMMENT ON COLUMN principal_score.unobservable_count IS 'Granted actions the logs cannot show (excluded from percentages).';
COMMENT ON COLUMN principal_score.levels IS 'JSON {LEVEL: {granted, used, unused, unobservable}} per privilege level.';
COMMENT ON COLUMN principal_score.unused_levels IS 'Privilege levels with at least one unused action.';
COMMENT ON COLUMN principal_score.overprivilege_pct IS 'unused / (granted - unobservable) x 100; null when nothing observable is granted.';
COMMENT ON COLUMN principal_score.high_risk_overprivilege_pct IS 'The same over IAM and ADMIN actions only; null when none is granted.';
COMMENT ON COLUMN principal_score.privileged_share IS 'Share of granted actions at IAM or ADMIN level (0 to 1).';
COMMENT ON COLUMN principal_score.risk_score IS '0 to 100; see risk_breakdown and docs/scoring.md.';
COMMENT ON COLUMN principal_score.risk_breakdown IS 'JSON list of score components with their points and reasons.';
COMMENT ON COLUMN principal_score.tier IS 'Critical, High, Medium or Low.';
COMMENT ON COLUMN principal_score.fingerprint IS 'Hash of the principal''s distinct set of policies; effective grants are computed once per fingerprint.';
COMMENT ON COLUMN principal_score.human_identities IS 'Distinct human identities that acted through the principal in the window.';
COMMENT ON COLUMN principal_score.machine_identities IS 'Distinct machine identities that acted through the principal in the window.';

CREATE TABLE recommendation (
  recommendation_id VARCHAR PRIMARY KEY,
  assessment_id VARCHAR NOT NULL,
  integration_id VARCHAR NOT NULL,
  principal_id VARCHAR NOT NULL,
  policy_id VARCHAR,
  kind VARCHAR NOT NULL,
  title VARCHAR NOT NULL,
  severity VARCHAR NOT NULL,
  rank INTEGER NOT NULL,
  options JSON NOT NULL,
  proof JSON,
  owner VARCHAR,
  owner_source VARCHAR NOT NULL,
  state VARCHAR NOT NULL,
  state_reason VARCHAR,
  created_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE recommendation IS 'Issues found per assessment, with remediation options and their artifacts.';
COMMENT ON COLUMN recommendation.recommendation_id IS 'Stable id: hash of assessment, principal, kind and policy.';
COMMENT ON COLUMN recommendation.assessment_id IS 'Assessment that produced it.';
COMMENT ON COLUMN recommendation.integration_id IS 'Integration.';
COMMENT ON COLUMN recommendation.principal_id IS 'Principal concerned.';
COMMENT ON COLUMN recommendation.policy_id IS 'Policy concerned (overprivileged policy); null otherwise.';
COMMENT ON COLUMN recommendation.kind IS 'dormant-principal, unused-privileged-permissions or overprivileged-policy.';
COMMENT ON COLUMN recommendation.title IS 'Human title, e.g. "Dormant Principal Detected".';
COMMENT ON COLUMN recommendation.severity IS 'critical, high, medium or low.';
COMMENT ON COLUMN recommendation.rank IS 'Order among the principal''s open recommendations (1 = first); the top 3 are shown.';
COMMENT ON COLUMN recommendation.options IS 'JSON list of fixes [{type: quarantine|delete|custom-quarantine|right-size|gcp-disable|gcp-delete|gcp-remove-binding|gcp-custom-role, title, description, applicable (can be applied through the API), artifacts: [{name, format: json|shell|text, content}]}].';
COMMENT ON COLUMN recommendation.proof IS 'JSON replay proof: actions checked against each artifact and the result.';
COMMENT ON COLUMN recommendation.owner IS 'Who should act: owner tag value, else the integration owner.';
COMMENT ON COLUMN recommendation.owner_source IS 'tag or integration.';
COMMENT ON COLUMN recommendation.state IS 'open, applied, resolved, ignored or suppressed.';
COMMENT ON COLUMN recommendation.state_reason IS 'Why it is not open (safety rail, ignore reason, remediation id).';
COMMENT ON COLUMN recommendation.created_at IS 'When it was produced.';

CREATE TABLE remediation (
  remediation_id VARCHAR PRIMARY KEY,
  recommendation_id VARCHAR NOT NULL,
  integration_id VARCHAR NOT NULL,
  principal_id VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  option_type VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  calls JSON NOT NULL,
  previous_state JSON NOT NULL,
  rollback_calls JSON,
  actor VARCHAR NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL,
  rolled_back_at TIMESTAMPTZ,
  rolled_back_by VARCHAR,
  error VARCHAR
);
COMMENT ON TABLE remediation IS 'Changes applied to a cloud, with the previous state needed to roll them back.';
COMMENT ON COLUMN remediation.remediation_id IS 'Remediation id.';
COMMENT ON COLUMN remediation.recommendation_id IS 'Recommendation it carries out.';
COMMENT ON COLUMN remediation.integration_id IS 'Integration.';
COMMENT ON COLUMN remediation.principal_id IS 'Principal changed.';
COMMENT ON COLUMN remediation.account_id IS 'Account or project changed.';
COMMENT ON COLUMN remediation.option_type IS 'quarantine, custom-quarantine or disable-service-account.';
COMMENT ON COLUMN remediation.status IS 'applied, failed, rolled-back or rollback-failed.';
COMMENT ON COLUMN remediation.calls IS 'JSON list of the cloud calls made, in order, with their results.';
COMMENT ON COLUMN remediation.previous_state IS 'JSON of the state before the change (previous boundary, disabled flag).';
COMMENT ON COLUMN remediation.rollback_calls IS 'JSON list of the calls made by the rollback; null until rolled back.';
COMMENT ON COLUMN remediation.actor IS 'Token name or CLI user that applied it.';
COMMENT ON COLUMN remediation.applied_at IS 'When it was applied.';
COMMENT ON COLUMN remediation.rolled_back_at IS 'When it was rolled back; null otherwise.';
COMMENT ON COLUMN remediation.rolled_back_by IS 'Who rolled it back.';
COMMENT ON COLUMN remediation.error IS 'Why the apply or rollback failed; null on success.';

CREATE TABLE ignore_rule (
  ignore_id VARCHAR PRIMARY KEY,
  principal_id VARCHAR NOT NULL,
  integration_id VARCHAR,
  reason VARCHAR NOT NULL,
  created_by VARCHAR NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  expires_at TIMESTAMPTZ,
  removed_at TIMESTAMPTZ,
  removed_by VARCHAR
);
COMMENT ON TABLE ignore_rule IS 'Principals ignored by a person, with reason and optional expiry.';
COMMENT ON COLUMN ignore_rule.ignore_id IS 'Rule id.';
COMMENT ON COLUMN ignore_rule.principal_id IS 'Principal ignored.';
COMMENT ON COLUMN ignore_rule.integration_id IS 'Integration it applies to; null for all.';
COMMENT ON COLUMN ignore_rule.reason IS 'Why (required).';
COMMENT ON COLUMN ignore_rule.created_by IS 'Token name or CLI user.';
COMMENT ON COLUMN ignore_rule.created_at IS 'When it was created.';
COMMENT ON COLUMN ignore_rule.expires_at IS 'When it stops applying; null for never.';
COMMENT ON COLUMN ignore_rule.removed_at IS 'When it was removed (unignore); null while in force.';
COMMENT ON COLUMN ignore_rule.removed_by IS 'Who removed it.';

CREATE TABLE api_token (
  token_id VARCHAR PRIMARY KEY,
  name VARCHAR NOT NULL,
  role VARCHAR NOT NULL,
  token_hash VARCHAR NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL,
  created_by VARCHAR NOT NULL,
  expires_at TIMESTAMPTZ,
  revoked_at TIMESTAMPTZ,
  last_used_at TIMESTAMPTZ
);
COMMENT ON TABLE api_token IS 'API bearer tokens. Only a hash is stored; the token is shown once at creation.';
COMMENT ON COLUMN api_token.token_id IS 'Public token id (also the prefix of the token).';
COMMENT ON COLUMN api_token.name IS 'Who or what the token is for.';
COMMENT ON COLUMN api_token.role IS 'admin, analyst or auditor.';
COMMENT ON COLUMN api_token.token_hash IS 'SHA-256 of the token secret, hex.';
COMMENT ON COLUMN api_token.created_at IS 'When it was created.';
COMMENT ON COLUMN api_token.created_by IS 'Who created it.';
COMMENT ON COLUMN api_token.expires_at IS 'Expiry; null for never.';
COMMENT ON COLUMN api_token.revoked_at IS 'When it was revoked; null while valid.';
COMMENT ON COLUMN api_token.last_used_at IS 'Last successful authentication.';

CREATE SEQUENCE audit_log_seq START 1;
CREATE TABLE audit_log (
  audit_id BIGINT PRIMARY KEY DEFAULT nextval('audit_log_seq'),
  occurred_at TIMESTAMPTZ NOT NULL,
  actor VARCHAR NOT NULL,
  role VARCHAR,
  action VARCHAR NOT NULL,
  target VARCHAR,
  outcome VARCHAR NOT NULL,
  details JSON NOT NULL,
  request_id VARCHAR,
  source_ip VARCHAR
);
COMMENT ON TABLE audit_log IS 'Every mutation and export, by whom, with the outcome. Never holds tokens or credentials.';
COMMENT ON COLUMN audit_log.audit_id IS 'Sequence number.';
COMMENT ON COLUMN audit_log.occurred_at IS 'When it happened.';
COMMENT ON COLUMN audit_log.actor IS 'Token name (with id) or cli:<user>.';
COMMENT ON COLUMN audit_log.role IS 'Role of the actor; null for the CLI.';
COMMENT ON COLUMN audit_log.action IS 'What was done: remediation.apply, remediation.rollback, ignore.create, report.export, token.create, assessment.run, ...';
COMMENT ON COLUMN audit_log.target IS 'Id of the object acted on.';
COMMENT ON COLUMN audit_log.outcome IS 'success, denied or failed.';
COMMENT ON COLUMN audit_log.details IS 'JSON details (dry-run flag, calls, error).';
COMMENT ON COLUMN audit_log.request_id IS 'API request id; null for the CLI.';
COMMENT ON COLUMN audit_log.source_ip IS 'Client address; null for the CLI.';
