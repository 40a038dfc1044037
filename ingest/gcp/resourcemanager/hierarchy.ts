import pLimit from 'p-limit';
import { z } from 'zod';
import type { Config } from '../../../config/schema.ts';
import type { AccountRow, OrgNodeRow } from '../../../model/rows.ts';
import { accountRisk } from '../../aws/organizations/organization.ts';
import { call, type GcpApi, listAll, parseResponse } from '../api.ts';
import { describeGcpError } from '../clients.ts';

/**
 * The resource hierarchy: the organization, its folders (nested) and projects, read with
 * Resource Manager v3. Deleted projects are listed too (they become `skipped` accounts) so the
 * snapshot says why a project was not assessed; excluded folders are walked as well, so their
 * projects show up as `excluded` rather than missing.
 */

const OrganizationSchema = z.looseObject({
  name: z.string().regex(/^organizations\/\d+$/),
  displayName: z.string().optional(),
  directoryCustomerId: z.string().optional(),
  state: z.string().optional(),
});

const FolderSchema = z.looseObject({
  name: z.string().regex(/^folders\/\d+$/),
  parent: z.string(),
  displayName: z.string().optional(),
  state: z.string().optional(),
});

const ProjectSchema = z.looseObject({
  name: z.string().regex(/^projects\/\d+$/),
  projectId: z.string().min(1),
  parent: z.string().optional(),
  displayName: z.string().optional(),
  state: z.string(),
  labels: z.record(z.string(), z.string()).optional(),
});

export interface GcpOrganization {
  /** `organizations/N`. */
  name: string;
  displayName: string;
  directoryCustomerId: string | undefined;
}

export interface GcpFolder {
  name: string;
  parent: string;
  displayName: string;
}

export interface GcpProject {
  /** `projects/<number>`. */
  name: string;
  projectId: string;
  /** `organizations/N` or `folders/N`; empty for a project outside any organization. */
  parent: string;
  displayName: string;
  state: string;
  labels: Record<string, string>;
}

export interface HierarchyFailure {
  resource: string;
  call: string;
  message: string;
}

export interface GcpHierarchy {
  organization: GcpOrganization | undefined;
  folders: GcpFolder[];
  projects: GcpProject[];
  /** Parents whose children could not be listed; the rest of the tree is still read. */
  failures: HierarchyFailure[];
}

function toProject(p: z.infer<typeof ProjectSchema>): GcpProject {
  return {
    name: p.name,
    projectId: p.projectId,
    parent: p.parent ?? '',
    displayName: p.displayName || p.projectId,
    state: p.state,
    labels: p.labels ?? {},
  };
}

// --- get -------------------------------------------------------------------------------------

/** The organization and everything below it, listed breadth first, `concurrency` parents at a time. */
export async function getOrganizationHierarchy(
  api: GcpApi,
  organizationName: string,
  concurrency: number,
): Promise<GcpHierarchy> {
  const crm = api.clients.resourceManager;
  const org = parseResponse(
    OrganizationSchema,
    await call(api, () => crm.organizations.get({ name: organizationName })),
    'organizations.get',
  );
  const hierarchy: GcpHierarchy = {
    organization: {
      name: org.name,
      displayName: org.displayName || org.name,
      directoryCustomerId: org.directoryCustomerId,
    },
    folders: [],
    projects: [],
    failures: [],
  };
  const limit = pLimit(concurrency);
  let level = [org.name];
  while (level.length > 0) {
    const next: string[] = [];
    await Promise.all(
      level.map((parent) =>
        limit(async () => {
          let callName = 'folders.list';
          try {
            const folders = await listAll(
              api,
              (pageToken) => crm.folders.list({ parent, pageToken, pageSize: 500 }),
              (page) => page.folders,
            );
            callName = 'projects.list';
            const projects = await listAll(
              api,
              (pageToken) =>
                crm.projects.list({ parent, pageToken, pageSize: 500, showDeleted: true }),
              (page) => page.projects,
            );
            for (const f of folders) {
              const folder = parseResponse(FolderSchema, f, 'folders.list');
              hierarchy.folders.push({
                name: folder.name,
                parent: folder.parent,
                displayName: folder.displayName || folder.name,
              });
              next.push(folder.name);
            }
            for (const p of projects) {
              hierarchy.projects.push(toProject(parseResponse(ProjectSchema, p, 'projects.list')));
            }
          } catch (err) {
            hierarchy.failures.push({
              resource: parent,
              call: callName,
              message: describeGcpError(err),
            });
          }
        }),
      ),
    );
    level = next.sort();
  }
  hierarchy.folders.sort((a, b) => a.name.localeCompare(b.name));
  hierarchy.projects.sort((a, b) => a.projectId.localeCompare(b.projectId));
  return hierarchy;
}

/** One project (a `gcp-project` integration): no organization walk, which needs org-level rights. */
export async function getProjectHierarchy(api: GcpApi, projectId: string): Promise<GcpHierarchy> {
  const project = parseResponse(
    ProjectSchema,
    await call(api, () =>
      api.clients.resourceManager.projects.get({ name: `projects/${projectId}` }),
    ),
    'projects.get',
  );
  return { organization: undefined, folders: [], projects: [toProject(project)], failures: [] };
}

// --- transform -------------------------------------------------------------------------------

export interface HierarchyContext {
  assessmentId: string;
  integrationId: string;
  /** `folders/N` form. */
  excludeFolderIds: string[];
  excludeProjectIds: string[];
  config: Pick<Config, 'accountRiskLevels' | 'accountRiskTags'>;
}

export function folderName(id: string): string {
  return id.startsWith('folders/') ? id : `folders/${id}`;
}

/** Pure: hierarchy → org nodes and accounts (projects), with exclusions and skips decided. */
export function transformHierarchy(
  ctx: HierarchyContext,
  hierarchy: GcpHierarchy,
): { nodes: OrgNodeRow[]; accounts: AccountRow[] } {
  const parents = new Map<string, string | null>();
  if (hierarchy.organization) parents.set(hierarchy.organization.name, null);
  for (const f of hierarchy.folders) parents.set(f.name, f.parent);
  const pathOf = (node: string): string[] => {
    const path: string[] = [];
    let current: string | null | undefined = node;
    const seen = new Set<string>();
    while (current && !seen.has(current)) {
      seen.add(current);
      path.unshift(current);
      current = parents.has(current) ? parents.get(current) : null;
    }
    return path;
  };
  const excludedFolders = new Set(ctx.excludeFolderIds.map(folderName));
  const excludedProjects = new Set(ctx.excludeProjectIds);
  const nodes: OrgNodeRow[] = [];
  if (hierarchy.organization) {
    nodes.push({
      assessment_id: ctx.assessmentId,
      node_id: hierarchy.organization.name,
      parent_id: null,
      kind: 'organization',
      name: hierarchy.organization.displayName,
      excluded: false,
    });
  }
  for (const f of hierarchy.folders) {
    nodes.push({
      assessment_id: ctx.assessmentId,
      node_id: f.name,
      parent_id: f.parent,
      kind: 'folder',
      name: f.displayName,
      excluded: pathOf(f.name).some((id) => excludedFolders.has(id)),
    });
  }
  const accounts: AccountRow[] = hierarchy.projects.map((p) => {
    const path = p.parent ? pathOf(p.parent) : [];
    const excludedBy = path.find((id) => excludedFolders.has(id));
    let inventory_status: AccountRow['inventory_status'] = 'ok';
    let inventory_error: string | null = null;
    if (excludedProjects.has(p.projectId)) {
      inventory_status = 'excluded';
      inventory_error = 'excluded by config (excludeProjectIds)';
    } else if (excludedBy) {
      inventory_status = 'excluded';
      inventory_error = `excluded by config: under ${excludedBy}`;
    } else if (p.state !== 'ACTIVE') {
      inventory_status = 'skipped';
      inventory_error = `project is ${p.state}`;
    }
    return {
      assessment_id: ctx.assessmentId,
      account_id: p.projectId,
      integration_id: ctx.integrationId,
      cloud: 'gcp',
      name: p.displayName,
      parent_path: path,
      status: p.state,
      tags: p.labels,
      ...accountRisk(p.projectId, p.labels, ctx.config),
      inventory_status,
      inventory_error,
    };
  });
  return { nodes, accounts };
}
