/**
 * Row shapes of the inventory tables, as transforms produce them and insertRows loads them.
 * Column meanings are documented once, in the migrations (docs/tables.md).
 */
export type Cloud = 'aws' | 'gcp';

export interface AccountRow {
  assessment_id: string;
  account_id: string;
  integration_id: string;
  cloud: Cloud;
  name: string;
  parent_path: string[];
  status: string;
  tags: Record<string, string>;
  risk_level: 'low' | 'medium' | 'high' | 'critical';
  risk_source: 'config' | 'tag' | 'default';
  inventory_status: 'ok' | 'failed' | 'excluded' | 'skipped';
  inventory_error: string | null;
}

export interface OrgNodeRow {
  assessment_id: string;
  node_id: string;
  parent_id: string | null;
  kind: 'root' | 'ou' | 'organization' | 'folder';
  name: string;
  excluded: boolean;
}

export interface PrincipalRow {
  assessment_id: string;
  principal_id: string;
  integration_id: string;
  account_id: string;
  cloud: Cloud;
  kind: string;
  name: string;
  path: string | null;
  unique_id: string | null;
  identity_type: 'human' | 'machine';
  created_at: string | null;
  last_used_at: string | null;
  last_used_source: string | null;
  tags: Record<string, string>;
  boundary_policy_id: string | null;
  trust_policy: unknown;
  service_linked: boolean;
  console_access: boolean | null;
  mfa_enabled: boolean | null;
  owner: string | null;
  attributes: Record<string, unknown>;
}

export interface CredentialRow {
  assessment_id: string;
  credential_id: string;
  principal_id: string;
  kind: 'access-key' | 'password' | 'service-account-key';
  status: string;
  created_at: string | null;
  last_used_at: string | null;
  last_used_service: string | null;
  last_used_region: string | null;
}

export interface PolicyRow {
  assessment_id: string;
  policy_id: string;
  integration_id: string;
  account_id: string | null;
  cloud: Cloud;
  kind: 'aws-managed' | 'customer-managed' | 'inline' | 'scp' | 'gcp-predefined' | 'gcp-custom';
  name: string;
  version_id: string | null;
  document: unknown;
  size_chars: number;
  parse_error: string | null;
}

export interface PrincipalPolicyRow {
  assessment_id: string;
  principal_id: string;
  policy_id: string;
  via: 'direct' | 'inline' | 'group' | 'boundary' | 'binding';
  via_ref: string;
  condition: unknown;
}

export interface PolicyTargetRow {
  assessment_id: string;
  policy_id: string;
  target_id: string;
  target_type: 'ROOT' | 'ORGANIZATIONAL_UNIT' | 'ACCOUNT';
}

/** Everything inventory produces for one account or project. */
export interface InventoryRows {
  principals: PrincipalRow[];
  policies: PolicyRow[];
  attachments: PrincipalPolicyRow[];
  credentials: CredentialRow[];
}

export function emptyInventory(): InventoryRows {
  return { principals: [], policies: [], attachments: [], credentials: [] };
}
