import { describe, expect, it } from 'vitest';
import { levelFromAccessLevels } from '../../../scoring/catalog/aws.ts';
import {
  atLeast,
  compareLevels,
  levelFromRank,
  levelRank,
  maxLevel,
  PRIVILEGE_LEVELS,
} from '../../../scoring/catalog/levels.ts';

describe('privilege levels', () => {
  it('orders LIST < READ < TAGGING < WRITE < IAM < ADMIN', () => {
    expect(PRIVILEGE_LEVELS).toEqual(['LIST', 'READ', 'TAGGING', 'WRITE', 'IAM', 'ADMIN']);
    expect(PRIVILEGE_LEVELS.map(levelRank)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(PRIVILEGE_LEVELS.map((_, i) => levelFromRank(i))).toEqual([...PRIVILEGE_LEVELS]);
    expect(compareLevels('READ', 'IAM')).toBeLessThan(0);
    expect(maxLevel(['READ', 'ADMIN', 'WRITE'])).toBe('ADMIN');
    expect(maxLevel([])).toBeUndefined();
    expect(atLeast('IAM', 'WRITE')).toBe(true);
    expect(atLeast('TAGGING', 'WRITE')).toBe(false);
    expect(() => levelFromRank(6)).toThrow(RangeError);
  });

  it.each([
    { published: ['List'], level: 'LIST' },
    { published: ['Read'], level: 'READ' },
    { published: ['Write'], level: 'WRITE' },
    { published: ['Permissions management', 'Write'], level: 'IAM' },
    { published: ['Tagging', 'Write'], level: 'TAGGING' },
    { published: ['Read', 'Write'], level: 'WRITE' },
    { published: ['Something new'], level: 'WRITE' },
  ])('derives $level from the published access levels $published', ({ published, level }) => {
    expect(levelFromAccessLevels(published).level).toBe(level);
  });
});
