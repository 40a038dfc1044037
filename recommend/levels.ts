import { getAwsCatalog } from '../scoring/catalog/aws.ts';
import { classifyGcpPermission, isGcpPermission } from '../scoring/catalog/gcp.ts';
import { levelRank } from '../scoring/catalog/levels.ts';

/**
 * Privilege level rank and sensitivity of actions, cached: the rules ask for thousands of them.
 * An action the catalog does not know ranks WRITE with sensitivity 4, the catalog's own
 * fallback for an unknown published level (never under-rate what we cannot classify).
 */
const UNKNOWN = { rank: levelRank('WRITE'), sensitivity: 4 };
let awsFacts: Map<string, { rank: number; sensitivity: number }> | undefined;

/** Every AWS action's rank and sensitivity, keyed by canonical name (built once). */
function awsTable(): Map<string, { rank: number; sensitivity: number }> {
  if (!awsFacts) {
    awsFacts = new Map();
    for (const c of getAwsCatalog().entries()) {
      awsFacts.set(c.action, { rank: c.levelRank, sensitivity: c.sensitivity });
    }
  }
  return awsFacts;
}

export class ActionFacts {
  private readonly gcp = new Map<string, { rank: number; sensitivity: number }>();

  private lookup(cloud: 'aws' | 'gcp', action: string): { rank: number; sensitivity: number } {
    if (cloud === 'aws') {
      const table = awsTable();
      const found = table.get(action);
      if (found) return found;
      const c = getAwsCatalog().find(action);
      return c ? { rank: c.levelRank, sensitivity: c.sensitivity } : UNKNOWN;
    }
    const cached = this.gcp.get(action);
    if (cached) return cached;
    let found = UNKNOWN;
    if (isGcpPermission(action)) {
      const c = classifyGcpPermission(action);
      found = { rank: c.levelRank, sensitivity: c.sensitivity };
    }
    this.gcp.set(action, found);
    return found;
  }

  rank(cloud: 'aws' | 'gcp', action: string): number {
    return this.lookup(cloud, action).rank;
  }

  sensitivity(cloud: 'aws' | 'gcp', action: string): number {
    return this.lookup(cloud, action).sensitivity;
  }

  /** IAM or ADMIN level. */
  privileged(cloud: 'aws' | 'gcp', action: string): boolean {
    return this.rank(cloud, action) >= levelRank('IAM');
  }

  private readonly weights = new WeakMap<object, number>();
  private readonly maxRanks = new WeakMap<object, number>();

  /** Sum of sensitivities: the risk an option takes away (cached per set object). */
  weight(cloud: 'aws' | 'gcp', actions: Iterable<string>): number {
    const cached = this.weights.get(actions);
    if (cached !== undefined) return cached;
    let sum = 0;
    for (const a of actions) sum += this.lookup(cloud, a).sensitivity;
    this.weights.set(actions, sum);
    return sum;
  }

  maxRank(cloud: 'aws' | 'gcp', actions: Iterable<string>): number {
    const cached = this.maxRanks.get(actions);
    if (cached !== undefined) return cached;
    let max = -1;
    for (const a of actions) max = Math.max(max, this.lookup(cloud, a).rank);
    this.maxRanks.set(actions, max);
    return max;
  }
}
