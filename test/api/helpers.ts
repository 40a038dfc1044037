import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { type BuildAppOptions, buildApp } from '../../api/app.ts';
import { createToken, type Role } from '../../api/auth/tokens.ts';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import type { Db } from '../../model/db.ts';
import { memoryDb } from '../helpers/db.ts';

export const TEST_CONFIG_INPUT = {
  integrations: [
    {
      kind: 'aws-account',
      id: 'prod',
      name: 'Production',
      owner: 'secops@example.com',
      roleArn: 'arn:aws:iam::111111111111:role/AccessDiscoveryReadOnly',
      trail: { bucket: 'org-trail-bucket' },
    },
    { kind: 'gcp-project', id: 'gcp', projectId: 'fx-project-01' },
  ],
  server: { rateLimitPerMinute: 100_000 },
};

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  return parseConfig({ ...TEST_CONFIG_INPUT, ...overrides }, 'test config');
}

export interface TestApp {
  app: FastifyInstance;
  db: Db;
  tokens: Record<Role, string>;
  /** app.inject with a role's token (or none) and JSON handling. */
  call: (
    role: Role | null,
    method: 'GET' | 'HEAD' | 'POST' | 'DELETE' | 'PUT' | 'PATCH' | 'OPTIONS',
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<LightMyRequestResponse>;
  close: () => Promise<void>;
}

/** A real app on a real (in-memory) DuckDB with one token per role. */
export async function buildTestApp(
  options: Partial<BuildAppOptions> & { seed?: (db: Db) => Promise<void> } = {},
): Promise<TestApp> {
  const db = options.db ?? (await memoryDb());
  if (options.seed) await options.seed(db);
  const tokens = {} as Record<Role, string>;
  for (const role of ['admin', 'analyst', 'auditor'] as Role[]) {
    tokens[role] = (
      await createToken(db, { name: `${role}-token`, role, createdBy: 'test' })
    ).token;
  }
  const app = await buildApp({ config: testConfig(), ...options, db });
  await app.ready();
  const call: TestApp['call'] = (role, method, url, body, headers = {}) =>
    app.inject({
      method,
      url,
      headers: {
        ...(role ? { authorization: `Bearer ${tokens[role]}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined
        ? { payload: typeof body === 'string' ? body : JSON.stringify(body) }
        : {}),
    });
  return {
    app,
    db,
    tokens,
    call,
    close: async () => {
      await app.close();
      db.closeAll();
    },
  };
}

export function enc(id: string): string {
  return encodeURIComponent(id);
}
