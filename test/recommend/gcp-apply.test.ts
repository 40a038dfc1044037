import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { iamClient } from '../../fixtures/cloud/gcp/clients.ts';
import type { Db } from '../../model/db.ts';
import { createRemediationService } from '../../recommend/apply.ts';
import { type GcpCloud, startGcpCloud } from '../fixtures/cloud/gcp/harness.ts';
import { PROD_PROJECT, TOKEN } from '../fixtures/cloud/gcp/world-builder.ts';
import { memoryDb } from '../helpers/db.ts';
import { find, option, recommend } from './helpers.ts';
import { INTEGRATION, Snapshot } from './snapshot.ts';

/**
 * Disabling a dormant GCP service account and enabling it again, through the real
 * @googleapis/iam client against the GCP fixture cloud.
 */

let gcp: GcpCloud;
let db: Db;
let config: Config;
let email: string;

function gcpConfig(url: string): Config {
  return parseConfig({
    lookbackDays: 30,
    dormancyDays: 30,
    integrations: [
      {
        id: INTEGRATION,
        kind: 'gcp-project',
        projectId: PROD_PROJECT,
        owner: 'cloud-team',
        endpoints: { gcp: url },
      },
    ],
  });
}

async function disabled(): Promise<boolean> {
  const res = await iamClient(gcp.url, TOKEN).projects.serviceAccounts.get({
    name: `projects/${PROD_PROJECT}/serviceAccounts/${email}`,
  });
  return res.data.disabled === true;
}

beforeAll(async () => {
  gcp = await startGcpCloud();
  const account = gcp.spec.organization.serviceAccounts.find(
    (sa) => String(sa.projectId) === PROD_PROJECT,
  )!;
  email = account.email;
  config = gcpConfig(gcp.url);
  db = await memoryDb();
});

afterAll(async () => {
  db?.closeAll();
  await gcp?.close();
});

describe('GCP service account disable and enable', () => {
  it('previews without a call, disables, and rollback enables it again', async () => {
    const s = new Snapshot();
    const role = s.gcpRole('roles/storage.admin', [
      'storage.buckets.delete',
      'storage.objects.get',
    ]);
    const sa = s.serviceAccount(email, PROD_PROJECT);
    s.bind(sa, role, `projects/${PROD_PROJECT}`);
    const busy = s.serviceAccount(`busy@${PROD_PROJECT}.iam.gserviceaccount.com`, PROD_PROJECT);
    s.use(busy, ['storage.objects.get'], { account: PROD_PROJECT });
    const { recs } = await recommend(db, s, config);
    const rec = find(recs, sa, 'dormant-principal');
    expect(rec).toMatchObject({ state: 'open', owner: 'security-team' });
    expect(option(rec, 'gcp-disable').applicable).toBe(true);

    const service = createRemediationService({
      db,
      config,
      gcpIam: () => iamClient(gcp.url, TOKEN),
    });
    const preview = await service.preview(rec.recommendationId, 'gcp-disable');
    expect(gcp.count('iam', 'projects.serviceAccounts.get')).toBe(0);
    expect(gcp.count('iam', 'projects.serviceAccounts.disable')).toBe(0);
    expect(preview.calls.map((c) => c.operation)).toEqual([
      'projects.serviceAccounts.get',
      'projects.serviceAccounts.disable',
      'projects.serviceAccounts.get',
    ]);
    expect(preview.currentState).toMatchObject({ disabled: false });

    expect(await disabled()).toBe(false);
    const applied = await service.apply(rec.recommendationId, 'gcp-disable', 'cli:tester');
    expect(applied).toMatchObject({
      status: 'applied',
      optionType: 'gcp-disable',
      accountId: PROD_PROJECT,
      previousState: { type: 'service-account', previouslyDisabled: false },
    });
    expect(await disabled()).toBe(true);
    expect(gcp.count('iam', 'projects.serviceAccounts.disable')).toBe(1);

    const rolled = await service.rollback(applied.remediationId, 'cli:tester');
    expect(rolled.status).toBe('rolled-back');
    expect(await disabled()).toBe(false);
    expect(gcp.count('iam', 'projects.serviceAccounts.enable')).toBe(1);
    const audit = await db.all<{ action: string; outcome: string }>(
      'SELECT action, outcome FROM audit_log WHERE target = $t ORDER BY audit_id',
      { t: applied.remediationId },
    );
    expect(audit).toEqual([
      { action: 'remediation.apply', outcome: 'success' },
      { action: 'remediation.rollback', outcome: 'success' },
    ]);
  });

  it('does not offer to disable an account that is already disabled', async () => {
    const db2 = await memoryDb();
    try {
      const s = new Snapshot();
      const sa = s.serviceAccount(`off@${PROD_PROJECT}.iam.gserviceaccount.com`, PROD_PROJECT, {
        disabled: true,
      });
      s.bind(sa, s.gcpRole('roles/viewer', ['compute.instances.list']), `projects/${PROD_PROJECT}`);
      s.use(
        s.serviceAccount(`busy@${PROD_PROJECT}.iam.gserviceaccount.com`, PROD_PROJECT),
        ['compute.instances.list'],
        {
          account: PROD_PROJECT,
        },
      );
      const { recs } = await recommend(db2, s, config);
      expect(find(recs, sa, 'dormant-principal').options.map((o) => o.type)).toEqual([
        'gcp-delete',
      ]);
    } finally {
      db2.closeAll();
    }
  });
});
