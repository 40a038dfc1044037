import { parseConfig } from '../../../config/load.ts';
import { type AssessmentResult, runAssessment } from '../../../ingest/assessment.ts';
import { GCP_TOKEN_ENV } from '../../../ingest/gcp/clients.ts';
import { type GcpSyncOptions, syncGcp } from '../../../ingest/gcp/sync.ts';
import { silentLogger } from '../../../lib/log.ts';
import type { Db } from '../../../model/db.ts';
import { FAST_RETRY, type GcpCloud } from '../../fixtures/cloud/gcp/harness.ts';
import { ORG_ID, SINK_PROJECT, TOKEN } from '../../fixtures/cloud/gcp/world-builder.ts';

/**
 * Runs a GCP assessment against a fixture cloud through the real sync (real clients, real
 * DuckDB), with fast retries and a pinned ledger clock so incremental behaviour is the same
 * on every day the suite runs.
 */

/** The day after the builder's window: days up to 2026-11-19 are final when loaded "now". */
export const NOW = new Date('2026-11-22T06:00:00Z');
export const AS_OF = '2026-11-21';

export const FAST: GcpSyncOptions = {
  retry: { retries: 4, baseDelayMs: 1, maxDelayMs: 5 },
  ...(FAST_RETRY.bigQueryRetry ? { bigQueryRetry: FAST_RETRY.bigQueryRetry } : {}),
  query: { pollMs: 5 },
  now: () => NOW,
};

export function gcpConfig(cloud: GcpCloud, integration: Record<string, unknown> = {}) {
  return parseConfig({
    lookbackDays: 4,
    dormancyDays: 4,
    integrations: [
      {
        id: 'gcp-org',
        kind: 'gcp-organization',
        organizationId: ORG_ID,
        auditSink: { projectId: SINK_PROJECT },
        endpoints: { gcp: cloud.url },
        ...integration,
      },
    ],
  });
}

export async function assessGcp(
  db: Db,
  cloud: GcpCloud,
  options: {
    integration?: Record<string, unknown>;
    sync?: GcpSyncOptions;
    asOf?: string;
  } = {},
): Promise<AssessmentResult> {
  process.env[GCP_TOKEN_ENV] = TOKEN;
  const config = gcpConfig(cloud, options.integration);
  return runAssessment({
    db,
    config,
    integrationId: 'gcp-org',
    trigger: 'cli',
    logger: silentLogger,
    asOf: options.asOf ?? AS_OF,
    sync: (run) => {
      const integration = run.integration;
      if (integration.kind !== 'gcp-organization' && integration.kind !== 'gcp-project')
        throw new Error(`not a GCP integration: ${integration.kind}`);
      return syncGcp(run, integration, { ...FAST, ...options.sync });
    },
  });
}
