/**
 * Privilege levels, lowest to highest. The rank is the index; comparisons and "highest level"
 * questions go through the helpers so that no caller hard-codes the order.
 */
export const PRIVILEGE_LEVELS = ['LIST', 'READ', 'TAGGING', 'WRITE', 'IAM', 'ADMIN'] as const;

export type PrivilegeLevel = (typeof PRIVILEGE_LEVELS)[number];

const RANKS: ReadonlyMap<string, number> = new Map(PRIVILEGE_LEVELS.map((level, i) => [level, i]));

export function isPrivilegeLevel(value: unknown): value is PrivilegeLevel {
  return typeof value === 'string' && RANKS.has(value);
}

/** 0 (LIST) to 5 (ADMIN). */
export function levelRank(level: PrivilegeLevel): number {
  return RANKS.get(level)!;
}

export function levelFromRank(rank: number): PrivilegeLevel {
  const level = PRIVILEGE_LEVELS[rank];
  if (level === undefined) throw new RangeError(`no privilege level has rank ${rank}`);
  return level;
}

export function compareLevels(a: PrivilegeLevel, b: PrivilegeLevel): number {
  return levelRank(a) - levelRank(b);
}

export function maxLevel(levels: Iterable<PrivilegeLevel>): PrivilegeLevel | undefined {
  let best: PrivilegeLevel | undefined;
  for (const level of levels) {
    if (best === undefined || levelRank(level) > levelRank(best)) best = level;
  }
  return best;
}

/** True when `level` is `floor` or higher. */
export function atLeast(level: PrivilegeLevel, floor: PrivilegeLevel): boolean {
  return levelRank(level) >= levelRank(floor);
}

/**
 * AWS access levels as the Service Authorization Reference publishes them. The field may hold
 * two ("Permissions management, Write"); each maps to our level and the highest wins.
 */
export const AWS_ACCESS_LEVEL_TO_PRIVILEGE: Readonly<Record<string, PrivilegeLevel>> = {
  List: 'LIST',
  Read: 'READ',
  Tagging: 'TAGGING',
  Write: 'WRITE',
  'Permissions management': 'IAM',
};

/** Split a published access level field into its parts ("Tagging, Write" → ["Tagging", "Write"]). */
export function splitAwsAccessLevels(field: string): string[] {
  return field
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}
