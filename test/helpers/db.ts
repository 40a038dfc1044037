import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../../model/db.ts';

/** A real, migrated in-memory DuckDB for one test. */
export async function memoryDb(): Promise<Db> {
  return Db.open(':memory:');
}

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix = 'ad-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Path of the shared real-world samples, or undefined when the folder is absent. */
export const REALDATA = join(import.meta.dirname, '..', '..', '..', 'shared', 'realdata');
