import type { FastifyInstance } from 'fastify';
import { notFound } from '../errors.ts';
import { ALL_ROLES } from '../plugins/auth.ts';
import { bool, dateTime, errors, idParam, nullable, security, str } from '../schemas.ts';
import { loadSql } from '../sql.ts';

const assessmentRef = {
  type: ['object', 'null'],
  properties: {
    assessmentId: str,
    status: str,
    trigger: str,
    startedAt: dateTime,
    finishedAt: dateTime,
  },
} as const;

const integration = {
  type: 'object',
  properties: {
    integrationId: str,
    kind: str,
    name: str,
    owner: nullable('string'),
    configured: { type: 'boolean', description: 'Still in the config file (false: history only).' },
    running: bool,
    nextScheduledRunAt: dateTime,
    currentAssessment: {
      ...assessmentRef,
      description: 'Latest finished assessment: what reads use.',
    },
    lastAssessment: { ...assessmentRef, description: 'Latest assessment of any status.' },
  },
} as const;

interface IntegrationItem {
  integrationId: string;
  kind: string;
  name: string;
  owner: string | null;
  configured: boolean;
  running: boolean;
  nextScheduledRunAt: string | null;
  currentAssessment: Record<string, unknown> | null;
  lastAssessment: Record<string, unknown> | null;
}

async function listIntegrations(api: FastifyInstance): Promise<IntegrationItem[]> {
  return api.pool.use(async (db) => {
    const stored = await db.all('SELECT integration_id, kind, name, owner FROM integration');
    const last = await db.all(
      `SELECT assessment_id, integration_id, status, trigger, started_at, finished_at FROM (
         SELECT *, row_number() OVER (PARTITION BY integration_id ORDER BY started_at DESC, assessment_id DESC) AS rn
         FROM assessment) WHERE rn = 1`,
    );
    const current = await db.all(loadSql('current-assessments'));
    const ref = (r: Record<string, unknown> | undefined) =>
      r
        ? {
            assessmentId: r.assessment_id,
            status: r.status,
            trigger: r.trigger,
            startedAt: r.started_at,
            finishedAt: r.finished_at,
          }
        : null;
    const items = new Map<string, IntegrationItem>();
    const schedule = api.scheduleInfo();
    const base = (
      id: string,
      kind: string,
      name: string,
      owner: string | null,
      configured: boolean,
    ) => ({
      integrationId: id,
      kind,
      name,
      owner,
      configured,
      running: api.runs.isRunning(id),
      nextScheduledRunAt: schedule.find((s) => s.integrationId === id)?.nextRunAt ?? null,
      currentAssessment: ref(current.find((c) => c.integration_id === id)),
      lastAssessment: ref(last.find((c) => c.integration_id === id)),
    });
    for (const i of api.appConfig.integrations) {
      items.set(
        i.id,
        base(i.id, i.kind, i.name ?? i.id, i.owner ?? api.appConfig.owner ?? null, true),
      );
    }
    for (const r of stored) {
      const id = String(r.integration_id);
      if (!items.has(id)) {
        items.set(
          id,
          base(id, String(r.kind), String(r.name), (r.owner as string | null) ?? null, false),
        );
      }
    }
    // Assessments of integrations known neither to the config nor to the integration table.
    for (const r of last) {
      const id = String(r.integration_id);
      if (!items.has(id)) items.set(id, base(id, 'unknown', id, null, false));
    }
    return [...items.values()].sort((a, b) => a.integrationId.localeCompare(b.integrationId));
  });
}

export function registerIntegrationRoutes(api: FastifyInstance): void {
  api.get(
    '/integrations',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: {
        tags: ['integrations'],
        summary: 'Configured integrations with their current and last assessments',
        security,
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: integration } } },
          ...errors,
        },
      },
    },
    async () => ({ items: await listIntegrations(api) }),
  );

  api.get<{ Params: { integrationId: string } }>(
    '/integrations/:integrationId',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: {
        tags: ['integrations'],
        summary: 'One integration',
        security,
        params: idParam('integrationId', 'Integration id'),
        response: { 200: integration, ...errors },
      },
    },
    async (request) => {
      const found = (await listIntegrations(api)).find(
        (i) => i.integrationId === request.params.integrationId,
      );
      if (!found) throw notFound('integration', request.params.integrationId);
      return found;
    },
  );
}
