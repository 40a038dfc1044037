import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetUserCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../cli/main.ts';
import { type FixtureCloud, startFixtureCloud } from '../../fixtures/cloud/index.ts';
import { runAssessment } from '../../ingest/assessment.ts';
import { syncFor } from '../../ingest/registry.ts';
import { silentLogger } from '../../lib/log.ts';
import { Db } from '../../model/db.ts';
import { recommendationStage } from '../../recommend/index.ts';
import { mapCloudTrailEvent } from '../../scoring/catalog/index.ts';
import { ACCESS_KEY_ID, type BuiltWorld, PROD, SECRET } from '../fixtures/cloud/world-builder.ts';
import { tempDir } from '../helpers/db.ts';
import {
  applyConfig,
  buildApplyWorld,
  DEV_BOUNDARY,
  remediationRole,
  remediationSession,
} from './aws-world.ts';

/**
 * The recommendations, remediate and rollback commands, run in-process on a database produced by
 * a real assessment of the fixture cloud.
 */

let world: BuiltWorld;
let cloud: FixtureCloud;
let configFile: string;
const dir = tempDir('ad-rec-cli-');
const DAN = `arn:aws:iam::${PROD}:user/dan`;

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  const program = buildProgram();
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['--config', configFile, '--quiet', ...args], { from: 'user' });
    return { code: 0, stdout };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  world = buildApplyWorld();
  cloud = await startFixtureCloud({ dir: world.dir });
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
  const config = applyConfig(cloud.url);
  const dbFile = join(dir.dir, 'ad.duckdb');
  configFile = join(dir.dir, 'access-discovery.json');
  writeFileSync(configFile, JSON.stringify({ ...config, database: dbFile }));
  const db = await Db.open(dbFile);
  try {
    await runAssessment({
      db,
      config,
      integrationId: 'fixture-org',
      trigger: 'cli',
      logger: silentLogger,
      sync: syncFor({
        mapper: (s, n) => mapCloudTrailEvent(s, n),
        stageDir: join(dir.dir, 'stage'),
      }),
      stages: [recommendationStage()],
      asOf: world.manifest.endDate,
    });
  } finally {
    db.closeAll();
  }
});

afterAll(async () => {
  await cloud?.close();
  world?.cleanup();
  dir.cleanup();
});

describe('recommendation commands', () => {
  it('lists open recommendations, ranked, with owners and applicable options marked', async () => {
    const { stdout } = await cli(['recommendations']);
    const header = stdout.split('\n')[0]!;
    expect(header).toMatch(
      /^ID\s+SEVERITY\s+RANK\s+RECOMMENDATION\s+PRINCIPAL\s+POLICY\s+OWNER\s+STATE\s+OPTIONS$/,
    );
    const dan = stdout
      .split('\n')
      .find((l) => l.includes('user/dan') && l.includes('Dormant Principal Detected'));
    expect(dan).toMatch(/critical\s+1\s+Dormant Principal Detected/);
    expect(dan).toMatch(/data-team/);
    expect(dan).toMatch(/quarantine\*,delete/);
  });

  it('shows a principal in full and writes its artifacts', async () => {
    const out = join(dir.dir, 'artifacts');
    const { stdout } = await cli(['recommendations', DAN, '--out', out]);
    expect(stdout).toContain('Dormant Principal Detected  [critical]  open #1');
    expect(stdout).toContain('owner:     data-team (tag)');
    expect(stdout).toMatch(
      /option quarantine: Quarantine Principal \(can be applied: remediate --apply\)/,
    );
    expect(stdout).toMatch(/proof: pass, \d+ used actions checked/);
    const id = /^(rec_[0-9a-f]+)\s+Dormant/m.exec(stdout)![1]!;
    const script = readFileSync(join(out, id, 'delete', 'delete-user.sh'), 'utf8');
    expect(script).toContain("aws iam delete-user --user-name 'dan'");
    expect(existsSync(join(out, id, 'quarantine', 'AccessDiscoveryQuarantine.json'))).toBe(true);
    const quarantine = readFileSync(join(out, id, 'quarantine', 'quarantine-user.sh'), 'utf8');
    expect(quarantine).toContain('--policy-document "file://$here/AccessDiscoveryQuarantine.json"');
  });

  it('previews by default, applies with --apply, and rolls back', async () => {
    const { stdout: json } = await cli(['recommendations', DAN, '--json']);
    const dormant = json
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { recommendationId: string; kind: string })
      .find((r) => r.kind === 'dormant-principal')!;

    const dry = await cli(['remediate', dormant.recommendationId]);
    expect(dry.stdout).toContain(`dry run: quarantine of ${dormant.recommendationId}`);
    expect(dry.stdout).toMatch(
      /5\. iam PutUserPermissionsBoundary \{"UserName":"dan","PermissionsBoundary":"arn:aws:iam::100000000002:policy\/AccessDiscoveryQuarantine"\}/,
    );
    expect(dry.stdout).toContain('nothing was changed');

    const session = remediationSession(cloud.url);
    const iam = session.iam(session.assumeRole(remediationRole(PROD)));
    const boundary = async () =>
      (await iam.send(new GetUserCommand({ UserName: 'dan' }))).User?.PermissionsBoundary
        ?.PermissionsBoundaryArn;
    expect(await boundary()).toBe(DEV_BOUNDARY);

    const applied = await cli(['remediate', dormant.recommendationId, '--apply', '--json']);
    const record = JSON.parse(applied.stdout) as {
      remediationId: string;
      status: string;
      actor: string;
    };
    expect(record.status).toBe('applied');
    expect(record.actor).toMatch(/^cli:/);
    expect(await boundary()).toBe(`arn:aws:iam::${PROD}:policy/AccessDiscoveryQuarantine`);

    const rolled = await cli(['rollback', record.remediationId]);
    expect(rolled.stdout).toContain(`remediation ${record.remediationId} rolled-back`);
    expect(await boundary()).toBe(DEV_BOUNDARY);
  });

  it('refuses a bad --state with a clear message', async () => {
    await expect(cli(['recommendations', '--state', 'closed'])).rejects.toThrow(
      /--state must be one of open, applied/,
    );
  });
});
