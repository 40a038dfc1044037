import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../lib/errors.ts';
import { classifyGcpPermission, isGcpPermission } from '../../../scoring/catalog/gcp.ts';
import { levelRank } from '../../../scoring/catalog/levels.ts';
import { gcpRules } from '../../../scoring/catalog/rules.ts';
import { type GcpRoleLine, HAS_REALDATA, readJsonLinesGz } from '../../helpers/realdata.ts';

describe('GCP permission classification', () => {
  it.each([
    { permission: 'storage.buckets.list', level: 'LIST' },
    { permission: 'storage.objects.get', level: 'READ' },
    { permission: 'compute.instances.getIamPolicy', level: 'READ' },
    { permission: 'compute.instances.setLabels', level: 'TAGGING' },
    { permission: 'resourcemanager.tagValueBindings.create', level: 'TAGGING' },
    { permission: 'compute.instances.createTagBinding', level: 'TAGGING' },
    { permission: 'compute.instances.create', level: 'WRITE' },
    { permission: 'compute.instances.delete', level: 'WRITE' },
    { permission: 'storage.buckets.setIamPolicy', level: 'IAM' },
    { permission: 'iam.roles.create', level: 'IAM' },
    { permission: 'iam.roles.get', level: 'READ' },
    { permission: 'iam.serviceAccountKeys.delete', level: 'IAM' },
    { permission: 'iam.serviceAccounts.actAs', level: 'ADMIN' },
    { permission: 'iam.serviceAccounts.getAccessToken', level: 'ADMIN' },
    { permission: 'iam.serviceAccounts.signBlob', level: 'ADMIN' },
    { permission: 'iam.serviceAccounts.signJwt', level: 'ADMIN' },
    { permission: 'iam.serviceAccounts.implicitDelegation', level: 'ADMIN' },
    { permission: 'iam.serviceAccountKeys.create', level: 'ADMIN' },
    { permission: 'orgpolicy.policy.set', level: 'ADMIN' },
    { permission: 'orgpolicy.policies.list', level: 'LIST' },
    { permission: 'resourcemanager.projects.setIamPolicy', level: 'ADMIN' },
    { permission: 'iam.googleapis.com/workloadIdentityPoolProviders.create', level: 'ADMIN' },
    { permission: 'iam.googleapis.com/workloadIdentityPools.get', level: 'READ' },
    { permission: 'newservice.widgets.frobnicate', level: 'WRITE' },
  ])('classifies $permission as $level', ({ permission, level }) => {
    const c = classifyGcpPermission(permission);
    expect(c.level).toBe(level);
    expect(c.levelReason.length).toBeGreaterThan(10);
    expect(c.accessLevels).toHaveLength(1);
  });

  it('raises the sensitivity of secret and data reads', () => {
    expect(classifyGcpPermission('secretmanager.versions.access').sensitivity).toBe(9);
    expect(classifyGcpPermission('storage.objects.get').sensitivity).toBeGreaterThanOrEqual(7);
    expect(classifyGcpPermission('compute.zones.list').sensitivity).toBe(1);
  });

  it('treats reads as Data Access (data-event) and changes as Admin Activity (management)', () => {
    expect(classifyGcpPermission('storage.objects.get').observable).toBe('data-event');
    expect(classifyGcpPermission('compute.instances.create').observable).toBe('management');
  });

  it('rejects names that are not permissions', () => {
    expect(isGcpPermission('storage.get')).toBe(false);
    expect(isGcpPermission('s3:GetObject')).toBe(false);
    expect(() => classifyGcpPermission('roles/viewer')).toThrow(UsageError);
  });

  it('marks every rule exception made for roles/viewer as such, with its reason', () => {
    const exceptions = gcpRules().permissionRules.filter((r) => r.category === 'viewer-exception');
    expect(exceptions.length).toBeGreaterThan(0);
    for (const e of exceptions) {
      expect(e.level).toBe('READ');
      expect(e.reason).toMatch(/^Exception \(in roles\/viewer\): .{10,}/);
    }
  });
});

describe.skipIf(!HAS_REALDATA)('GCP classification on the real predefined roles', () => {
  const roles = HAS_REALDATA
    ? readJsonLinesGz<GcpRoleLine>('gcp', 'predefined-roles.jsonl.gz')
    : [];
  const byName = new Map(roles.map((r) => [r.name, r]));
  const permissionsOf = (role: string) => byName.get(role)?.includedPermissions ?? [];

  it('gives every one of the 13,790 permissions a level', () => {
    const all = new Set(roles.flatMap((r) => r.includedPermissions ?? []));
    expect(all.size).toBe(13_790);
    const unclassified = [...all].filter((p) => {
      try {
        return classifyGcpPermission(p).level === undefined;
      } catch {
        return true;
      }
    });
    expect(unclassified).toEqual([]);
  });

  it('keeps roles/viewer at READ or below', () => {
    const viewer = permissionsOf('roles/viewer');
    expect(viewer.length).toBeGreaterThan(1000);
    const above = viewer.filter(
      (p) => levelRank(classifyGcpPermission(p).level) > levelRank('READ'),
    );
    expect(above).toEqual([]);
  });

  it.each(['roles/owner', 'roles/iam.serviceAccountTokenCreator'])(
    'finds ADMIN permissions in %s',
    (role) => {
      const admin = permissionsOf(role).filter((p) => classifyGcpPermission(p).level === 'ADMIN');
      expect(admin.length).toBeGreaterThan(0);
    },
  );

  it('finds the token-minting permissions of roles/iam.serviceAccountTokenCreator at ADMIN', () => {
    const admin = permissionsOf('roles/iam.serviceAccountTokenCreator').filter(
      (p) => classifyGcpPermission(p).level === 'ADMIN',
    );
    expect(admin).toEqual(
      expect.arrayContaining(['iam.serviceAccounts.getAccessToken', 'iam.serviceAccounts.signJwt']),
    );
  });
});
