import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../lib/errors.ts';
import type { Db } from '../../../model/db.ts';
import { getAwsCatalog } from '../../../scoring/catalog/aws.ts';
import { ensureGcpPermissions, loadActionCatalog } from '../../../scoring/catalog/load.ts';
import { memoryDb } from '../../helpers/db.ts';
import { type GcpRoleLine, HAS_REALDATA, readJsonLinesGz } from '../../helpers/realdata.ts';

describe('loading the action catalog into DuckDB', () => {
  let db: Db | undefined;
  afterEach(() => {
    db?.closeAll();
    db = undefined;
  });

  it('writes every AWS action once, with level, rank, sensitivity, observability and version', async () => {
    db = await memoryDb();
    const result = await loadActionCatalog(db);
    expect(result.aws).toBe(getAwsCatalog().size);
    expect(result.gcp).toBe(0);
    const row = await db.one(
      `SELECT action, action_lower, service, access_levels, privilege_level, level_rank, sensitivity,
              resource_types, resource_scopeable, observable, level_reason, data_version
       FROM action_catalog WHERE cloud = 'aws' AND action_lower = $a`,
      { a: 'iam:putuserpolicy' },
    );
    expect(row).toMatchObject({
      action: 'iam:PutUserPolicy',
      service: 'iam',
      access_levels: ['Permissions management', 'Write'],
      privilege_level: 'ADMIN',
      level_rank: 5,
      resource_types: ['user'],
      resource_scopeable: true,
      observable: 'management',
      data_version: result.dataVersion,
    });
    expect(
      await db.scalar(
        "SELECT count(*) FROM action_catalog WHERE action = 'iam:PassRole' AND observable = 'never'",
      ),
    ).toBe(1);
  });

  it('is idempotent and keeps (re-classified) GCP permissions across reloads', async () => {
    db = await memoryDb();
    await loadActionCatalog(db);
    await ensureGcpPermissions(db, [
      'storage.objects.get',
      'iam.serviceAccounts.actAs',
      'storage.objects.get',
    ]);
    await ensureGcpPermissions(db, ['storage.objects.get']);
    const again = await loadActionCatalog(db);
    expect(again.gcp).toBe(2);
    const counts = await db.all<{ cloud: string; n: number }>(
      'SELECT cloud, count(*)::INTEGER AS n FROM action_catalog GROUP BY cloud ORDER BY cloud',
    );
    expect(counts).toEqual([
      { cloud: 'aws', n: getAwsCatalog().size },
      { cloud: 'gcp', n: 2 },
    ]);
    const actAs = await db.one(
      "SELECT privilege_level, observable FROM action_catalog WHERE action = 'iam.serviceAccounts.actAs'",
    );
    expect(actAs).toEqual({ privilege_level: 'ADMIN', observable: 'management' });
  });

  it('refuses names that are not GCP permissions and writes nothing', async () => {
    db = await memoryDb();
    await expect(ensureGcpPermissions(db, ['storage.objects.get', 's3:GetObject'])).rejects.toThrow(
      UsageError,
    );
    expect(await db.scalar("SELECT count(*) FROM action_catalog WHERE cloud = 'gcp'")).toBe(0);
  });

  it.skipIf(!HAS_REALDATA)(
    'classifies and stores every permission of the real predefined roles',
    async () => {
      db = await memoryDb();
      const roles = readJsonLinesGz<GcpRoleLine>('gcp', 'predefined-roles.jsonl.gz');
      const permissions = roles.flatMap((r) => r.includedPermissions ?? []);
      await ensureGcpPermissions(db, permissions);
      const levels = await db.all<{ privilege_level: string; n: number }>(
        "SELECT privilege_level, count(*)::INTEGER AS n FROM action_catalog WHERE cloud = 'gcp' GROUP BY ALL",
      );
      expect(levels.reduce((s, r) => s + r.n, 0)).toBe(13_790);
      expect(levels.map((r) => r.privilege_level).sort()).toEqual([
        'ADMIN',
        'IAM',
        'LIST',
        'READ',
        'TAGGING',
        'WRITE',
      ]);
    },
  );
});
