import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../../model/db.ts';
import { memoryDb } from '../../helpers/db.ts';
import { days, effectiveOf, scoreOf, World } from './world.ts';

// GCP: roles ({includedPermissions}) bound at organization, folder, project or resource level.
let db: Db;
beforeEach(async () => {
  db = await memoryDb();
});
afterEach(() => db.closeAll());

const PROJECT = 'fx-prod-0001';
const sa = `serviceAccount:ci@${PROJECT}.iam.gserviceaccount.com`;

function gcpWorld(): World {
  const w = new World().account(PROJECT, {
    cloud: 'gcp',
    parent_path: ['organizations/1', 'folders/2'],
  });
  const role = (id: string, permissions: string[]) =>
    w.policy(
      id,
      { includedPermissions: permissions },
      { cloud: 'gcp', kind: 'gcp-predefined', account_id: null },
    );
  role('roles/storage.objectViewer', ['storage.objects.get', 'storage.objects.list']);
  role('roles/compute.instanceAdmin', ['compute.instances.create', 'compute.instances.get']);
  role('roles/iam.serviceAccountUser', ['iam.serviceAccounts.actAs']);
  return w;
}

describe('GCP effective permissions', () => {
  it('unions bindings inherited from organization, folder, project and resource, flagging conditional and resource-level ones', async () => {
    const w = gcpWorld()
      .principal(sa, { cloud: 'gcp', kind: 'service-account', account_id: PROJECT, path: null })
      .attach(sa, 'roles/storage.objectViewer', 'binding', `projects/_/buckets/logs`)
      .attach(sa, 'roles/compute.instanceAdmin', 'binding', 'organizations/1', {
        title: 'weekdays',
        expression: 'request.time.getDayOfWeek() < 5',
      })
      .attach(sa, 'roles/iam.serviceAccountUser', 'binding', `projects/${PROJECT}`)
      .covered(PROJECT, days('2026-08-24', '2026-11-21'), false, 'global')
      .used(sa, 'storage.objects.get', '2026-11-01');
    await w.score(db);

    const eff = await effectiveOf(db, sa);
    expect(
      Object.fromEntries([...eff].map(([k, v]) => [k, [v.resource_scope, v.conditional]])),
    ).toEqual({
      'storage.objects.get': ['specific', false],
      'storage.objects.list': ['specific', false],
      'compute.instances.create': ['all', true],
      'compute.instances.get': ['all', true],
      'iam.serviceAccounts.actAs': ['all', false],
    });
    const s = await scoreOf(db, sa);
    // Reads are unobservable without Data Access logs, unless seen anyway.
    expect(s).toMatchObject({ status: 'active', used_count: 1, unobservable_count: 2 });
    const escalation = s.breakdown.find((c) => c.component === 'escalation')!;
    expect(escalation.reason).toContain('gcp-actas-compute');
    expect(escalation.points).toBe(15); // compute.instances.create is conditional: a limited path
  });
});
