import { describe, expect, it } from 'vitest';
import { memoryDb } from '../helpers/db.ts';

describe('Db', () => {
  it('serialises concurrent transactions on one connection instead of interleaving them', async () => {
    const db = await memoryDb();
    try {
      await db.exec('CREATE TABLE t (id INTEGER, step INTEGER)');
      const order: string[] = [];
      const work = (id: number) =>
        db.transaction(async (tx) => {
          order.push(`begin ${id}`);
          await tx.exec('INSERT INTO t VALUES ($id, 1)', { id });
          await new Promise((r) => setTimeout(r, 5));
          await tx.exec('INSERT INTO t VALUES ($id, 2)', { id });
          order.push(`end ${id}`);
        });
      await Promise.all([work(1), work(2), db.exec('INSERT INTO t VALUES (3, 1)')]);
      expect(order).toEqual(['begin 1', 'end 1', 'begin 2', 'end 2']);
      expect(await db.scalar('SELECT count(*) FROM t')).toBe(5);
    } finally {
      db.closeAll();
    }
  });

  it('rolls back everything a failed transaction wrote', async () => {
    const db = await memoryDb();
    try {
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
      await expect(
        db.transaction(async (tx) => {
          await tx.exec('INSERT INTO t VALUES (1)');
          await tx.exec('INSERT INTO t VALUES (1)');
        }),
      ).rejects.toThrow(/Duplicate key|PRIMARY KEY|constraint/i);
      expect(await db.scalar('SELECT count(*) FROM t')).toBe(0);
      await db.exec('INSERT INTO t VALUES (2)');
      expect(await db.scalar('SELECT count(*) FROM t')).toBe(1);
    } finally {
      db.closeAll();
    }
  });

  it('returns BIGINT as numbers, dates as ISO days and timestamps as ISO strings', async () => {
    const db = await memoryDb();
    try {
      const row = await db.one(
        "SELECT 42::BIGINT AS n, DATE '2026-11-20' AS d, TIMESTAMPTZ '2026-11-20 10:00:00+00' AS ts, [1, 2]::BIGINT[] AS l",
      );
      expect(row).toEqual({ n: 42, d: '2026-11-20', ts: '2026-11-20T10:00:00.000Z', l: [1, 2] });
    } finally {
      db.closeAll();
    }
  });
});
