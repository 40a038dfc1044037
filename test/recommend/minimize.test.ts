import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../lib/errors.ts';
import { POLICY_LIMITS, policyChars } from '../../recommend/limits.ts';
import {
  complementOf,
  minimizeActions,
  packStatements,
  verifyPatterns,
} from '../../recommend/minimize.ts';
import { getAwsCatalog } from '../../scoring/catalog/index.ts';
import { parsePolicyDocument } from '../../scoring/policy/parse.ts';

const expander = getAwsCatalog().expander;

function coveredBy(patterns: string[]): Set<string> {
  const out = new Set<string>();
  for (const p of patterns) for (const a of expander.expand(p)) out.add(a);
  return out;
}

describe('minimizeActions', () => {
  it('covers every kept action and no forbidden one, for random subsets of real services', () => {
    const services = ['s3', 'iam', 'ec2', 'lambda', 'kms', 'dynamodb'];
    fc.assert(
      fc.property(
        fc.constantFrom(...services),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.double({ min: 0.01, max: 0.9, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (service, seed, keepShare, forbidShare) => {
          const all = expander.expand(`${service}:*`);
          // A deterministic pseudo-random split of the service into keep / forbid / don't-care.
          let s = seed;
          const next = () => {
            s = (Math.imul(s, 1103515245) + 12345) >>> 0;
            return s / 2 ** 32;
          };
          const keep = new Set<string>();
          const forbid = new Set<string>();
          for (const a of all) {
            const r = next();
            if (r < keepShare) keep.add(a);
            else if (next() < forbidShare) forbid.add(a);
          }
          // Other services are forbidden: a pattern must never leak outside the service.
          for (const a of expander.allActions()) if (!a.startsWith(`${service}:`)) forbid.add(a);
          const { patterns } = minimizeActions(expander, keep, forbid);
          const covered = coveredBy(patterns);
          for (const a of keep) expect(covered.has(a)).toBe(true);
          for (const a of covered) expect(forbid.has(a)).toBe(false);
          expect(patterns.length).toBeLessThanOrEqual(Math.max(1, keep.size));
        },
      ),
      { numRuns: 60, seed: 20261122 },
    );
  });

  it('uses a service wildcard when nothing in the service is forbidden', () => {
    const keep = new Set(['s3:GetObject', 's3:PutObject']);
    const forbid = new Set(expander.allActions().filter((a) => !a.startsWith('s3:')));
    expect(minimizeActions(expander, keep, forbid).patterns).toEqual(['s3:*']);
  });

  it('writes the exact name when every prefix would cover a forbidden action', () => {
    const keep = new Set(['s3:GetObject']);
    const forbid = complementOf(keep);
    // s3:GetObject* would also cover s3:GetObjectAcl, s3:GetObjectTagging, ...
    expect(minimizeActions(expander, keep, forbid).patterns).toEqual(['s3:GetObject']);
  });

  it('shares one prefix among kept actions when nothing else starts with it', () => {
    const keep = new Set(expander.expand('s3:GetObject*'));
    const forbid = complementOf(keep);
    const { patterns } = minimizeActions(expander, keep, forbid);
    // The shortest such prefix: s3:GetO* (nothing else in s3 starts with GetO).
    expect(patterns).toEqual(['s3:GetO*']);
    expect(coveredBy(patterns)).toEqual(keep);
  });

  it('keeps names the catalog does not know, verbatim, and reports them', () => {
    const keep = new Set(['s3:GetObject', 'newsvc:DoThing']);
    const result = minimizeActions(expander, keep, complementOf(new Set(['s3:GetObject'])));
    expect(result.unknown).toEqual(['newsvc:DoThing']);
    expect(result.patterns).toContain('newsvc:DoThing');
  });

  it('refuses to keep an action it is told to forbid', () => {
    expect(() =>
      minimizeActions(expander, new Set(['s3:GetObject']), new Set(['s3:GetObject'])),
    ).toThrow(PolicyError);
  });

  it('verifyPatterns rejects a tampered pattern list', () => {
    const keep = new Set(['s3:GetObject']);
    const forbid = complementOf(keep);
    expect(() => verifyPatterns(expander, ['s3:Get*'], keep, forbid)).toThrow(/forbidden/);
    expect(() => verifyPatterns(expander, ['s3:PutObject'], keep, new Set())).toThrow(
      /no pattern covers/,
    );
  });
});

describe('packStatements', () => {
  it('splits hundreds of actions into several managed policies, each within the quota and valid', () => {
    const actions = expander.expand('ec2:Describe*').slice(0, 400);
    const docs = packStatements([{ sid: 'Used', effect: 'Allow', actions }], POLICY_LIMITS.managed);
    expect(docs.length).toBeGreaterThan(1);
    const seen: string[] = [];
    for (const d of docs) {
      expect(d.chars).toBe(policyChars(d.document));
      expect(d.chars).toBeLessThanOrEqual(POLICY_LIMITS.managed);
      const parsed = parsePolicyDocument(d.document);
      for (const st of parsed.statements) seen.push(...(st.actions ?? []));
    }
    expect(seen.sort()).toEqual([...actions].sort());
  });

  it('fills each document before starting the next (no room left for one more action)', () => {
    const actions = expander.expand('ec2:*').slice(0, 600);
    const docs = packStatements([{ sid: 'Used', effect: 'Allow', actions }], 2048);
    for (const d of docs.slice(0, -1)) expect(2048 - d.chars).toBeLessThan(60);
  });

  it('never splits a verbatim statement, and refuses one that cannot fit', () => {
    const big = {
      Sid: 'NOREPOBig',
      Effect: 'Allow',
      Action: expander.expand('ec2:*'),
      Resource: '*',
    };
    expect(() => packStatements([{ verbatim: big }], POLICY_LIMITS.managed)).toThrow(PolicyError);
  });

  it('renames a generated Sid that collides with a verbatim one', () => {
    const docs = packStatements(
      [
        { verbatim: { Sid: 'Used', Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' } },
        { sid: 'Used', effect: 'Allow', actions: ['s3:GetObject'] },
      ],
      POLICY_LIMITS.managed,
    );
    expect(docs).toHaveLength(1);
    const sids = docs[0]!.document.Statement.map((s) => s.Sid);
    expect(new Set(sids).size).toBe(2);
    expect(() => parsePolicyDocument(docs[0]!.document)).not.toThrow();
  });
});
