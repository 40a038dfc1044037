// GCP usage figures: how fast BigQuery aggregate rows are parsed, staged and merged into
// usage_daily / identity_usage / log_coverage (the part of the pushdown that runs here), and a
// whole assessment of a test world through the fixture cloud (fixture aggregation included).
import { BigQueryDate, BigQueryTimestamp } from '@google-cloud/bigquery';
import { parseConfig } from '../config/load.ts';
import { runAssessment } from '../ingest/assessment.ts';
import {
  createStage,
  dropStage,
  loadStagedRange,
  stageRows,
  toStageRow,
} from '../ingest/gcp/bigquery/usage.ts';
import { GCP_TOKEN_ENV } from '../ingest/gcp/clients.ts';
import { syncGcp } from '../ingest/gcp/sync.ts';
import { silentLogger } from '../lib/log.ts';
import { Db } from '../model/db.ts';
import { startGcpCloud } from '../test/fixtures/cloud/gcp/harness.ts';
import {
  defaultGcpWorld,
  ORG_ID,
  SINK_PROJECT,
  TOKEN,
} from '../test/fixtures/cloud/gcp/world-builder.ts';

const ROWS = Number(process.env.ROWS ?? 300_000);
const DAYS = 90;

function day(i: number): string {
  return new Date(Date.UTC(2026, 7, 24) + (i % DAYS) * 86_400_000).toISOString().slice(0, 10);
}

// Rows shaped as @google-cloud/bigquery hands them over (DATE and TIMESTAMP wrapped).
const raw = Array.from({ length: ROWS }, (_, i) => {
  const d = day(Math.floor(i / (ROWS / DAYS)));
  return {
    principal_email:
      i % 3 === 0
        ? `sa-${i % 700}@p-${i % 20}.iam.gserviceaccount.com`
        : `user${i % 1300}@acme.example`,
    permission: i % 97 === 0 ? null : `service${i % 30}.resource${i % 10}.get`,
    day: new BigQueryDate(d),
    project_id: `acme-project-${String(i % 20).padStart(2, '0')}`,
    log_type: i % 4 === 0 ? 'data_access' : 'activity',
    calls: 1 + (i % 50),
    denied: i % 13 === 0 ? 1 : 0,
    first_seen: new BigQueryTimestamp(`${d}T01:02:03.123456Z`),
    last_seen: new BigQueryTimestamp(`${d}T22:02:03.654321Z`),
    last_caller_ip: `10.0.${i % 250}.${i % 200}`,
    last_user_agent: 'google-cloud-sdk gcloud/500.0.0',
  };
});

const db = await Db.open(':memory:');
let t = performance.now();
const staged = raw.map(toStageRow);
const parseMs = performance.now() - t;
console.log(
  `parse: ${ROWS} aggregate rows in ${parseMs.toFixed(0)} ms (${Math.round(ROWS / (parseMs / 1000))} rows/s)`,
);

await createStage(db);
t = performance.now();
for (let i = 0; i < staged.length; i += 20_000) await stageRows(db, staged.slice(i, i + 20_000));
const stageMs = performance.now() - t;
console.log(
  `stage: ${ROWS} rows in ${stageMs.toFixed(0)} ms (${Math.round(ROWS / (stageMs / 1000))} rows/s)`,
);

t = performance.now();
const window = { start: day(0), end: day(DAYS - 1) };
const totals = await loadStagedRange(
  db,
  {
    integrationId: 'bench',
    assessmentId: 'bench-1',
    sinkSet: 'bigquery/acme-logging.org_audit',
    sinkProjectId: 'acme-logging',
    location: 'US',
    now: new Date('2026-11-22T00:00:00Z'),
  },
  window,
  window,
  { fallback: '123456789012', organization: '123456789012' },
);
const loadMs = performance.now() - t;
await dropStage(db);
const usageRows = await db.scalar<number>('SELECT count(*) FROM usage_daily');
console.log(
  `load: ${usageRows} usage rows, ${totals.calls} checks merged in ${loadMs.toFixed(0)} ms (${Math.round(ROWS / (loadMs / 1000))} staged rows/s)`,
);
console.log(
  `parse + stage + load: ${Math.round(ROWS / ((parseMs + stageMs + loadMs) / 1000))} aggregate rows/s`,
);
db.closeAll();

// A whole assessment of the test world through the fixture cloud.
const entriesPerDay = Number(process.env.ENTRIES_PER_DAY ?? 5000);
const spec = defaultGcpWorld({ entriesPerDay });
const cloud = await startGcpCloud({ spec });
const target = await Db.open(':memory:');
process.env[GCP_TOKEN_ENV] = TOKEN;
try {
  const config = parseConfig({
    lookbackDays: 4,
    dormancyDays: 4,
    integrations: [
      {
        id: 'bench-gcp',
        kind: 'gcp-organization',
        organizationId: ORG_ID,
        auditSink: { projectId: SINK_PROJECT },
        endpoints: { gcp: cloud.url },
      },
    ],
  });
  t = performance.now();
  const result = await runAssessment({
    db: target,
    config,
    integrationId: 'bench-gcp',
    trigger: 'cli',
    logger: silentLogger,
    asOf: '2026-11-21',
    sync: (run) => syncGcp(run, run.integration as never),
  });
  const entries = spec.audit
    .filter((f) => f.day >= '20261118')
    .reduce((n, f) => n + f.entries.length, 0);
  const seconds = (performance.now() - t) / 1000;
  console.log(
    `assessment (fixture cloud, ${entries} audit entries in the window): ${result.status} in ${seconds.toFixed(2)} s (${Math.round(entries / seconds)} entries/s, fixture aggregation included)`,
  );
} finally {
  target.closeAll();
  await cloud.close();
}
