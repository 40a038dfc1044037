import type { BigQueryOptions } from '@google-cloud/bigquery';
import pLimit from 'p-limit';
import type { GcpOrganizationConfig, GcpProjectConfig } from '../../config/schema.ts';
import { errorMessage, IngestError } from '../../lib/errors.ts';
import { insertRows } from '../../model/insert.ts';
import type { PolicyRow } from '../../model/rows.ts';
import { ensureGcpPermissions, isGcpPermission } from '../../scoring/catalog/index.ts';
import type { AssessmentRun } from '../assessment.ts';
import {
  loadAccountInventory,
  loadOrganization,
  setAccountStatus,
  splitByAccount,
} from '../inventory.ts';
import type { GcpApi } from './api.ts';
import { getSinkDatasets, type SinkDataset } from './bigquery/sinks.ts';
import {
  aggregateParams,
  aggregateQuery,
  contiguousRanges,
  createStage,
  type DayRange,
  daysToQuery,
  dropStage,
  dryRunBytes,
  type LedgerContext,
  loadStagedRange,
  type RunOptions,
  recordRejectedRange,
  runAggregate,
  sinkSetKey,
  stageRows,
} from './bigquery/usage.ts';
import {
  createGcpClients,
  DEFAULT_RETRY,
  describeGcpError,
  isServiceDisabled,
  type RetryPolicy,
  tokenFromEnvironment,
} from './clients.ts';
import { type GroupExpansion, getGroupMembers } from './cloudidentity/groups.ts';
import {
  type GcpRole,
  getCustomRoles,
  getPredefinedRoles,
  isPredefinedRole,
  type MissingRole,
  roleOwner,
  transformMissingRole,
  transformRole,
} from './iam/roles.ts';
import { type GcpServiceAccount, getServiceAccounts } from './iam/service-accounts.ts';
import { transformGcpInventory } from './principals.ts';
import {
  type GcpHierarchy,
  getOrganizationHierarchy,
  getProjectHierarchy,
  transformHierarchy,
} from './resourcemanager/hierarchy.ts';
import { getIamPolicy, type ResourcePolicy } from './resourcemanager/iam-policy.ts';

/**
 * Live GCP integrations: an organization (its folders and projects) or one project. Inventory
 * first (hierarchy, IAM policies at every level, roles, service accounts and keys, group
 * memberships), then usage from the BigQuery audit-log sink. A project, folder, group or query
 * that fails is recorded and the rest goes on; the assessment then ends `partial`.
 */

type GcpIntegration = GcpOrganizationConfig | GcpProjectConfig;

export interface GcpSyncOptions {
  /** Backoff for throttled or failing googleapis calls. */
  retry?: RetryPolicy;
  /** BigQuery client retry settings (its own defaults when unset). */
  bigQueryRetry?: BigQueryOptions['retryOptions'];
  /** Job polling and result paging. */
  query?: RunOptions;
  /** Clock for the usage ledger (tests pin it). */
  now?: () => Date;
}

export interface GcpInventoryOutcome {
  /** Projects whose inventory was read completely. */
  readableProjects: string[];
  /** Account of organization-level principals and of usage on no project. */
  scopeAccountId: string;
  policies: ResourcePolicy[];
}

function organizationName(id: string): string {
  return id.startsWith('organizations/') ? id : `organizations/${id}`;
}

function numericId(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

const SERVICE_OF_CALL: Record<string, string> = {
  'projects.getIamPolicy': 'cloudresourcemanager',
  'projects.serviceAccounts.list': 'iam',
  'projects.serviceAccounts.keys.list': 'iam',
  'projects.roles.list': 'iam',
};

interface ProjectInventory {
  policy: ResourcePolicy;
  serviceAccounts: GcpServiceAccount[];
  customRoles: GcpRole[];
}

async function readProject(api: GcpApi, projectId: string): Promise<ProjectInventory> {
  let callName = 'projects.getIamPolicy';
  try {
    const policy = await getIamPolicy(api, `projects/${projectId}`);
    callName = 'projects.serviceAccounts.list';
    const serviceAccounts = await getServiceAccounts(api, projectId, 4);
    callName = 'projects.roles.list';
    const customRoles = await getCustomRoles(api, `projects/${projectId}`);
    return { policy, serviceAccounts, customRoles };
  } catch (err) {
    if (err instanceof IngestError && typeof err.details.call === 'string') throw err;
    throw new IngestError(describeGcpError(err), { call: callName, projectId }, { cause: err });
  }
}

/** Inventory of the integration into the run's snapshot. */
export async function syncGcpInventory(
  run: AssessmentRun,
  integration: GcpIntegration,
  api: GcpApi,
): Promise<GcpInventoryOutcome> {
  const db = run.db;
  const ctx = { assessmentId: run.assessmentId, integrationId: run.integrationId };
  let hierarchy: GcpHierarchy;
  let scopeAccountId: string;
  let orgName: string | undefined;
  const root =
    integration.kind === 'gcp-organization'
      ? organizationName(integration.organizationId)
      : `projects/${integration.projectId}`;
  try {
    if (integration.kind === 'gcp-organization') {
      orgName = root;
      hierarchy = await getOrganizationHierarchy(api, root, integration.concurrency);
      scopeAccountId = numericId(root);
    } else {
      hierarchy = await getProjectHierarchy(api, integration.projectId);
      scopeAccountId = integration.projectId;
    }
  } catch (err) {
    // Without the root nothing can be assessed: the run fails, saying why.
    throw new IngestError(`${root} cannot be read: ${describeGcpError(err)}`, {
      call: integration.kind === 'gcp-organization' ? 'organizations.get' : 'projects.get',
      resource: root,
    });
  }
  for (const f of hierarchy.failures) {
    await run.recordError({
      service: 'cloudresourcemanager',
      call: f.call,
      message: `${f.resource}: children cannot be listed, projects below it are missing: ${f.message}`,
    });
  }
  const { nodes, accounts } = transformHierarchy(
    {
      ...ctx,
      excludeFolderIds: integration.kind === 'gcp-organization' ? integration.excludeFolderIds : [],
      excludeProjectIds:
        integration.kind === 'gcp-organization' ? integration.excludeProjectIds : [],
      config: run.config,
    },
    hierarchy,
  );
  await loadOrganization(db, run.assessmentId, { nodes, accounts, policies: [], targets: [] });
  const toRead = accounts.filter((a) => a.inventory_status === 'ok').map((a) => a.account_id);
  run.logger.progress(
    `[${run.integrationId}] ${orgName ?? `project ${scopeAccountId}`}: ${hierarchy.folders.length} folders, ${accounts.length} projects, ${toRead.length} to assess, ${accounts.length - toRead.length} excluded or deleted`,
  );

  // Projects: IAM policy, service accounts with keys, custom roles.
  const limit = pLimit(integration.concurrency);
  const projects = new Map<string, ProjectInventory>();
  const failed = new Set<string>();
  let done = 0;
  await Promise.all(
    toRead.map((projectId) =>
      limit(async () => {
        try {
          projects.set(projectId, await readProject(api, projectId));
        } catch (err) {
          failed.add(projectId);
          const call = err instanceof IngestError ? String(err.details.call) : 'unknown';
          const message = errorMessage(err);
          await setAccountStatus(db, run.assessmentId, projectId, 'failed', `${call}: ${message}`);
          await run.recordError({
            accountId: projectId,
            service: SERVICE_OF_CALL[call],
            call,
            message,
          });
        }
        done++;
        await run.progress(
          { projectsDone: done, projects: toRead.length },
          `inventory: ${done}/${toRead.length} projects`,
        );
      }),
    ),
  );

  // Organization and folders: their bindings, and the organization's custom roles.
  const policies: ResourcePolicy[] = [];
  const excludedNodes = new Set(nodes.filter((n) => n.excluded).map((n) => n.node_id));
  const levels = [orgName, ...hierarchy.folders.map((f) => f.name)].filter(
    (r): r is string => r !== undefined && !excludedNodes.has(r),
  );
  await Promise.all(
    levels.map((resource) =>
      limit(async () => {
        try {
          policies.push(await getIamPolicy(api, resource));
        } catch (err) {
          await run.recordError({
            service: 'cloudresourcemanager',
            call: resource.startsWith('folders/')
              ? 'folders.getIamPolicy'
              : 'organizations.getIamPolicy',
            message: `${resource}: its bindings are missing: ${describeGcpError(err)}`,
          });
        }
      }),
    ),
  );
  for (const projectId of [...projects.keys()].sort()) {
    const p = projects.get(projectId);
    if (p) policies.push(p.policy);
  }
  policies.sort((a, b) => a.resource.localeCompare(b.resource));

  const customRoles = new Map<string, GcpRole>();
  const unlistedOwners = new Map<string, string>();
  for (const p of projects.values()) for (const r of p.customRoles) customRoles.set(r.name, r);
  if (orgName) {
    try {
      for (const r of await getCustomRoles(api, orgName)) customRoles.set(r.name, r);
    } catch (err) {
      const message = describeGcpError(err);
      unlistedOwners.set(numericId(orgName), message);
      await run.recordError({
        service: 'iam',
        call: 'organizations.roles.list',
        message: `${orgName}: custom roles cannot be read, their permissions are unknown: ${message}`,
      });
    }
  }

  // Roles in use: predefined ones fetched once each, custom ones from the listings.
  const inUse = [...new Set(policies.flatMap((p) => p.bindings.map((b) => b.role)))].sort();
  const predefined = await getPredefinedRoles(
    api,
    inUse.filter(isPredefinedRole),
    integration.concurrency,
  );
  const roleRows: PolicyRow[] = predefined.roles.map((r) => transformRole(ctx, r));
  const missing: MissingRole[] = [...predefined.missing];
  for (const name of inUse.filter((r) => !isPredefinedRole(r))) {
    const role = customRoles.get(name);
    if (role) {
      roleRows.push(transformRole(ctx, role));
      continue;
    }
    const owner = roleOwner(name);
    const listingError = owner ? unlistedOwners.get(owner) : undefined;
    if (listingError) {
      roleRows.push(transformMissingRole(ctx, { name, message: listingError }));
    } else {
      missing.push({ name, message: 'not among the custom roles of its organization or project' });
    }
  }
  for (const m of missing) {
    roleRows.push(transformMissingRole(ctx, m));
    await run.recordError({
      service: 'iam',
      call: isPredefinedRole(m.name) ? 'roles.get' : 'roles.list',
      message: `${m.name} is bound but cannot be read, its permissions are unknown: ${m.message}`,
    });
  }

  // Groups named in bindings, expanded transitively.
  const groupEmails = [
    ...new Set(
      policies.flatMap((p) =>
        p.bindings.flatMap((b) =>
          b.members.filter((m) => m.startsWith('group:')).map((m) => m.slice(6)),
        ),
      ),
    ),
  ].sort();
  const customerId =
    integration.customerId ?? hierarchy.organization?.directoryCustomerId ?? undefined;
  const groups: GroupExpansion[] = await getGroupMembers(
    api,
    groupEmails,
    customerId,
    integration.concurrency,
  );
  for (const g of groups) {
    if (g.error === undefined) continue;
    if (g.nested) {
      // Its members inherit through the outer group, which was read: only the attribution to
      // this nested group is missing, and its principal says so (membersResolved: false).
      run.logger.warn(
        `[${run.integrationId}] group:${g.email} (nested): members cannot be read: ${g.error}`,
      );
      continue;
    }
    await run.recordError({
      service: 'cloudidentity',
      call: g.failedCall,
      message: `group:${g.email}: members cannot be read, so the bindings they inherit are missing: ${g.error}`,
    });
  }

  const outOfScope = new Set([
    ...accounts.filter((a) => a.inventory_status !== 'ok').map((a) => a.account_id),
    ...failed,
  ]);
  const result = transformGcpInventory(
    {
      ...ctx,
      scopeAccountId,
      projectNumbers: new Map(hierarchy.projects.map((p) => [numericId(p.name), p.projectId])),
      outOfScopeProjects: outOfScope,
    },
    {
      policies,
      serviceAccounts: [...projects.values()].flatMap((p) => p.serviceAccounts),
      groups,
      roles: roleRows,
    },
  );
  if (result.outOfScopeMembers > 0) {
    run.logger.progress(
      `[${run.integrationId}] ${result.outOfScopeMembers} bound service accounts belong to excluded, deleted or failed projects and were left out`,
    );
  }
  for (const [kind, count] of result.ignoredMembers) {
    run.logger.warn(
      `[${run.integrationId}] ${count} bound members of kind "${kind}" are not principals (deleted or legacy members) and were left out`,
    );
  }
  for (const [accountId, rows] of splitByAccount([result.rows])) {
    if (outOfScope.has(accountId)) continue;
    await loadAccountInventory(db, run.assessmentId, accountId, rows);
  }
  const permissions = [
    ...new Set(
      roleRows.flatMap(
        (r) => (r.document as { includedPermissions: string[] }).includedPermissions,
      ),
    ),
  ];
  const invalid = permissions.filter((p) => !isGcpPermission(p));
  if (invalid.length > 0) {
    run.logger.warn(
      `[${run.integrationId}] ${invalid.length} role permissions are not permission names and cannot be classified: ${invalid.slice(0, 5).join(', ')}`,
    );
  }
  await ensureGcpPermissions(db, permissions.filter(isGcpPermission));
  run.logger.progress(
    `[${run.integrationId}] inventory: ${result.rows.principals.length} principals, ${result.rows.attachments.length} attachments, ${roleRows.length} roles, ${groups.length} groups, ${result.rows.credentials.length} user-managed keys`,
  );
  return {
    readableProjects: [...projects.keys()].sort(),
    scopeAccountId,
    policies,
  };
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 4) return `${(bytes / 1024 ** 4).toFixed(2)} TiB`;
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${bytes} B`;
}

async function findSinks(
  run: AssessmentRun,
  integration: GcpIntegration,
  api: GcpApi,
  inventory: GcpInventoryOutcome,
): Promise<SinkDataset[]> {
  const { projectId, datasetLabel, location } = integration.auditSink;
  const searchEverywhere = !projectId && integration.kind === 'gcp-organization';
  const candidates = projectId
    ? [projectId]
    : integration.kind === 'gcp-project'
      ? [integration.projectId]
      : inventory.readableProjects;
  const limit = pLimit(integration.concurrency);
  const sinks: SinkDataset[] = [];
  await Promise.all(
    candidates.map((p) =>
      limit(async () => {
        try {
          sinks.push(...(await getSinkDatasets(api, p, datasetLabel, location)));
        } catch (err) {
          // Searching every project meets projects without BigQuery: not a failure.
          if (searchEverywhere && isServiceDisabled(err)) {
            run.logger.debug(`${p}: BigQuery is not enabled`, { error: describeGcpError(err) });
            return;
          }
          await run.recordError({
            accountId: p,
            service: 'bigquery',
            call: 'datasets.list',
            message: `sink datasets cannot be listed: ${describeGcpError(err)}`,
          });
        }
      }),
    ),
  );
  sinks.sort((a, b) =>
    `${a.projectId}.${a.datasetId}`.localeCompare(`${b.projectId}.${b.datasetId}`),
  );
  const usable: SinkDataset[] = [];
  for (const s of sinks) {
    if (s.tables.length > 0) usable.push(s);
    else
      await run.recordError({
        accountId: s.projectId,
        service: 'bigquery',
        call: 'tables.list',
        message: `dataset ${s.projectId}.${s.datasetId} is labelled ${datasetLabel}=true but holds no cloudaudit_googleapis_com_* table`,
      });
  }
  return usable;
}

async function recordSinks(
  run: AssessmentRun,
  sinks: SinkDataset[],
  label: string,
  policies: ResourcePolicy[],
  now: Date,
): Promise<void> {
  const auditConfigs = policies
    .filter((p) => p.dataReadServices.length > 0)
    .map((p) => ({ resource: p.resource, dataReadServices: p.dataReadServices }));
  await run.db.transaction(async (tx) => {
    await tx.exec("DELETE FROM log_source WHERE integration_id = $i AND kind = 'bigquery-sink'", {
      i: run.integrationId,
    });
    await insertRows(
      tx,
      'log_source',
      sinks.map((s) => ({
        integration_id: run.integrationId,
        source_id: `${s.projectId}.${s.datasetId}`,
        account_id: s.projectId,
        kind: 'bigquery-sink',
        details: {
          projectId: s.projectId,
          datasetId: s.datasetId,
          location: s.location,
          label,
          tables: s.tables.map((t) => ({
            tableId: t.tableId,
            logType: t.logType,
            layout: t.sharded ? 'sharded' : 'partitioned',
            ...(t.sharded
              ? {
                  shards: t.shards.length,
                  firstShard: t.shards[0],
                  lastShard: t.shards[t.shards.length - 1],
                }
              : {}),
          })),
        },
        data_event_selectors: {
          dataAccessTable: s.tables.some((t) => t.logType === 'data_access'),
          // Where Data Access (DATA_READ) logs are switched on, from the policies' auditConfigs.
          auditConfigs,
        },
        observed_at: now.toISOString(),
      })),
    );
  });
}

/** Usage from the BigQuery sink, incremental by day. */
export async function syncGcpUsage(
  run: AssessmentRun,
  integration: GcpIntegration,
  api: GcpApi,
  inventory: GcpInventoryOutcome,
  options: GcpSyncOptions = {},
): Promise<void> {
  const now = options.now?.() ?? new Date();
  const { datasetLabel, maxBytesProcessed } = integration.auditSink;
  const sinks = await findSinks(run, integration, api, inventory);
  if (sinks.length === 0) {
    await run.recordError({
      service: 'bigquery',
      call: 'datasets.list',
      message: `no BigQuery dataset labelled ${datasetLabel}=true with audit tables was found: no usage can be read, so nothing is known to be used`,
    });
    return;
  }
  await recordSinks(run, sinks, datasetLabel, inventory.policies, now);
  const byLocation = new Map<string, SinkDataset[]>();
  for (const s of sinks) byLocation.set(s.location, [...(byLocation.get(s.location) ?? []), s]);

  const window: DayRange = { start: run.window.start, end: run.window.end };
  const first = sinks[0] as SinkDataset;
  const ledger: LedgerContext = {
    integrationId: run.integrationId,
    assessmentId: run.assessmentId,
    sinkSet: sinkSetKey(sinks),
    sinkProjectId: first.projectId,
    location: [...byLocation.keys()].sort().join('+'),
    now,
  };
  const days = await daysToQuery(run.db, ledger, window);
  const ranges = contiguousRanges(days);
  run.logger.progress(
    `[${run.integrationId}] usage: ${days.length} of ${run.window.days} days to query (${ranges.length} ${ranges.length === 1 ? 'query' : 'queries'}) over ${sinks.map((s) => `${s.projectId}.${s.datasetId}`).join(', ')}`,
  );
  const permissions = new Set<string>();
  for (const range of ranges) {
    const label = `${range.start}..${range.end}`;
    let callName = 'jobs.insert (dry run)';
    await createStage(run.db);
    try {
      let rows = 0;
      for (const [location, group] of [...byLocation].sort(([a], [b]) => a.localeCompare(b))) {
        const target = { bq: api.clients.bigQuery((group[0] as SinkDataset).projectId), location };
        const query = aggregateQuery(group);
        const params = aggregateParams(
          range,
          group.some((s) => s.tables.some((t) => t.sharded)),
        );
        callName = 'jobs.insert (dry run)';
        const bytes = await dryRunBytes(target, query, params);
        run.logger.progress(
          `[${run.integrationId}] usage ${label}: the query will process ${formatBytes(bytes)} in ${location} (ceiling ${formatBytes(maxBytesProcessed)})`,
        );
        if (bytes > maxBytesProcessed) {
          throw new Error(
            `the aggregation query would process ${formatBytes(bytes)}, over the ceiling auditSink.maxBytesProcessed (${formatBytes(maxBytesProcessed)}); it was not run`,
          );
        }
        callName = 'jobs.insert';
        const result = await runAggregate(
          target,
          query,
          params,
          async (page) => {
            for (const r of page)
              if (r.action_status === 'mapped' && r.action) permissions.add(r.action);
            await stageRows(run.db, page);
          },
          options.query,
        );
        rows += result.rows;
      }
      const totals = await loadStagedRange(run.db, ledger, range, window, {
        fallback: inventory.scopeAccountId,
        organization: integration.kind === 'gcp-organization' ? inventory.scopeAccountId : null,
      });
      await run.addCounts({ events: totals.calls, objects: 1 });
      await run.progress(
        { rangesDone: ranges.indexOf(range) + 1, ranges: ranges.length, rows },
        `usage ${label}: ${rows} aggregate rows, ${totals.calls} checks, ${totals.noPermission} entries without a permission, ${totals.unattributed} checks without a principal`,
      );
    } catch (err) {
      const message = describeGcpError(err);
      await run.recordError({
        service: 'bigquery',
        call:
          err instanceof IngestError && typeof err.details.call === 'string'
            ? err.details.call
            : callName,
        message: `usage ${label}: ${message}`,
      });
      await recordRejectedRange(run.db, ledger, range, message);
    } finally {
      await dropStage(run.db);
    }
  }
  await ensureGcpPermissions(run.db, [...permissions]);
}

export async function syncGcp(
  run: AssessmentRun,
  integration: GcpIntegration,
  options: GcpSyncOptions = {},
): Promise<void> {
  const endpoint = integration.endpoints?.gcp;
  const clients = createGcpClients({
    endpoint,
    token: tokenFromEnvironment(endpoint),
    bigQueryRetry: options.bigQueryRetry,
  });
  const api: GcpApi = { clients, retry: options.retry ?? DEFAULT_RETRY };
  await run.stage('inventory');
  const inventory = await syncGcpInventory(run, integration, api);
  await run.stage('usage');
  await syncGcpUsage(run, integration, api, inventory, options);
}
