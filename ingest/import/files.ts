import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { IngestError } from '../../lib/errors.ts';

/**
 * Files an `import` integration reads: `get-account-authorization-details` exports and
 * CloudTrail files (`.json` or `.json.gz`, `{"Records": [...]}` objects or bare arrays).
 * Classified from their first bytes, so CloudTrail files are never parsed in JS.
 */

export type ImportFileKind = 'authorization-details' | 'cloudtrail-records' | 'cloudtrail-array';

export interface ImportFile {
  path: string;
  /** Path relative to the import directory: the ledger key. */
  key: string;
  kind: ImportFileKind;
  sizeBytes: number;
  etag: string;
}

export interface UnknownFile {
  path: string;
  key: string;
  error: string;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full));
    else if (entry.isFile() && /\.json(\.gz)?$/i.test(entry.name)) out.push(full);
  }
  return out.sort();
}

function head(path: string, bytes = 4096): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function gzHead(path: string): string {
  // Decompress only a prefix: enough to see the wrapper key.
  const raw = readFileSync(path);
  try {
    return gunzipSync(raw, { finishFlush: 2 }).subarray(0, 4096).toString('utf8');
  } catch (err) {
    throw new IngestError(`not a readable gzip file: ${(err as Error).message}`);
  }
}

export function classifyImportFiles(directory: string): {
  files: ImportFile[];
  unknown: UnknownFile[];
} {
  let paths: string[];
  try {
    paths = walk(directory);
  } catch (err) {
    throw new IngestError(`cannot read import directory ${directory}: ${(err as Error).message}`);
  }
  const files: ImportFile[] = [];
  const unknown: UnknownFile[] = [];
  for (const path of paths) {
    const key = relative(directory, path);
    const content = readFileSync(path);
    const etag = createHash('md5').update(content).digest('hex');
    const sizeBytes = statSync(path).size;
    let start: string;
    try {
      start = path.endsWith('.gz') ? gzHead(path) : head(path);
    } catch (err) {
      // A damaged gzip is still a CloudTrail object: the ledger records it as rejected.
      files.push({ path, key, kind: 'cloudtrail-records', sizeBytes, etag });
      void err;
      continue;
    }
    const trimmed = start.trimStart();
    if (trimmed.startsWith('['))
      files.push({ path, key, kind: 'cloudtrail-array', sizeBytes, etag });
    else if (/^\{\s*"Records"\s*:/.test(trimmed))
      files.push({ path, key, kind: 'cloudtrail-records', sizeBytes, etag });
    else if (/"(UserDetailList|RoleDetailList|GroupDetailList|Policies)"\s*:/.test(start)) {
      files.push({ path, key, kind: 'authorization-details', sizeBytes, etag });
    } else {
      unknown.push({
        path,
        key,
        error: 'neither CloudTrail records nor get-account-authorization-details output',
      });
    }
  }
  return { files, unknown };
}
