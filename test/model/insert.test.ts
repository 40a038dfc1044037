import { describe, expect, it } from 'vitest';
import { insertRows } from '../../model/insert.ts';
import { memoryDb } from '../helpers/db.ts';

describe('insertRows', () => {
  it('appends rows of every column type and reads them back', async () => {
    const db = await memoryDb();
    try {
      await insertRows(db, 'account', [
        {
          assessment_id: 'a1',
          account_id: '100000000002',
          integration_id: 'org',
          cloud: 'aws',
          name: 'prod',
          parent_path: ['r-ab12', 'ou-ab12-11111111'],
          status: 'ACTIVE',
          tags: { env: 'prod' },
          risk_level: 'high',
          risk_source: 'tag',
          inventory_status: 'ok',
          inventory_error: null,
        },
      ]);
      await insertRows(db, 'log_coverage', [
        {
          integration_id: 'org',
          account_id: '100000000002',
          region: 'us-east-1',
          day: '2026-11-20',
          source: 'import',
          data_events: true,
          records: 12,
        },
      ]);
      expect(
        await db.one('SELECT parent_path, tags->>$k AS env FROM account', { k: '$.env' }),
      ).toEqual({
        parent_path: ['r-ab12', 'ou-ab12-11111111'],
        env: 'prod',
      });
      expect(await db.one('SELECT day, records FROM log_coverage')).toEqual({
        day: '2026-11-20',
        records: 12,
      });
    } finally {
      db.closeAll();
    }
  });

  it('refuses a null in a NOT NULL column with the column named', async () => {
    const db = await memoryDb();
    try {
      await expect(
        insertRows(db, 'integration', [{ integration_id: 'x', kind: null }]),
      ).rejects.toThrow('integration.kind must not be null');
    } finally {
      db.closeAll();
    }
  });
});
