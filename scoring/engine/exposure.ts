import { parsePolicyDocumentLenient } from '../policy/parse.ts';
import { matchesWildcard } from '../policy/wildcard.ts';
import type { RiskWeights } from './rules.ts';

/**
 * Exposure: who outside the principal's own organization can act as it. AWS: the role trust
 * policy (any principal, accounts outside the organization, federated identities). GCP: public
 * and domain-wide members, whose permissions anyone in that audience holds.
 */

export interface ExposureInput {
  principal_id: string;
  account_id: string;
  cloud: string;
  kind: string;
  trust_policy: unknown;
}

export interface ExposureFinding {
  principal_id: string;
  points: number;
  finding: string;
  evidence: string;
}

const ASSUME_ACTIONS = [
  'sts:AssumeRole',
  'sts:AssumeRoleWithSAML',
  'sts:AssumeRoleWithWebIdentity',
];

function accountOf(principal: string): string | undefined {
  if (/^\d{12}$/.test(principal)) return principal;
  const account = principal.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

/** Pure: the exposure findings of one principal (empty when none). */
export function exposureOf(
  p: ExposureInput,
  organizationAccounts: ReadonlySet<string>,
  weights: RiskWeights['components']['exposure'],
): ExposureFinding[] {
  const out: ExposureFinding[] = [];
  const add = (points: number, finding: string, evidence: string) =>
    out.push({ principal_id: p.principal_id, points, finding, evidence });
  if (p.cloud === 'gcp') {
    if (p.principal_id === 'allUsers')
      add(weights.gcpAllUsers, 'Granted to allUsers: anyone on the internet.', 'allUsers');
    else if (p.principal_id === 'allAuthenticatedUsers')
      add(
        weights.gcpAllAuthenticatedUsers,
        'Granted to allAuthenticatedUsers: any Google account.',
        'allAuthenticatedUsers',
      );
    else if (p.kind === 'domain')
      add(
        weights.gcpDomain,
        `Granted to every account of a domain (${p.principal_id}).`,
        p.principal_id,
      );
    return out;
  }
  if (p.kind !== 'role' || p.trust_policy === null || p.trust_policy === undefined) return out;
  const { policy } = parsePolicyDocumentLenient(p.trust_policy);
  for (const st of policy.statements) {
    if (st.effect !== 'Allow') continue;
    const actions = st.actions ?? [];
    const assumes =
      st.notActions !== undefined ||
      actions.some((pattern) => ASSUME_ACTIONS.some((a) => matchesWildcard(pattern, a)));
    if (!assumes) continue;
    const conditional = st.condition !== undefined && Object.keys(st.condition).length > 0;
    const where = `statement ${st.index}${st.sid ? ` (${st.sid})` : ''}`;
    if (st.notPrincipal !== undefined || st.principal === '*') {
      add(
        conditional ? weights.publicConditional : weights.public,
        conditional
          ? 'Trust policy lets any AWS principal assume the role, limited by a condition.'
          : 'Trust policy lets any AWS principal assume the role.',
        `${where}: Principal "*"`,
      );
      continue;
    }
    const spec = st.principal ?? {};
    for (const [type, ids] of Object.entries(spec)) {
      if (type === 'AWS') {
        for (const id of ids) {
          if (id === '*') {
            add(
              conditional ? weights.publicConditional : weights.public,
              conditional
                ? 'Trust policy lets any AWS principal assume the role, limited by a condition.'
                : 'Trust policy lets any AWS principal assume the role.',
              `${where}: AWS "*"`,
            );
            continue;
          }
          const account = accountOf(id);
          if (account && account !== p.account_id && !organizationAccounts.has(account)) {
            add(
              weights.externalAccount,
              `Trust policy lets account ${account}, outside the organization, assume the role${conditional ? ' (with a condition)' : ''}.`,
              `${where}: ${id}`,
            );
          }
        }
      } else if (type === 'Federated') {
        for (const id of ids) {
          add(
            weights.federation,
            `Trust policy lets federated identities from ${id} assume the role.`,
            `${where}: Federated ${id}`,
          );
        }
      }
    }
  }
  return out;
}
