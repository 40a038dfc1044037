import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillSql, loadSql } from '../../api/sql.ts';
import type { Db } from '../../model/db.ts';
import { memoryDb } from '../helpers/db.ts';
import { CURRENT, IGNORED_ID, seedWorld } from './world.ts';

interface PlanNode {
  name?: string;
  extra_info?: Record<string, unknown>;
  children?: PlanNode[];
}

/** Every table scan of the query as run (EXPLAIN ANALYZE: the index choice is made then), as "table: type". */
async function scans(db: Db, sql: string, params: Record<string, string>): Promise<string[]> {
  const rows = await db.all(`EXPLAIN (ANALYZE, FORMAT json) ${sql}`, params);
  const plan = JSON.parse(String(rows[0]!.explain_value)) as PlanNode | PlanNode[];
  const found: string[] = [];
  const walk = (node: PlanNode) => {
    if (node.extra_info?.Table) {
      const table = String(node.extra_info.Table).split('.').pop()!.replaceAll('"', '');
      found.push(`${table}: ${String(node.extra_info.Type)}`);
    }
    for (const child of node.children ?? []) walk(child);
  };
  for (const node of Array.isArray(plan) ? plan : [plan]) walk(node);
  return found;
}

let db: Db;

beforeAll(async () => {
  db = await memoryDb();
  await seedWorld(db);
});

afterAll(() => db.closeAll());

describe('reading one principal', () => {
  it('finds the principal and its score through the principal_id indexes, not by a scan', async () => {
    const sql = fillSql(loadSql('principal-detail'), { scope: '$scope_0' });
    const found = await scans(db, sql, { scope_0: CURRENT, principal_id: IGNORED_ID });
    expect(found).toContain('principal: Index Scan');
    expect(found).toContain('principal_score: Index Scan');
  });

  it('finds the attached policies through the principal_policy index', async () => {
    const found = await scans(db, loadSql('used-for'), {
      assessment_id: CURRENT,
      principal_id: IGNORED_ID,
    });
    expect(found).toContain('principal_policy: Index Scan');
  });
});
