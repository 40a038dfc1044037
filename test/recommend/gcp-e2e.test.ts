import type { cloudresourcemanager_v3 } from '@googleapis/cloudresourcemanager';
import type { iam_v1 } from '@googleapis/iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.ts';
import { createToken } from '../../api/auth/tokens.ts';
import type { Widget } from '../../api/widgets.ts';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { iamClient, resourceManagerClient } from '../../fixtures/cloud/gcp/clients.ts';
import { fixtureConfig } from '../../fixtures/config.ts';
import type { TruthScenario } from '../../fixtures/generate/types.ts';
import { silentLogger } from '../../lib/log.ts';
import { createRemediation } from '../../recommend/pipeline.ts';
import type {
  PlanStep,
  RecommendationOption,
  RecommendationProof,
  RemediationRecord,
} from '../../recommend/types.ts';
import { type AssessedWorld, assessWorld } from '../e2e/truth-world.ts';
import { tempDir } from '../helpers/db.ts';

/**
 * Issue 10, point 5: the tiny generated world's GCP organization assessed end to end (the
 * fixture cloud, the real Google clients, the same pipeline as `assess` and the demo), then
 * its scores, its recommendations for the planted GCP scenarios of truth.json, its widgets
 * and a remediation applied and rolled back through the API, read back from the cloud.
 */

const GCP = 'fixture-gcp';
const AWS = 'fixture-aws';
const GCP_OPTIONS = ['gcp-disable', 'gcp-delete', 'gcp-remove-binding', 'gcp-custom-role'];

interface ApiRecommendation {
  recommendationId: string;
  kind: string;
  policyId: string | null;
  state: string;
  severity: string;
  options: RecommendationOption[];
  proof: RecommendationProof;
}

let world: AssessedWorld;
let config: Config;
let app: Awaited<ReturnType<typeof buildApp>>;
let token: string;
let iam: iam_v1.Iam;
let crm: cloudresourcemanager_v3.Cloudresourcemanager;
const stage = tempDir('ad-gcp-e2e-stage-');

function scenario(id: string): TruthScenario {
  const found = world.truth.scenarios.find((s) => s.id === id);
  if (!found) throw new Error(`truth.json has no scenario ${id}`);
  return found;
}

async function api<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
  const response = await app.inject({
    method,
    url: `/api/v1${url}`,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
  return JSON.parse(response.body) as T;
}

async function recommendationsOf(principalId: string): Promise<ApiRecommendation[]> {
  const { items } = await api<{ items: ApiRecommendation[] }>(
    'GET',
    `/principals/${encodeURIComponent(principalId)}/recommendations?integrationId=${GCP}`,
  );
  return items;
}

function optionOf(rec: ApiRecommendation, type: string): RecommendationOption {
  const found = rec.options.find((o) => o.type === type);
  if (!found) throw new Error(`${rec.kind} ${rec.policyId ?? ''} has no option ${type}`);
  return found;
}

function proofOf(rec: ApiRecommendation, type: string) {
  const found = rec.proof.options.find((p) => p.option === type);
  if (!found) throw new Error(`${rec.kind} ${rec.policyId ?? ''} has no proof for ${type}`);
  return found;
}

/** The bindings a plan's removeIamPolicyBinding steps name. */
function removedBindings(plan: PlanStep[] | undefined) {
  return (plan ?? [])
    .filter((s) => s.kind === 'call' && s.operation === 'removeIamPolicyBinding')
    .map((s) => (s.kind === 'call' ? s.parameters : {}))
    .map((p) => ({
      resource: String(p.resource),
      role: String(p.role),
      member: String(p.member),
      condition: p.condition ?? null,
    }));
}

/** The IAM policy of `projects/P`, `folders/N` or `organizations/N`, through the real client. */
async function iamPolicy(resource: string): Promise<cloudresourcemanager_v3.Schema$Policy> {
  const [collection] = resource.split('/');
  const request = { resource, requestBody: { options: { requestedPolicyVersion: 3 } } };
  const res =
    collection === 'projects'
      ? await crm.projects.getIamPolicy(request)
      : collection === 'folders'
        ? await crm.folders.getIamPolicy(request)
        : await crm.organizations.getIamPolicy(request);
  return res.data;
}

/** Every binding of a member on a resource, as the cloud holds it now. */
async function cloudBindings(resource: string, member: string) {
  const policy = await iamPolicy(resource);
  return (policy.bindings ?? [])
    .filter((b) => (b.members ?? []).includes(member))
    .map((b) => ({ resource, role: String(b.role), member, condition: b.condition ?? null }));
}

async function serviceAccount(principalId: string): Promise<iam_v1.Schema$ServiceAccount> {
  const email = principalId.replace(/^serviceAccount:/, '');
  const project = email.split('@')[1]!.split('.')[0]!;
  const res = await iam.projects.serviceAccounts.get({
    name: `projects/${project}/serviceAccounts/${email}`,
  });
  return res.data;
}

beforeAll(async () => {
  world = await assessWorld('tiny', { stageDir: stage.dir });
  // The same configuration the assessment ran with: both organizations, the cloud's endpoints.
  config = parseConfig(
    fixtureConfig(world.manifest, world.cloud.url, { database: ':memory:' }),
    'fixture config',
  );
  app = await buildApp({
    db: world.db,
    config,
    services: { remediation: createRemediation(world.db, config, silentLogger) },
  });
  await app.ready();
  token = (await createToken(world.db, { name: 'gcp-e2e', role: 'admin', createdBy: 'test' }))
    .token;
  iam = iamClient(world.cloud.url, world.manifest.gcp.accessToken);
  crm = resourceManagerClient(world.cloud.url, world.manifest.gcp.accessToken);
}, 600_000);

afterAll(async () => {
  await app?.close();
  await world?.close();
  stage.cleanup();
});

describe('the fixture GCP organization, assessed end to end', () => {
  it('finishes and scores every GCP principal with a tier', async () => {
    const result = world.results.find((r) => r.assessmentId === world.assessments.gcp)!;
    expect(result.status).toBe('succeeded');
    const rows = await world.db.all<{
      principal_id: string;
      kind: string;
      tier: string | null;
      risk_score: number | null;
      status: string | null;
    }>(
      `SELECT p.principal_id, p.kind, s.tier, s.risk_score, s.status
       FROM principal p LEFT JOIN principal_score s USING (assessment_id, principal_id)
       WHERE p.assessment_id = $a ORDER BY p.principal_id`,
      { a: world.assessments.gcp },
    );
    const expected = Object.entries(world.truth.principals)
      .filter(([, p]) => p.cloud === 'gcp' && !p.excluded)
      .map(([id]) => id)
      .sort();
    expect(rows.map((r) => r.principal_id)).toEqual(expected);
    for (const row of rows) {
      expect(['Critical', 'High', 'Medium', 'Low'], row.principal_id).toContain(row.tier);
      expect(Number(row.risk_score)).toBeGreaterThanOrEqual(0);
      expect(Number(row.risk_score)).toBeLessThanOrEqual(100);
    }
    expect(new Set(rows.map((r) => r.kind))).toEqual(
      new Set(['service-account', 'user', 'group', 'public']),
    );
    const dormant = scenario('gcp-dormant-sa-with-key').principalId;
    expect(rows.find((r) => r.principal_id === dormant)?.status).toBe('dormant');
  });

  it('gives every GCP recommendation only GCP options, each with valid artifacts and a passing proof', async () => {
    const rows = await world.db.all<{ options: string; proof: string; principal_id: string }>(
      'SELECT principal_id, options, proof FROM recommendation WHERE assessment_id = $a',
      { a: world.assessments.gcp },
    );
    expect(rows.length).toBeGreaterThan(0);
    const seen = new Set<string>();
    for (const row of rows) {
      const options = JSON.parse(row.options) as RecommendationOption[];
      const proof = JSON.parse(row.proof) as RecommendationProof;
      expect(options.length, row.principal_id).toBeGreaterThan(0);
      for (const o of options) {
        seen.add(o.type);
        expect(GCP_OPTIONS, row.principal_id).toContain(o.type);
        expect(o.artifacts.length).toBeGreaterThan(0);
        const p = proof.options.find((x) => x.option === o.type)!;
        expect(p, `${row.principal_id} ${o.type}: ${p?.failures.join('; ')}`).toMatchObject({
          result: 'pass',
          neverWider: true,
          failures: [],
        });
        expect(p.artifacts.every((a) => a.valid && a.chars <= a.limit)).toBe(true);
      }
    }
    expect([...seen].sort()).toEqual([...GCP_OPTIONS].sort());
  });

  it('recommends disabling or deleting the dormant service account, and removing its bindings', async () => {
    const sa = scenario('gcp-dormant-sa-with-key').principalId;
    const recs = await recommendationsOf(sa);
    const dormant = recs.find((r) => r.kind === 'dormant-principal');
    expect(dormant?.state).toBe('open');
    expect(dormant!.options.map((o) => o.type)).toEqual(['gcp-disable', 'gcp-delete']);
    expect(optionOf(dormant!, 'gcp-disable').applicable).toBe(true);
    expect(proofOf(dormant!, 'gcp-disable')).toMatchObject({
      expectation: 'deny-all',
      grantedAfter: 0,
    });
    expect(proofOf(dormant!, 'gcp-disable').grantedBefore).toBeGreaterThan(0);
    const email = sa.replace(/^serviceAccount:/, '');
    expect(optionOf(dormant!, 'gcp-disable').artifacts[0]!.content).toContain(
      `gcloud iam service-accounts disable '${email}'`,
    );

    // The delete plan removes exactly the bindings the cloud holds for it, then deletes it.
    const del = optionOf(dormant!, 'gcp-delete');
    const planned = removedBindings(del.plan);
    const resources = [...new Set(planned.map((b) => b.resource))];
    expect(resources.length).toBeGreaterThan(0);
    const held = (await Promise.all(resources.map((r) => cloudBindings(r, sa)))).flat();
    const key = (b: { resource: string; role: string }) => `${b.resource} ${b.role}`;
    expect(planned.map(key).sort()).toEqual(held.map(key).sort());
    const last = del.plan!.at(-1)!;
    expect(last.kind === 'call' && last.operation).toBe('projects.serviceAccounts.delete');

    // Each of its roles, used not at all, gets its binding removed.
    const roles = [...new Set(held.map((b) => b.role))].sort();
    const overprivileged = recs.filter((r) => r.kind === 'overprivileged-policy');
    expect(overprivileged.map((r) => r.policyId).sort()).toEqual(roles);
    for (const rec of overprivileged) {
      expect(rec.options.map((o) => o.type)).toEqual(['gcp-remove-binding']);
      const removal = optionOf(rec, 'gcp-remove-binding');
      expect(removedBindings(removal.plan).map(key)).toEqual(
        held.filter((b) => b.role === rec.policyId).map(key),
      );
      expect(removal.artifacts[0]!.content).toContain(`remove-iam-policy-binding`);
      expect(proofOf(rec, 'gcp-remove-binding')).toMatchObject({
        expectation: 'preserve-usage',
        denied: [],
      });
    }
  });

  it('shrinks roles/owner held by a service account that uses a few permissions to a custom role', async () => {
    const s = scenario('gcp-owner-sa-few-permissions');
    const used = s.expect.usedActions as string[];
    const rec = (await recommendationsOf(s.principalId)).find(
      (r) => r.kind === 'overprivileged-policy' && r.policyId === s.expect.role,
    );
    expect(rec?.state).toBe('open');
    const custom = optionOf(rec!, 'gcp-custom-role');
    const role = custom.artifacts.find((a) => a.policy?.kind === 'gcp-role')!;
    const permissions = (JSON.parse(role.content) as { includedPermissions: string[] })
      .includedPermissions;
    expect(permissions).toEqual(expect.arrayContaining(used));
    // Every permission kept is one roles/owner grants, per the IAM roles API of the cloud.
    const owner = await iam.roles.get({ name: String(s.expect.role) });
    const granted = new Set(owner.data.includedPermissions ?? []);
    expect(permissions.every((p) => granted.has(p))).toBe(true);
    expect(permissions.length).toBeLessThan(granted.size / 10);
    const proof = proofOf(rec!, 'gcp-custom-role');
    expect(proof).toMatchObject({ expectation: 'preserve-usage', denied: [], result: 'pass' });
    expect(proof.checkedActions).toEqual(expect.arrayContaining(used));
    expect(proof.grantedAfter).toBeLessThan(proof.grantedBefore);
    // Created under the project the binding is on, and bound where roles/owner was.
    const project = s.principalId.split('@')[1]!.split('.')[0]!;
    expect(role.policy!.name.startsWith(`projects/${project}/roles/`)).toBe(true);
    const script = custom.artifacts.find((a) => a.format === 'shell')!.content;
    expect(script).toContain(`gcloud iam roles create`);
    expect(script).toContain(`remove-iam-policy-binding '${project}'`);
    expect(script).toContain(`--role='${String(s.expect.role)}'`);
  });

  it('keeps the reads a project without Data Access logs cannot show in the smaller role', async () => {
    const s = scenario('gcp-project-without-data-access-logs');
    const unobservable = s.expect.unobservablePermissions as string[];
    const recs = (await recommendationsOf(s.principalId)).filter(
      (r) => r.kind === 'overprivileged-policy',
    );
    expect(recs.length).toBeGreaterThan(0);
    for (const rec of recs) {
      const custom = optionOf(rec, 'gcp-custom-role');
      const role = custom.artifacts.find((a) => a.policy?.kind === 'gcp-role')!;
      const permissions = (JSON.parse(role.content) as { includedPermissions: string[] })
        .includedPermissions;
      expect(permissions).toEqual(expect.arrayContaining(unobservable));
      expect(proofOf(rec, 'gcp-custom-role').unobservableKept).toEqual(
        expect.arrayContaining(unobservable),
      );
      expect(custom.reviewNotes.join(' ')).toContain('the logs cannot show are kept');
    }
  });

  it('answers the widgets for the GCP assessment as for the AWS one', async () => {
    const answer = async (integrationId: string) =>
      (await api<{ widgets: Widget[] }>('GET', `/widgets?integrationId=${integrationId}`)).widgets;
    const gcp = await answer(GCP);
    const aws = await answer(AWS);
    expect(gcp.map((w) => w.id)).toEqual(aws.map((w) => w.id));
    const principals = await world.db.all<{ kind: string; n: number }>(
      'SELECT kind, count(*)::INTEGER AS n FROM principal WHERE assessment_id = $a GROUP BY kind',
      { a: world.assessments.gcp },
    );
    const total = principals.reduce((sum, p) => sum + p.n, 0);
    for (const w of gcp) {
      const list = await api<{ total: number; items: Array<{ principalId: string }> }>(
        'GET',
        `/principals?limit=500&integrationId=${GCP}&filter=${encodeURIComponent(w.filter)}`,
      );
      expect(list.total, `${w.id}: ${w.filter}`).toBe(w.count);
      for (const b of w.buckets ?? []) {
        const bucket = await api<{ total: number }>(
          'GET',
          `/principals?limit=1&integrationId=${GCP}&filter=${encodeURIComponent(b.filter)}`,
        );
        expect(bucket.total, `${w.id} ${b.key}`).toBe(b.count);
      }
      if (w.id === 'dormant-principals') {
        expect(w.count).toBeGreaterThan(0);
        expect(list.items.map((i) => i.principalId)).toContain(
          scenario('gcp-dormant-sa-with-key').principalId,
        );
      }
      if (w.id === 'principals-by-type') {
        expect(w.count).toBe(total);
        expect(Object.fromEntries(w.buckets!.map((b) => [b.key, b.count]))).toEqual(
          Object.fromEntries(principals.map((p) => [p.kind, p.n])),
        );
      }
      if (w.id === 'principals-by-tier') expect(w.count).toBe(total);
      if (w.id === 'overprivilege') {
        expect(w.value).not.toBeNull();
        expect(w.value!).toBeGreaterThan(0);
        expect(w.value!).toBeLessThanOrEqual(100);
      }
      if (w.id === 'high-risk-overprivileged-principals') expect(w.count).toBeGreaterThan(0);
      if (w.id === 'overprivilege-trend') {
        const point = w.points!.find((p) => p.assessmentIds.includes(world.assessments.gcp));
        expect(point?.all).not.toBeNull();
        expect(point!.principals).toBeGreaterThan(0);
      }
    }
  });

  it('disables the dormant service account through the API and rollback enables it, the IAM policy untouched', async () => {
    const sa = scenario('gcp-dormant-sa-with-key').principalId;
    const rec = (await recommendationsOf(sa)).find((r) => r.kind === 'dormant-principal')!;
    const resources = [
      ...new Set(removedBindings(optionOf(rec, 'gcp-delete').plan).map((b) => b.resource)),
    ];
    const policiesBefore = await Promise.all(resources.map(iamPolicy));
    expect((await serviceAccount(sa)).disabled ?? false).toBe(false);

    const preview = await api<{ calls: Array<{ operation: string }> }>(
      'POST',
      `/recommendations/${rec.recommendationId}/preview`,
      { option: 'gcp-disable' },
    );
    expect(preview.calls.map((c) => c.operation)).toContain('projects.serviceAccounts.disable');
    expect((await serviceAccount(sa)).disabled ?? false).toBe(false);

    const applied = await api<RemediationRecord>(
      'POST',
      `/recommendations/${rec.recommendationId}/apply`,
      { option: 'gcp-disable' },
    );
    expect(applied).toMatchObject({ status: 'applied', optionType: 'gcp-disable' });
    expect((await serviceAccount(sa)).disabled).toBe(true);
    expect(await Promise.all(resources.map(iamPolicy))).toEqual(policiesBefore);
    const after = (await recommendationsOf(sa)).find((r) => r.kind === 'dormant-principal')!;
    expect(after.state).toBe('applied');

    const rolled = await api<RemediationRecord>(
      'POST',
      `/remediations/${applied.remediationId}/rollback`,
    );
    expect(rolled.status).toBe('rolled-back');
    expect((await serviceAccount(sa)).disabled ?? false).toBe(false);
    expect(await Promise.all(resources.map(iamPolicy))).toEqual(policiesBefore);
    const audit = await world.db.all<{ action: string; outcome: string }>(
      'SELECT action, outcome FROM audit_log WHERE target = $t AND request_id IS NULL ORDER BY audit_id',
      { t: applied.remediationId },
    );
    expect(audit).toEqual([
      { action: 'remediation.apply', outcome: 'success' },
      { action: 'remediation.rollback', outcome: 'success' },
    ]);
  });
});
