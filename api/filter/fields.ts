/**
 * The fields a filter may name, mapped to columns of the principal view
 * (api/queries/principal-view.sql, aliased `q`). This table is the whitelist: a field that is
 * not here cannot reach SQL. docs/filter-language.md documents each one (a test checks).
 */

export type FieldType =
  | 'string'
  | 'enum'
  | 'ordered'
  | 'number'
  | 'date'
  | 'boolean'
  | 'levels'
  | 'tag';

export interface FieldDef {
  name: string;
  aliases: string[];
  type: FieldType;
  /** SQL expression over the principal view `q`; fixed text, never built from input. */
  column: string;
  /** Accepted values (enum, ordered, levels), lowest first for ordered types. */
  values?: string[];
  /** Levels only: an INTEGER column with bit i set when the list holds values[i]. */
  maskColumn?: string;
  description: string;
}

export const PRIVILEGE_LEVELS = ['LIST', 'READ', 'TAGGING', 'WRITE', 'IAM', 'ADMIN'];
export const TIERS = ['Low', 'Medium', 'High', 'Critical'];
export const STATUSES = ['active', 'dormant', 'new', 'no-coverage'];

export const FIELDS: FieldDef[] = [
  {
    name: 'principal',
    aliases: ['name'],
    type: 'string',
    column: 'q.name',
    description: 'Principal name (user or role name, service account email, member).',
  },
  {
    name: 'arn',
    aliases: ['principal_id', 'id'],
    type: 'string',
    column: 'q.principal_id',
    description: 'Principal id: AWS ARN or GCP member string.',
  },
  {
    name: 'account',
    aliases: ['account_id'],
    type: 'string',
    column: 'q.account_id',
    description: 'AWS account id or GCP project id.',
  },
  {
    name: 'account_name',
    aliases: [],
    type: 'string',
    column: 'q.account_name',
    description: 'Account or project display name.',
  },
  {
    name: 'integration',
    aliases: ['integration_id'],
    type: 'string',
    column: 'q.integration_id',
    description: 'Integration id.',
  },
  {
    name: 'type',
    aliases: ['kind'],
    type: 'string',
    column: 'q.kind',
    description:
      'Principal kind: user, role, group (AWS); service-account, user, group, domain, public, federated (GCP).',
  },
  {
    name: 'status',
    aliases: [],
    type: 'enum',
    column: 'q.status',
    values: STATUSES,
    description: 'active, dormant, new or no-coverage.',
  },
  {
    name: 'tier',
    aliases: [],
    type: 'ordered',
    column: 'q.tier_rank',
    values: TIERS,
    description: 'Risk tier, ordered Low < Medium < High < Critical.',
  },
  {
    name: 'risk',
    aliases: ['risk_score'],
    type: 'number',
    column: 'q.risk_score',
    description: 'Risk score, 0 to 100.',
  },
  {
    name: 'overprivilege',
    aliases: ['overprivilege_pct'],
    type: 'number',
    column: 'q.overprivilege_pct',
    description:
      'Unused share of the observable granted actions, in percent; absent when nothing observable is granted.',
  },
  {
    name: 'high_risk_overprivilege',
    aliases: ['high_risk_overprivilege_pct'],
    type: 'number',
    column: 'q.high_risk_overprivilege_pct',
    description: 'The same over IAM and ADMIN actions only; absent when none is granted.',
  },
  {
    name: 'last_used',
    aliases: ['last_used_at'],
    type: 'date',
    column: 'q.last_used_at',
    description: 'Latest known use; "never" when none is known.',
  },
  {
    name: 'created',
    aliases: ['created_at'],
    type: 'date',
    column: 'q.created_at',
    description: 'Creation time reported by the cloud.',
  },
  {
    name: 'cloud',
    aliases: [],
    type: 'enum',
    column: 'q.cloud',
    values: ['aws', 'gcp'],
    description: 'aws or gcp.',
  },
  {
    name: 'unused_level',
    aliases: ['unused_levels'],
    type: 'levels',
    column: 'q.unused_levels',
    maskColumn: 'q.unused_level_mask',
    values: PRIVILEGE_LEVELS,
    description:
      'Privilege levels at which the principal has unused actions (a list: = means "has").',
  },
  {
    name: 'ignored',
    aliases: [],
    type: 'boolean',
    column: 'q.ignored',
    description: 'True while an ignore rule (not removed, not expired) covers the principal.',
  },
  {
    name: 'owner',
    aliases: [],
    type: 'string',
    column: 'q.owner',
    description: 'Value of the configured owner tag.',
  },
  {
    name: 'service_linked',
    aliases: [],
    type: 'boolean',
    column: 'q.service_linked',
    description: 'True for AWS service-linked roles.',
  },
  {
    name: 'human_identities',
    aliases: [],
    type: 'number',
    column: 'q.human_identities',
    description: 'Distinct human identities that acted through the principal in the window.',
  },
  {
    name: 'machine_identities',
    aliases: [],
    type: 'number',
    column: 'q.machine_identities',
    description: 'Distinct machine identities that acted through the principal in the window.',
  },
  {
    name: 'tag',
    aliases: ['tags'],
    type: 'tag',
    column: 'q.tags',
    description: 'A tag or label value: tag["env"] = "prod".',
  },
];

const BY_NAME = new Map<string, FieldDef>();
for (const f of FIELDS) {
  BY_NAME.set(f.name, f);
  for (const a of f.aliases) BY_NAME.set(a, f);
}

/** The field named (case-insensitive), or undefined. */
export function lookupField(name: string): FieldDef | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export const FIELD_NAMES = FIELDS.map((f) => (f.type === 'tag' ? 'tag["key"]' : f.name));
