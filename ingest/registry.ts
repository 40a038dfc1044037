import { dirname, join } from 'node:path';
import type { AssessmentRun, IntegrationSync } from './assessment.ts';
import type { EventMapper } from './aws/cloudtrail/aggregate.ts';
import { syncAws } from './aws/sync.ts';
import { syncGcp } from './gcp/sync.ts';
import { syncImport } from './import/sync.ts';

/**
 * The one registry of integration syncs: which ingestion runs for which integration kind.
 */
export interface SyncDependencies {
  mapper: EventMapper;
  /** Folder for staged log objects; default beside the database file. */
  stageDir?: string;
  /** Folder relative import directories resolve against (the config file's folder). */
  baseDir?: string;
}

export function syncFor(deps: SyncDependencies): IntegrationSync {
  return async (run: AssessmentRun) => {
    const integration = run.integration;
    const stageDir =
      deps.stageDir ??
      join(dirname(run.db.path === ':memory:' ? join(process.cwd(), 'x') : run.db.path), 'stage');
    switch (integration.kind) {
      case 'aws-organization':
      case 'aws-account':
        return syncAws(run, integration, { mapper: deps.mapper, stageDir });
      case 'import':
        return syncImport(run, integration, deps.mapper, deps.baseDir);
      case 'gcp-organization':
      case 'gcp-project':
        return syncGcp(run, integration);
    }
  };
}
