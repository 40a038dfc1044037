import type { FastifyInstance } from 'fastify';
import { errorMessage } from '../lib/errors.ts';
import { resolveScope } from './scope.ts';
import { computeWidgets } from './widgets.ts';

/**
 * Prepare the reads of the current assessments (the principal_list copy and the widgets) so
 * that the first user after a start or a finished run does not wait for them. Never throws:
 * a failure here only means the first read does the work.
 */
export async function warmCurrentReads(app: FastifyInstance): Promise<void> {
  const started = Date.now();
  try {
    await app.pool.use(async (db) => {
      const configured = new Set(app.appConfig.integrations.map((i) => i.id));
      const scope = await resolveScope(db, {}, configured);
      if (scope.length === 0) return;
      await computeWidgets(db, scope, new Date().toISOString().slice(0, 10));
      for (const entry of scope) {
        await computeWidgets(db, [entry], new Date().toISOString().slice(0, 10));
      }
    });
    app.log.info({ ms: Date.now() - started }, 'current assessments ready to read');
  } catch (err) {
    app.log.warn({ error: errorMessage(err) }, 'could not prepare the current assessments');
  }
}
