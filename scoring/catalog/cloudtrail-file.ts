import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { IngestError } from '../../lib/errors.ts';

/**
 * Reads CloudTrail records from a file as the CLI and tests meet them: a `{"Records": [...]}`
 * object (S3 delivery), a bare JSON array (console export, stratus-red-team), either gzipped.
 * Ingestion proper never holds events as JS objects; this is for people and checks.
 */

export interface TrailRecord {
  eventSource: string;
  eventName: string;
  eventType?: string;
  versionId: boolean;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value;
}

export function readCloudTrailFile(path: string): TrailRecord[] {
  let text: string;
  try {
    const bytes = readFileSync(path);
    const gzipped = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
    text = (gzipped ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (err) {
    throw new IngestError(
      `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
      { path },
      { cause: err },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new IngestError(
      `${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
      { path },
      { cause: err },
    );
  }
  const records = Array.isArray(json)
    ? json
    : typeof json === 'object' && json !== null && 'Records' in json
      ? (json as { Records: unknown }).Records
      : undefined;
  if (!Array.isArray(records)) {
    throw new IngestError(
      `${path} holds ${describe(json)}, not a CloudTrail Records object or array of records`,
      { path },
    );
  }
  return records.map((raw, i) => {
    if (typeof raw !== 'object' || raw === null) {
      throw new IngestError(`${path}: record ${i} is ${describe(raw)}, not an object`, {
        path,
        index: i,
      });
    }
    const r = raw as Record<string, unknown>;
    const params = r.requestParameters;
    const versionId =
      typeof params === 'object' &&
      params !== null &&
      typeof (params as { versionId?: unknown }).versionId === 'string';
    return {
      eventSource: typeof r.eventSource === 'string' ? r.eventSource : '',
      eventName: typeof r.eventName === 'string' ? r.eventName : '',
      ...(typeof r.eventType === 'string' ? { eventType: r.eventType } : {}),
      versionId,
    };
  });
}
