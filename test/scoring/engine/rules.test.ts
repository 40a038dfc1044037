import { describe, expect, it } from 'vitest';
import { getAwsCatalog, isGcpPermission } from '../../../scoring/catalog/index.ts';
import { exposureOf } from '../../../scoring/engine/exposure.ts';
import {
  dataEventResources,
  escalationPaths,
  riskWeights,
  selectedDataResourceTypes,
} from '../../../scoring/engine/rules.ts';

describe('escalation paths data', () => {
  it('names only catalog actions (AWS) and well-formed permissions (GCP), each path with a reason and source', () => {
    const catalog = getAwsCatalog();
    for (const path of escalationPaths()) {
      for (const group of path.requires) {
        for (const name of group) {
          if (path.cloud === 'aws')
            expect(catalog.expander.expand(name).length, `${path.id}: ${name}`).toBeGreaterThan(0);
          else expect(isGcpPermission(name), `${path.id}: ${name}`).toBe(true);
        }
      }
    }
    const ids = escalationPaths().map((p) => p.id);
    // Rhino Security Labs' 21 AWS methods are all there.
    expect(ids.filter((id) => id.startsWith('aws-')).length).toBeGreaterThanOrEqual(21);
    expect(ids).toContain('gcp-actas-compute');
  });
});

describe('risk weights data', () => {
  it('ends the tier rules with an unconditional default and keeps every component max within 100', () => {
    const w = riskWeights();
    expect(w.tiers.at(-1)?.tier).toBe('Low');
    for (const c of Object.values(w.components)) expect(c.max).toBeLessThanOrEqual(100);
  });
});

const weights = riskWeights().components.exposure;
const org = new Set(['111111111111', '222222222222']);
const role = (trust: unknown) => ({
  principal_id: 'arn:aws:iam::111111111111:role/r',
  account_id: '111111111111',
  cloud: 'aws',
  kind: 'role',
  trust_policy: trust,
});
const trust = (statement: Record<string, unknown>) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', ...statement }],
});

describe('exposure', () => {
  const cases: Array<{ name: string; input: ReturnType<typeof role>; expected: number[] }> = [
    { name: 'any principal', input: role(trust({ Principal: '*' })), expected: [weights.public] },
    {
      name: 'AWS "*"',
      input: role(trust({ Principal: { AWS: '*' } })),
      expected: [weights.public],
    },
    {
      name: 'any principal with a condition',
      input: role(
        trust({
          Principal: { AWS: '*' },
          Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-1' } },
        }),
      ),
      expected: [weights.publicConditional],
    },
    {
      name: 'an account outside the organization',
      input: role(trust({ Principal: { AWS: 'arn:aws:iam::333333333333:root' } })),
      expected: [weights.externalAccount],
    },
    {
      name: 'an account of the organization',
      input: role(
        trust({ Principal: { AWS: ['222222222222', 'arn:aws:iam::111111111111:role/x'] } }),
      ),
      expected: [],
    },
    {
      name: 'a web identity provider',
      input: role({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRoleWithWebIdentity',
            Principal: {
              Federated:
                'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com',
            },
          },
        ],
      }),
      expected: [weights.federation],
    },
    {
      name: 'a service',
      input: role(trust({ Principal: { Service: 'lambda.amazonaws.com' } })),
      expected: [],
    },
    {
      name: 'a Deny statement',
      input: role({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Deny', Action: 'sts:AssumeRole', Principal: '*' }],
      }),
      expected: [],
    },
  ];
  for (const c of cases) {
    it(`scores a trust policy open to ${c.name}`, () => {
      expect(exposureOf(c.input, org, weights).map((f) => f.points)).toEqual(c.expected);
    });
  }

  it('scores GCP public and domain members', () => {
    const gcp = (principal_id: string, kind: string) => ({
      principal_id,
      account_id: 'p',
      cloud: 'gcp',
      kind,
      trust_policy: null,
    });
    expect(exposureOf(gcp('allUsers', 'public'), org, weights)[0]?.points).toBe(
      weights.gcpAllUsers,
    );
    expect(exposureOf(gcp('allAuthenticatedUsers', 'public'), org, weights)[0]?.points).toBe(
      weights.gcpAllAuthenticatedUsers,
    );
    expect(exposureOf(gcp('domain:example.com', 'domain'), org, weights)[0]?.points).toBe(
      weights.gcpDomain,
    );
    expect(exposureOf(gcp('user:a@example.com', 'user'), org, weights)).toEqual([]);
  });
});

describe('data-event resource types', () => {
  it('gives every AWS data-event action of the catalog a CloudTrail resource type', () => {
    const catalog = getAwsCatalog();
    const typed = new Set(dataEventResources().flatMap((e) => catalog.expander.expand(e.pattern)));
    const missing = [...catalog.entries()]
      .filter((c) => c.observable === 'data-event' && !typed.has(c.action))
      .map((c) => c.action);
    expect(missing).toEqual([]);
  });

  it('reads the selected types from basic and advanced event selectors', () => {
    expect(
      selectedDataResourceTypes({
        EventSelectors: [{ DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3'] }] }],
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Data'] },
              { Field: 'resources.type', Equals: ['AWS::DynamoDB::Table'] },
            ],
          },
        ],
      }),
    ).toEqual(['AWS::DynamoDB::Table', 'AWS::S3::Object']);
    expect(selectedDataResourceTypes({ EventSelectors: [{ DataResources: [] }] })).toEqual([]);
    expect(selectedDataResourceTypes(null)).toEqual([]);
  });
});
