import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Db } from '../../model/db.ts';
import { readAwsIamData } from '../../scoring/catalog/iam-data.ts';
import { parsePolicyDocument } from '../../scoring/policy/parse.ts';
import { matchesWildcard } from '../../scoring/policy/wildcard.ts';
import { seedWorld } from '../api/world.ts';
import { tempDir } from '../helpers/db.ts';

/**
 * docs/operations.md cannot drift from the code: its AWS policies allow every SDK command that
 * ingest/ and recommend/ import, its GCP roles hold the permission of every API method they
 * call, and its backup procedures restore a database that opens with the same counts.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');

const blocks = [...DOC.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);

function sources(...dirs: string[]): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts'))
        out.push({ file: relative(ROOT, p), text: readFileSync(p, 'utf8') });
    }
  };
  for (const d of dirs) walk(join(ROOT, d));
  return out;
}

const CODE = sources('ingest', 'recommend');

// --- AWS ---------------------------------------------------------------------------------------

/** The IAM service prefix of each AWS SDK client package the code may import. */
const CLIENT_PREFIX: Record<string, string> = {
  sts: 'sts',
  iam: 'iam',
  organizations: 'organizations',
  cloudtrail: 'cloudtrail',
  s3: 's3',
  athena: 'athena',
};
/** SDK operations whose IAM action has another name. */
const ACTION_OF_OPERATION: Record<string, string> = {
  's3:ListObjectsV2': 's3:ListBucket',
  's3:ListObjects': 's3:ListBucket',
  's3:HeadObject': 's3:GetObject',
  's3:HeadBucket': 's3:ListBucket',
};

interface SdkCommand {
  action: string;
  command: string;
  file: string;
}

function sdkCommands(): SdkCommand[] {
  const out: SdkCommand[] = [];
  for (const { file, text } of CODE) {
    for (const m of text.matchAll(
      /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g,
    )) {
      const client = m[2]!;
      const prefix = CLIENT_PREFIX[client];
      if (!prefix)
        throw new Error(`${file} imports @aws-sdk/client-${client}: add its prefix above`);
      for (const raw of m[1]!.split(',')) {
        const name = raw.trim();
        if (!name || name.startsWith('type ')) continue;
        const command = name.split(/\s+as\s+/)[0]!;
        if (!command.endsWith('Command')) continue;
        const operation = `${prefix}:${command.slice(0, -'Command'.length)}`;
        out.push({ action: ACTION_OF_OPERATION[operation] ?? operation, command, file });
      }
    }
  }
  return out;
}

interface Statement {
  Effect: string;
  Action?: string | string[];
}

const awsPolicies = blocks
  .map(
    (b) => JSON.parse(b) as { Statement?: Statement[] | Statement; includedPermissions?: string[] },
  )
  .filter((p) => p.Statement !== undefined);

function allowedActions(): string[] {
  return awsPolicies.flatMap((p) =>
    (Array.isArray(p.Statement) ? p.Statement : [p.Statement!])
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => (Array.isArray(s.Action) ? s.Action : s.Action ? [s.Action] : [])),
  );
}

describe('docs/operations.md: AWS permissions', () => {
  it('has only valid JSON blocks, and its AWS policies pass the policy parser', () => {
    expect(blocks.length).toBeGreaterThan(6);
    expect(awsPolicies.length).toBeGreaterThan(5);
    for (const p of awsPolicies) expect(() => parsePolicyDocument(p)).not.toThrow();
  });

  it('allows every AWS SDK command ingest/ and recommend/ import', () => {
    const commands = sdkCommands();
    // The scan sees the code: the commands every ingestion and remediation needs are there.
    expect(commands.map((c) => c.command)).toEqual(
      expect.arrayContaining([
        'AssumeRoleCommand',
        'GetAccountAuthorizationDetailsCommand',
        'GetObjectCommand',
        'PutUserPermissionsBoundaryCommand',
        'DeleteUserCommand',
      ]),
    );
    const allowed = allowedActions();
    const missing = commands.filter((c) => !allowed.some((a) => matchesWildcard(a, c.action)));
    expect(
      missing.map((c) => `${c.action} (${c.command} in ${c.file})`),
      'add these actions to a policy in docs/operations.md',
    ).toEqual([]);
  });

  it('names only actions that exist, and maps every SDK command to a real action', () => {
    const catalog = readAwsIamData().actions.map((a) => a.action);
    const known = new Set(catalog.map((a) => a.toLowerCase()));
    for (const action of allowedActions())
      expect(
        catalog.some((c) => matchesWildcard(action, c)),
        `${action} in the IAM catalog`,
      ).toBe(true);
    for (const c of sdkCommands())
      expect(known.has(c.action.toLowerCase()), `${c.action} (${c.command})`).toBe(true);
  });
});

// --- GCP ---------------------------------------------------------------------------------------

/**
 * Every GCP API method the code calls, with the permission it needs (none: predefined role
 * reads; Cloud Identity: the Groups Reader admin role, not an IAM permission).
 */
const GCP_METHOD_PERMISSIONS: Record<string, string[]> = {
  'organizations.get': ['resourcemanager.organizations.get'],
  'organizations.getIamPolicy': ['resourcemanager.organizations.getIamPolicy'],
  'folders.list': ['resourcemanager.folders.list'],
  'folders.getIamPolicy': ['resourcemanager.folders.getIamPolicy'],
  'projects.list': ['resourcemanager.projects.list'],
  'projects.get': ['resourcemanager.projects.get'],
  'projects.getIamPolicy': ['resourcemanager.projects.getIamPolicy'],
  'organizations.roles.list': ['iam.roles.list'],
  'projects.roles.list': ['iam.roles.list'],
  'roles.get': [],
  'projects.serviceAccounts.list': ['iam.serviceAccounts.list'],
  'projects.serviceAccounts.keys.list': ['iam.serviceAccountKeys.list'],
  'projects.serviceAccounts.get': ['iam.serviceAccounts.get'],
  'projects.serviceAccounts.disable': ['iam.serviceAccounts.disable'],
  'projects.serviceAccounts.enable': ['iam.serviceAccounts.enable'],
  'groups.list': [],
  'groups.lookup': [],
  'groups.memberships.searchTransitiveMemberships': [],
  // @google-cloud/bigquery client methods
  getDatasets: ['bigquery.datasets.get'],
  getTables: ['bigquery.tables.list'],
  getMetadata: ['bigquery.tables.get', 'bigquery.datasets.get'],
  createQueryJob: ['bigquery.jobs.create'],
  getQueryResults: ['bigquery.tables.getData'],
};

/** Calls on a local array or map named like an API collection, not API methods. */
const NOT_API = new Set([
  'map',
  'push',
  'sort',
  'keys',
  'values',
  'find',
  'filter',
  'forEach',
  'some',
  'every',
  'includes',
  'entries',
  'set',
  'has',
  'length',
]);

function gcpMethods(): Array<{ method: string; file: string }> {
  const out: Array<{ method: string; file: string }> = [];
  const gcpCode = CODE.filter((c) =>
    /googleapis|@google-cloud\/bigquery|GcpClients|gcp/.test(c.file + c.text.slice(0, 2000)),
  );
  for (const { file, text } of gcpCode) {
    for (const m of text.matchAll(
      /\b((?:organizations|folders|projects|roles|groups)(?:\.[a-zA-Z]+)+)\(/g,
    )) {
      const method = m[1]!;
      if (NOT_API.has(method.split('.').at(-1)!)) continue;
      out.push({ method, file });
    }
    for (const m of text.matchAll(
      /\.(getDatasets|getTables|getMetadata|createQueryJob|getQueryResults|createJob|query|getRows)\(/g,
    ))
      out.push({ method: m[1]!, file });
  }
  return out;
}

describe('docs/operations.md: GCP permissions', () => {
  it('maps every GCP API method the code calls to a permission a documented role holds', () => {
    const methods = gcpMethods();
    expect(methods.map((m) => m.method)).toEqual(
      expect.arrayContaining([
        'projects.getIamPolicy',
        'createQueryJob',
        'projects.serviceAccounts.disable',
      ]),
    );
    const unmapped = methods.filter((m) => !(m.method in GCP_METHOD_PERMISSIONS));
    expect(
      unmapped.map((m) => `${m.method} (${m.file})`),
      'add these methods to GCP_METHOD_PERMISSIONS and their permissions to docs/operations.md',
    ).toEqual([]);
    const documented = new Set(
      blocks
        .map((b) => JSON.parse(b) as { includedPermissions?: string[] })
        .flatMap((p) => p.includedPermissions ?? []),
    );
    const needed = new Set(methods.flatMap((m) => GCP_METHOD_PERMISSIONS[m.method] ?? []));
    expect([...needed].filter((p) => !documented.has(p))).toEqual([]);
    // Nothing documented that no call needs.
    expect([...documented].filter((p) => !needed.has(p))).toEqual([]);
  });
});

// --- backups -----------------------------------------------------------------------------------

const stage = tempDir('ad-ops-doc-');
afterAll(() => stage.cleanup());

const TABLES = ['assessment', 'principal', 'policy', 'usage_daily', 'recommendation', 'api_token'];

async function counts(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) out[t] = Number(await db.scalar(`SELECT count(*) FROM ${t}`));
  return out;
}

describe('docs/operations.md: backups', () => {
  it('restores from a copy taken after a clean stop, and from EXPORT DATABASE / IMPORT DATABASE', async () => {
    const file = join(stage.dir, 'live.duckdb');
    const db = await Db.open(file);
    await seedWorld(db);
    const before = await counts(db);
    expect(before.principal).toBeGreaterThan(10);
    await db.exec(`CHECKPOINT; EXPORT DATABASE '${join(stage.dir, 'export')}' (FORMAT parquet)`);
    db.closeAll();
    // A clean close leaves no write-ahead log: the file alone is the whole database.
    expect(existsSync(`${file}.wal`)).toBe(false);

    const copy = join(stage.dir, 'copy.duckdb');
    copyFileSync(file, copy);
    const fromCopy = await Db.open(copy);
    try {
      expect(await counts(fromCopy)).toEqual(before);
    } finally {
      fromCopy.closeAll();
    }

    const restored = join(stage.dir, 'restored.duckdb');
    const imported = await Db.open(restored, { migrate: false });
    await imported.exec(`IMPORT DATABASE '${join(stage.dir, 'export')}'`);
    imported.closeAll();
    // Opening it the usual way finds it at the current schema version: nothing to migrate.
    const reopened = await Db.open(restored);
    try {
      expect(await counts(reopened)).toEqual(before);
    } finally {
      reopened.closeAll();
    }
  });
});
