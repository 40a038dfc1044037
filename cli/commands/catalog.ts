import type { Command } from 'commander';
import { AccessDiscoveryError, errorMessage, UsageError } from '../../lib/errors.ts';
import { classifyAwsAction, getAwsCatalog } from '../../scoring/catalog/aws.ts';
import { getCloudTrailMapper, type MappingStatus } from '../../scoring/catalog/cloudtrail.ts';
import { readCloudTrailFile } from '../../scoring/catalog/cloudtrail-file.ts';
import { classifyGcpPermission } from '../../scoring/catalog/gcp.ts';
import { loadActionCatalog } from '../../scoring/catalog/load.ts';
import type { ActionClassification } from '../../scoring/catalog/types.ts';
import { hasWildcard } from '../../scoring/policy/wildcard.ts';
import { type GlobalOptions, loggerFor, openDatabase } from '../context.ts';

function line(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function classificationLine(name: string, c: ActionClassification): Record<string, unknown> {
  return {
    name,
    cloud: c.cloud,
    action: c.action,
    level: c.level,
    levelRank: c.levelRank,
    levelReason: c.levelReason,
    ...(c.levelCategory ? { levelCategory: c.levelCategory } : {}),
    sensitivity: c.sensitivity,
    sensitivityReasons: c.sensitivityReasons,
    observable: c.observable,
    observableReason: c.observableReason,
    accessLevels: c.accessLevels,
    resourceTypes: c.resourceTypes,
    resourceScopeable: c.resourceScopeable,
    dataVersion: c.dataVersion,
  };
}

/** AWS names carry a colon (`s3:GetObject`, `s3:Get*`, `*`); GCP permissions are dotted. */
function classifyName(name: string): ActionClassification[] {
  if (name.includes(':') || name === '*') {
    if (hasWildcard(name)) {
      const matched = getAwsCatalog().expander.expand(name);
      if (matched.length === 0)
        throw new UsageError(`pattern "${name}" matches no AWS action in the catalog`);
      return matched.map((a) => classifyAwsAction(a));
    }
    return [classifyAwsAction(name)];
  }
  return [classifyGcpPermission(name)];
}

export function registerCatalog(program: Command): void {
  const catalog = program
    .command('catalog')
    .description('the action catalog: privilege levels, sensitivity, CloudTrail event mapping');

  catalog
    .command('load')
    .description('load every AWS action (and re-classify known GCP permissions) into the database')
    .action(async (_opts: unknown, cmd: Command) => {
      const options = cmd.optsWithGlobals<GlobalOptions>();
      const db = await openDatabase(options);
      try {
        const result = await loadActionCatalog(db);
        process.stdout.write(
          `action catalog loaded: ${result.aws} AWS actions, ${result.gcp} GCP permissions (${result.dataVersion})\n`,
        );
      } finally {
        db.closeAll();
      }
    });

  catalog
    .command('classify')
    .description(
      'print one JSON line per AWS action (wildcards expand) or GCP permission: level, sensitivity and reasons',
    )
    .argument(
      '<name...>',
      'AWS actions (s3:GetObject, iam:*User*) or GCP permissions (storage.objects.get)',
    )
    .action((names: string[]) => {
      let failed = 0;
      for (const name of names) {
        try {
          for (const c of classifyName(name)) line(classificationLine(name, c));
        } catch (err) {
          if (!(err instanceof AccessDiscoveryError)) throw err;
          failed++;
          line({ name, error: err.message });
        }
      }
      if (failed > 0)
        throw new UsageError(`${failed} of ${names.length} names could not be classified`);
    });

  catalog
    .command('map-events')
    .description(
      'map CloudTrail records (Records object, JSON array, or .json.gz) to IAM actions, one JSON line per event',
    )
    .argument('<file...>', 'CloudTrail files')
    .action((files: string[], _opts: unknown, cmd: Command) => {
      const log = loggerFor(cmd.optsWithGlobals<GlobalOptions>());
      const mapper = getCloudTrailMapper();
      const counts: Record<MappingStatus, number> = { mapped: 0, 'no-permission': 0, unmapped: 0 };
      const badFiles: string[] = [];
      for (const file of files) {
        let records: ReturnType<typeof readCloudTrailFile>;
        try {
          records = readCloudTrailFile(file);
        } catch (err) {
          if (!(err instanceof AccessDiscoveryError)) throw err;
          log.warn(errorMessage(err));
          badFiles.push(file);
          continue;
        }
        for (const r of records) {
          const extra = r.eventType
            ? { eventType: r.eventType, versionId: r.versionId }
            : { versionId: r.versionId };
          const m = mapper.map(r.eventSource, r.eventName, extra);
          counts[m.status]++;
          line({
            eventSource: r.eventSource,
            eventName: r.eventName,
            actions: m.actions,
            status: m.status,
            reason: m.reason ?? null,
          });
        }
      }
      const total = counts.mapped + counts['no-permission'] + counts.unmapped;
      const covered = total === 0 ? 100 : ((counts.mapped + counts['no-permission']) / total) * 100;
      process.stderr.write(
        `${total} events in ${files.length - badFiles.length} files: ${counts.mapped} mapped, ${counts['no-permission']} no-permission, ${counts.unmapped} unmapped (${covered.toFixed(1)}% mapped or no-permission)\n`,
      );
      if (badFiles.length > 0) {
        throw new UsageError(
          `${badFiles.length} of ${files.length} files could not be read: ${badFiles.join(', ')}`,
        );
      }
    });
}
