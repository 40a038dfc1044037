import { afterAll, describe, expect, it } from 'vitest';
import { startServer, threadSwitch } from '../../api/server.ts';
import { Db } from '../../model/db.ts';
import { tempDir } from '../helpers/db.ts';
import { testConfig } from './helpers.ts';

const stage = tempDir('ad-duckdb-settings-');
afterAll(() => stage.cleanup());

async function settingsOf(db: Db): Promise<{ memory: string; threads: number }> {
  const row = await db.one(
    "SELECT current_setting('memory_limit') AS memory, current_setting('threads') AS threads",
  );
  return { memory: String(row!.memory), threads: Number(row!.threads) };
}

describe('DuckDB limits of the API server', () => {
  it('caps memory at 8GB by default instead of DuckDB’s 80% of the machine', async () => {
    const server = await startServer({
      config: testConfig(),
      databasePath: `${stage.dir}/default.duckdb`,
      port: 0,
      schedule: false,
      logger: false,
    });
    try {
      // DuckDB shows 8GB (8·1000³ bytes) in binary units.
      expect((await settingsOf(server.db)).memory).toBe('7.4 GiB');
    } finally {
      await server.close();
    }
  });

  it('applies server.duckdb.memoryLimit and threads from the config, also to a database opened by the caller', async () => {
    const db = await Db.open(`${stage.dir}/given.duckdb`);
    const before = await settingsOf(db);
    const server = await startServer({
      config: testConfig({ server: { duckdb: { memoryLimit: '512MiB', threads: 1 } } }),
      databasePath: db.path,
      db,
      port: 0,
      schedule: false,
      logger: false,
    });
    try {
      expect(before.memory).not.toBe('512.0 MiB');
      expect(await settingsOf(server.db)).toEqual({ memory: '512.0 MiB', threads: 1 });
    } finally {
      await server.close();
    }
  });

  it('answers reads on readThreads (default 1) while idle and uses threads while an assessment runs', async () => {
    const server = await startServer({
      config: testConfig({ server: { duckdb: { threads: 2 } } }),
      databasePath: `${stage.dir}/idle.duckdb`,
      port: 0,
      schedule: false,
      logger: false,
    });
    try {
      expect((await settingsOf(server.db)).threads).toBe(1);
      // The switch the run coordinator calls with the number of runs in flight.
      const switchThreads = threadSwitch(server.db, { threads: 2, readThreads: 1 });
      await switchThreads(1);
      expect((await settingsOf(server.db)).threads).toBe(2);
      await switchThreads(2);
      expect((await settingsOf(server.db)).threads).toBe(2);
      await switchThreads(0);
      expect((await settingsOf(server.db)).threads).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('refuses readThreads outside 1..256 in the config', () => {
    expect(() => testConfig({ server: { duckdb: { readThreads: 0 } } })).toThrow(/readThreads/);
  });
});
