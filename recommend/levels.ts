import { getAwsCatalog } from '../scoring/catalog/aws.ts';
import { classifyGcpPermission, isGcpPermission } from '../scoring/catalog/gcp.ts';
import { levelRank } from '../scoring/catalog/levels.ts';

/**
 * Privilege level rank and sensitivity of actions, cached: the rules ask for thousands of them.
 * An action the catalog does not know ranks WRITE with sensitivity 4, the catalog's own
 * fallback for an unknown published level (never under-rate what we cannot classify).
 */
export class ActionFacts {
  private readonly cache = new Map<string, { rank: number; sensitivity: number }>();

  private lookup(cloud: 'aws' | 'gcp', action: string): { rank: number; sensitivity: number } {
    const key = `${cloud}\u0000${action}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    let found: { rank: number; sensitivity: number } = { rank: levelRank('WRITE'), sensitivity: 4 };
    if (cloud === 'aws') {
      const c = getAwsCatalog().find(action);
      if (c) found = { rank: c.levelRank, sensitivity: c.sensitivity };
    } else if (isGcpPermission(action)) {
      const c = classifyGcpPermission(action);
      found = { rank: c.levelRank, sensitivity: c.sensitivity };
    }
    this.cache.set(key, found);
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

  /** Sum of sensitivities: the risk an option takes away. */
  weight(cloud: 'aws' | 'gcp', actions: Iterable<string>): number {
    let sum = 0;
    for (const a of actions) sum += this.sensitivity(cloud, a);
    return sum;
  }

  maxRank(cloud: 'aws' | 'gcp', actions: Iterable<string>): number {
    let max = -1;
    for (const a of actions) max = Math.max(max, this.rank(cloud, a));
    return max;
  }
}
