import { TIERS } from '../../api/filter/fields.ts';
import type { FilterNode } from '../../api/filter/parser.ts';
import type { PrincipalSpec } from './seed.ts';

/**
 * An independent reading of the filter language's semantics, in plain JS over the seeded
 * specs, to check the SQL the compiler writes (differential test).
 */

export interface OracleRow {
  key: string;
  spec: PrincipalSpec;
  integrationId: string;
  accountName: string | null;
  ignored: boolean;
  lastUsedMs: number | null;
  createdMs: number | null;
}

const LEVELS = ['LIST', 'READ', 'TAGGING', 'WRITE', 'IAM', 'ADMIN'];
const DAY = 86_400_000;

function textOf(row: OracleRow, field: string, key?: string): string | null {
  const s = row.spec;
  switch (field) {
    case 'principal':
      return s.name;
    case 'arn':
      return s.id;
    case 'account':
      return s.account;
    case 'account_name':
      return row.accountName;
    case 'integration':
      return row.integrationId;
    case 'type':
      return s.kind;
    case 'owner':
      return s.owner ?? null;
    case 'tag':
      return s.tags?.[key!] ?? null;
    default:
      throw new Error(`not a text field: ${field}`);
  }
}

function numberOf(row: OracleRow, field: string): number | null {
  const s = row.spec;
  switch (field) {
    case 'risk':
      return s.risk;
    case 'overprivilege':
      return s.overprivilege;
    case 'high_risk_overprivilege':
      return s.highRisk;
    case 'human_identities':
      return s.human ?? 0;
    case 'machine_identities':
      return s.machine ?? 0;
    default:
      throw new Error(`not a number field: ${field}`);
  }
}

function cmp(a: number, op: string, b: number): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    default:
      throw new Error(op);
  }
}

function dateMatch(value: number | null, op: string, text: string, now: number): boolean {
  if (text === 'never') return value === null;
  if (value === null) return false;
  const rel = /^(\d+)([hdw])$/.exec(text);
  if (rel) {
    const ms = Number(rel[1]) * { h: 3_600_000, d: DAY, w: 7 * DAY }[rel[2] as 'h' | 'd' | 'w'];
    return cmp(value, op, now - ms);
  }
  const start = Date.parse(`${text}T00:00:00Z`);
  const end = start + DAY;
  switch (op) {
    case '=':
      return value >= start && value < end;
    case '>':
      return value >= end;
    case '<=':
      return value < end;
    default:
      return cmp(value, op, start);
  }
}

function positive(
  row: OracleRow,
  field: string,
  key: string | undefined,
  op: string,
  value: string | number | boolean,
  now: number,
): boolean {
  const v = String(value);
  switch (field) {
    case 'status':
      return row.spec.status === v.toLowerCase();
    case 'cloud':
      return (row.spec.cloud ?? 'aws') === v.toLowerCase();
    case 'tier': {
      const rank = TIERS.findIndex((t) => t.toLowerCase() === v.toLowerCase()) + 1;
      const mine = TIERS.indexOf(row.spec.tier) + 1;
      return cmp(mine, op, rank);
    }
    case 'unused_level': {
      const rank = LEVELS.indexOf(v.toUpperCase());
      const chosen = LEVELS.filter((_, i) => (op === '=' ? i === rank : cmp(i, op, rank)));
      return chosen.some((l) => (row.spec.unusedLevels ?? []).includes(l));
    }
    case 'ignored':
      return row.ignored === (v.toLowerCase() === 'true');
    case 'service_linked':
      return (row.spec.serviceLinked ?? false) === (v.toLowerCase() === 'true');
    case 'last_used':
      return dateMatch(row.lastUsedMs, op, v, now);
    case 'created':
      return dateMatch(row.createdMs, op, v, now);
    case 'risk':
    case 'overprivilege':
    case 'high_risk_overprivilege':
    case 'human_identities':
    case 'machine_identities': {
      const n = numberOf(row, field);
      return n !== null && cmp(n, op, Number(value));
    }
    default: {
      const text = textOf(row, field, key);
      if (text === null) return false;
      const a = text.toLowerCase();
      const b = v.toLowerCase();
      if (op === '=') return a === b;
      if (op === 'contains') return a.includes(b);
      if (op === 'starts_with') return a.startsWith(b);
      if (op === 'ends_with') return a.endsWith(b);
      throw new Error(op);
    }
  }
}

export function evaluate(node: FilterNode | null, row: OracleRow, now: number): boolean {
  if (!node) return true;
  switch (node.type) {
    case 'and':
      return node.items.every((i) => evaluate(i, row, now));
    case 'or':
      return node.items.some((i) => evaluate(i, row, now));
    case 'not':
      return !evaluate(node.item, row, now);
    case 'in': {
      const any = node.values.some((v) =>
        positive(row, node.field.def.name, node.field.key, '=', v.text, now),
      );
      return node.negated ? !any : any;
    }
    case 'compare': {
      const neg = node.op === '!=' ? '=' : node.op === 'not_contains' ? 'contains' : null;
      const value = node.value.kind === 'string' ? node.value.text : node.value.value;
      if (neg) return !positive(row, node.field.def.name, node.field.key, neg, value, now);
      return positive(row, node.field.def.name, node.field.key, node.op, value, now);
    }
  }
}
