/**
 * `npm run bench -- ingest [--world DIR] [--days N] [--db FILE] [--skip-raw]`: AWS ingestion
 * of a fixture world, end to end, against DuckDB's raw speed on the same files.
 *
 * 1. The world is served by the fixture cloud in a child process (`fixtures serve`), as a
 *    customer's AWS would be: this process only runs the product.
 * 2. The AWS integration is assessed (organization, inventory, CloudTrail from S3 through the
 *    real S3 client: listing, download, DuckDB aggregation into usage_daily, identity_usage,
 *    coverage and the ledger), without the scoring stages.
 * 3. Over exactly the objects the ledger says were ingested, read from the world directory:
 *    one DuckDB `read_json` (the same explicit columns) + group by principal × event × day.
 * 4. The product's own DuckDB work over the same local files (`ingestLogBatch` in the batches
 *    the S3 path uses, into a scratch database): what ingestion costs without S3, so the gap
 *    between 2 and 3 splits into DuckDB work and getting the objects.
 *
 * Prints records, objects, bytes, seconds and events/s of both, their ratio, and peak RSS of
 * this process and of the fixture cloud. `--days N` ingests only the last N days of the
 * window (every account and region), for both measurements. The database is kept (default
 * `<world>.duckdb`, replaced at each run) so `npm run bench -- scoring --world DIR` can score it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { DuckDBInstance, listValue } from '@duckdb/node-api';
import { parseConfig } from '../config/load.ts';
import { fixtureConfig, fixtureEnvironment } from '../fixtures/config.ts';
import { readManifest } from '../fixtures/generate/index.ts';
import { runAssessment } from '../ingest/assessment.ts';
import { ingestLogBatch, type StagedObject } from '../ingest/aws/cloudtrail/aggregate.ts';
import { WRAPPED_COLUMNS_MAP } from '../ingest/aws/cloudtrail/columns.ts';
import { BATCH_BYTES, BATCH_OBJECTS } from '../ingest/aws/cloudtrail/s3.ts';
import { syncFor } from '../ingest/registry.ts';
import { createLogger } from '../lib/log.ts';
import { Db } from '../model/db.ts';
import { mapCloudTrailEvent } from '../scoring/catalog/index.ts';

export const DEFAULT_WORLD = process.env.ACCESS_DISCOVERY_BENCH_WORLD ?? '/work/bench-data/large';

const ROOT = resolve(import.meta.dirname, '..');

/** Peak resident set of a child process in bytes (Linux /proc; undefined elsewhere). */
function childPeakRss(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a child process has used so far (Linux /proc). */
function childCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
};

async function startCloud(world: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'access-discovery'), 'fixtures', 'serve', '--dir', world, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((done, fail) => {
    child.once('exit', (code) => fail(new Error(`fixtures serve exited with ${code}`)));
    lines.on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) done(m[1]!);
    });
  });
  return { url, child };
}

async function stopCloud(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  await exited;
}

const load = () =>
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} on ${cpus().length} cores`;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const rate = (n: number, seconds: number) => Math.round(n / Math.max(seconds, 1e-6));

/** DuckDB alone: read the given .json.gz files with the ingest columns and group them. */
async function rawDuckDb(
  files: string[],
): Promise<{ seconds: number; cpu: number; records: number; groups: number }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const started = performance.now();
    const cpu = process.cpuUsage();
    await connection.run(
      `CREATE TEMP TABLE raw_usage AS
       SELECT coalesce(r.userIdentity.sessionContext.sessionIssuer.arn, r.userIdentity.arn) AS principal,
              r.eventSource, r.eventName, CAST(try_cast(r.eventTime AS TIMESTAMPTZ) AS DATE) AS day,
              count(*) AS calls, count(r.errorCode) AS errors,
              min(r.eventTime) AS first_seen, max(r.eventTime) AS last_seen
       FROM (SELECT unnest(Records) AS r
             FROM read_json($files, columns = ${WRAPPED_COLUMNS_MAP},
                            format = 'unstructured', maximum_object_size = 1073741824))
       GROUP BY ALL`,
      { files: listValue(files) },
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuUsed = cpuSeconds(cpu);
    const row = (
      await connection.runAndReadAll(
        'SELECT sum(calls)::BIGINT AS records, count(*)::BIGINT AS groups FROM raw_usage',
      )
    ).getRowObjects()[0]!;
    return { seconds, cpu: cpuUsed, records: Number(row.records), groups: Number(row.groups) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * The product's DuckDB work alone: the same local files through ingestLogBatch, in the batches
 * the S3 path uses, into a scratch database file.
 */
async function productOffline(
  files: string[],
  database: string,
): Promise<{ seconds: number; cpu: number; records: number }> {
  const scratch = `${database}.offline`;
  const cleanup = () => {
    rmSync(scratch, { force: true });
    rmSync(`${scratch}.wal`, { force: true });
  };
  cleanup();
  const db = await Db.open(scratch);
  try {
    const ctx = {
      db,
      integrationId: 'bench-offline',
      assessmentId: 'bench-offline',
      source: 'bench-offline',
      dataEvents: false,
      mapper: mapCloudTrailEvent,
    };
    const started = performance.now();
    const cpu = process.cpuUsage();
    let records = 0;
    let batch: StagedObject[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const result = await ingestLogBatch(ctx, batch);
      records += result.records;
      batch = [];
      bytes = 0;
    };
    for (const path of files) {
      const size = statSync(path).size;
      if (batch.length >= BATCH_OBJECTS || (batch.length > 0 && bytes + size > BATCH_BYTES))
        await flush();
      batch.push({ key: path, path, shape: 'records', sizeBytes: size });
      bytes += size;
    }
    await flush();
    return { seconds: (performance.now() - started) / 1000, cpu: cpuSeconds(cpu), records };
  } finally {
    db.closeAll();
    cleanup();
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      world: { type: 'string', default: DEFAULT_WORLD },
      days: { type: 'string' },
      db: { type: 'string' },
      'skip-raw': { type: 'boolean', default: false },
      'skip-offline': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const world = resolve(values.world!);
  if (!existsSync(join(world, 'manifest.json')))
    throw new Error(
      `no fixture world at ${world} (generate one: ./bin/access-discovery fixtures generate --scale large --out ${world})`,
    );
  const manifest = readManifest(world);
  const days = values.days ? Number(values.days) : manifest.days;
  if (!Number.isInteger(days) || days < 1 || days > manifest.days)
    throw new Error(`--days must be an integer from 1 to ${manifest.days}`);
  const database = resolve(values.db ?? `${world.replace(/\/+$/, '')}.duckdb`);
  rmSync(database, { force: true });
  rmSync(`${database}.wal`, { force: true });
  const stageDir = `${database}.stage`;
  rmSync(stageDir, { recursive: true, force: true });

  process.stdout.write(
    `world ${world} (${manifest.scale}, ${manifest.counts.cloudTrailRecords} CloudTrail records in ${manifest.counts.cloudTrailObjects} objects); window: last ${days} of ${manifest.days} days ending ${manifest.endDate}; ${load()}\n`,
  );
  const { url, child } = await startCloud(world);
  let ingestSeconds = 0;
  let usageSeconds = 0;
  let usageCpu = 0;
  let cloudCpu: number | undefined;
  let assessmentId = '';
  let status = '';
  try {
    Object.assign(process.env, fixtureEnvironment(manifest));
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
    const raw = {
      ...fixtureConfig(manifest, url, { database, gcp: false }),
      lookbackDays: days,
      dormancyDays: days,
    };
    const config = parseConfig(raw, 'bench config');
    const integrationId = config.integrations[0]!.id;
    const db = await Db.open(database);
    try {
      const sync = syncFor({ mapper: mapCloudTrailEvent, stageDir });
      let usageStarted = 0;
      let usageCpuStart = process.cpuUsage();
      let cloudCpuStart: number | undefined;
      const started = performance.now();
      const result = await runAssessment({
        db,
        config,
        integrationId,
        trigger: 'cli',
        logger: createLogger({ quiet: !values.verbose }),
        asOf: manifest.endDate,
        sync: async (run) => {
          const stage = run.stage.bind(run);
          run.stage = async (name: string) => {
            if (name === 'usage') {
              usageStarted = performance.now();
              usageCpuStart = process.cpuUsage();
              cloudCpuStart = childCpuSeconds(child.pid);
            }
            await stage(name);
          };
          await sync(run);
        },
      });
      const ended = performance.now();
      ingestSeconds = (ended - started) / 1000;
      usageSeconds = (ended - usageStarted) / 1000;
      usageCpu = cpuSeconds(usageCpuStart);
      const cloudNow = childCpuSeconds(child.pid);
      if (cloudNow !== undefined && cloudCpuStart !== undefined)
        cloudCpu = cloudNow - cloudCpuStart;
      assessmentId = result.assessmentId;
      status = result.status;
      if (result.errors.length)
        process.stdout.write(
          `assessment ${status} with ${result.errors.length} errors, first: ${JSON.stringify(result.errors[0])}\n`,
        );
    } finally {
      db.closeAll();
    }
  } finally {
    const cloudRss = childPeakRss(child.pid);
    await stopCloud(child);
    process.stdout.write(
      `fixture cloud (child process) peak RSS ${cloudRss ? mb(cloudRss) : 'unknown'}\n`,
    );
  }
  rmSync(stageDir, { recursive: true, force: true });
  const ingestRss = process.resourceUsage().maxRSS * 1024;

  const db = await Db.open(database);
  let files: string[];
  let ledger: { objects: number; records: number; bytes: number; rejected: number };
  let usage: { usage_rows: number; identity_rows: number; calls: number };
  try {
    const bucket = manifest.aws.trail.bucket;
    const objects = await db.all<{ object_key: string }>(
      `SELECT object_key FROM ingest_object WHERE assessment_id = $a AND status = 'ok' ORDER BY object_key`,
      { a: assessmentId },
    );
    files = objects.map((o) => join(world, 'aws', 's3', bucket, ...o.object_key.split('/')));
    const l = (
      await db.all<{ objects: number; records: number; bytes: number; rejected: number }>(
        `SELECT count(*) FILTER (WHERE status = 'ok') AS objects, coalesce(sum(records), 0) AS records,
                coalesce(sum(size_bytes), 0) AS bytes, count(*) FILTER (WHERE status = 'rejected') AS rejected
         FROM ingest_object WHERE assessment_id = $a`,
        { a: assessmentId },
      )
    )[0]!;
    ledger = {
      objects: Number(l.objects),
      records: Number(l.records),
      bytes: Number(l.bytes),
      rejected: Number(l.rejected),
    };
    const u = (
      await db.all<{ usage_rows: number; identity_rows: number; calls: number }>(
        `SELECT (SELECT count(*) FROM usage_daily) AS usage_rows,
                (SELECT count(*) FROM identity_usage) AS identity_rows,
                (SELECT coalesce(sum(calls), 0) FROM usage_daily) AS calls`,
      )
    )[0]!;
    usage = {
      usage_rows: Number(u.usage_rows),
      identity_rows: Number(u.identity_rows),
      calls: Number(u.calls),
    };
  } finally {
    db.closeAll();
  }
  const dbBytes = statSync(database).size;

  process.stdout.write(
    `ingest (${status}): ${ledger.records} records, ${ledger.objects} objects (${ledger.rejected} rejected), ${mb(ledger.bytes)} gzipped\n` +
      `  whole assessment ingestion (organization, inventory, usage) ${ingestSeconds.toFixed(1)} s\n` +
      `  usage from S3 (list, download, aggregate) ${usageSeconds.toFixed(1)} s = ${rate(ledger.records, usageSeconds)} events/s end to end; CPU ${usageCpu.toFixed(1)} s in this process, ${cloudCpu === undefined ? 'unknown' : cloudCpu.toFixed(1)} s in the fixture cloud\n` +
      `  usage_daily ${usage.usage_rows} rows (${usage.calls} calls), identity_usage ${usage.identity_rows} rows, database ${mb(dbBytes)}\n` +
      `  peak RSS of this process during ingestion ${mb(ingestRss)} (goal < 2048 MB)\n`,
  );
  process.stdout.write(`${load()}\n`);
  if (values['skip-raw']) return;
  const rawRun = await rawDuckDb(files);
  const rawRate = rate(rawRun.records, rawRun.seconds);
  const endToEnd = rate(ledger.records, usageSeconds);
  process.stdout.write(
    `raw DuckDB read_json + group by over the same ${files.length} files: ${rawRun.records} records in ${rawRun.seconds.toFixed(1)} s = ${rawRate} events/s, CPU ${rawRun.cpu.toFixed(1)} s (${rawRun.groups} groups)\n` +
      `ratio end to end / raw DuckDB: ${(endToEnd / rawRate).toFixed(2)} (goal >= 0.80); CPU ratio raw / this process ${(rawRun.cpu / usageCpu).toFixed(2)}, raw / (this process + fixture cloud) ${cloudCpu === undefined ? 'unknown' : (rawRun.cpu / (usageCpu + cloudCpu)).toFixed(2)}\n` +
      `peak RSS of this process so far (the raw read's one query holds every group) ${mb(process.resourceUsage().maxRSS * 1024)}; ${load()}\n`,
  );
  if (rawRun.records !== ledger.records)
    process.stdout.write(
      `note: raw DuckDB counted ${rawRun.records} records, the ledger ${ledger.records}\n`,
    );
  if (values['skip-offline']) return;
  const offline = await productOffline(files, database);
  process.stdout.write(
    `the product's DuckDB work alone over the same local files (batches of ${BATCH_OBJECTS} objects / ${mb(BATCH_BYTES)}, read + aggregate + merge + ledger, no S3): ${offline.records} records in ${offline.seconds.toFixed(1)} s = ${rate(offline.records, offline.seconds)} events/s, CPU ${offline.cpu.toFixed(1)} s\n` +
      `  its ratio to raw DuckDB: ${(rate(offline.records, offline.seconds) / rawRate).toFixed(2)}; end to end / it: ${(endToEnd / rate(offline.records, offline.seconds)).toFixed(2)} (the rest is listing, downloading and serving the objects on the same cores)\n` +
      `peak RSS of this process ${mb(process.resourceUsage().maxRSS * 1024)}; ${load()}\n`,
  );
}
