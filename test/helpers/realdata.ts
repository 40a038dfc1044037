import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { REALDATA } from './db.ts';

/** Whether the shared real-world samples are present (tests skip with a message when not). */
export const HAS_REALDATA = existsSync(REALDATA);

export function realdataPath(...parts: string[]): string {
  return join(REALDATA, ...parts);
}

/** Lines of a gzipped JSON-lines file under realdata, parsed. */
export function readJsonLinesGz<T>(...parts: string[]): T[] {
  const text = gunzipSync(readFileSync(realdataPath(...parts))).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as T);
}

export interface ManagedPolicyLine {
  name: string;
  arn: string;
  version: string;
  deprecated: boolean;
  document: unknown;
}

export interface GcpRoleLine {
  name: string;
  title: string;
  includedPermissions?: string[];
}

/** Every CloudTrail file under realdata/aws/cloudtrail/ (stratus-red-team and trailscraper). */
export function cloudTrailFiles(): string[] {
  const base = realdataPath('aws', 'cloudtrail');
  return readdirSync(base).flatMap((dir) =>
    readdirSync(join(base, dir))
      .filter((f) => f.endsWith('.json') || f.endsWith('.json.gz'))
      .map((f) => join(base, dir, f)),
  );
}
