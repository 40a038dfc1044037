import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeTables, renderTablesMarkdown } from '../../model/tables.ts';
import { memoryDb } from '../helpers/db.ts';

it('docs/tables.md matches the schema descriptions (regenerate with `docs tables`)', async () => {
  const db = await memoryDb();
  try {
    const expected = renderTablesMarkdown(await describeTables(db));
    const actual = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'tables.md'), 'utf8');
    expect(actual).toBe(expected);
  } finally {
    db.closeAll();
  }
});
