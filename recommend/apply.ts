import { randomBytes } from 'node:crypto';
import type { iam_v1 } from '@googleapis/iam';
import type {
  AwsAccountConfig,
  AwsOrganizationConfig,
  Config,
  GcpOrganizationConfig,
  GcpProjectConfig,
  IntegrationConfig,
} from '../config/schema.ts';
import { AwsSession, awsErrorName } from '../ingest/aws/clients.ts';
import { errorMessage, RemediationError } from '../lib/errors.ts';
import { type Logger, silentLogger } from '../lib/log.ts';
import type { Db, Row } from '../model/db.ts';
import {
  entityParameter,
  type IamEntity,
  partitionOf,
  policyArn,
} from './artifacts/aws-scripts.ts';
import { serviceAccountName } from './artifacts/gcp.ts';
import { type RecordedCall, RecordingIam } from './cloud/aws.ts';
import { gcpIamClient, RecordingGcpIam } from './cloud/gcp.ts';
import { setRecommendationState } from './store.ts';
import type {
  Artifact,
  PlannedCall,
  PreviewResult,
  RecommendationOption,
  RemediationRecord,
  RemediationService,
  RemediationStatus,
} from './types.ts';

/**
 * Applying and rolling back remediations. Admin-only at the API; here every apply and rollback,
 * successful or not, leaves a `remediation` row (calls made, previous state) and an `audit_log`
 * row. Three changes can be applied: a permissions boundary (quarantine, custom quarantine), a
 * deny rule attached to a principal (custom quarantine of one policy), and disabling a GCP
 * service account. Each one:
 *
 * - re-reads the live state first and refuses when it differs from what the recommendation was
 *   proven against (another boundary since the assessment, a changed boundary document);
 * - creates or reuses the policy in the principal's account (reused only when the document is
 *   identical), then makes the change and reads it back;
 * - on failure undoes what it already did, and records both;
 * - records the previous state so that rollback restores it exactly, refusing when the principal
 *   was changed again since (drift) rather than overwriting someone else's change.
 *
 * The preview makes no cloud call at all: it lists the calls from the snapshot.
 */

type AwsIntegration = AwsOrganizationConfig | AwsAccountConfig;
type GcpIntegration = GcpOrganizationConfig | GcpProjectConfig;

export interface RemediationServiceOptions {
  db: Db;
  config: Config;
  logger?: Logger;
  /** AWS session for an integration (default: its endpoint, first region and external id). */
  awsSession?: (integration: AwsIntegration) => AwsSession;
  /** GCP IAM client for an integration (default: gcpIamClient(endpoints.gcp)). */
  gcpIam?: (integration: GcpIntegration) => iam_v1.Iam;
}

interface PrincipalSnapshot {
  principalId: string;
  accountId: string;
  cloud: 'aws' | 'gcp';
  kind: string;
  name: string;
  boundaryPolicyId: string | null;
  boundaryDocument: unknown;
  tags: Record<string, string>;
  attributes: Record<string, unknown>;
}

interface Target {
  recommendationId: string;
  integrationId: string;
  state: string;
  stateReason: string | null;
  option: RecommendationOption;
  integration: IntegrationConfig;
  principal: PrincipalSnapshot;
}

type BoundaryState = {
  type: 'boundary';
  entity: IamEntity;
  previousBoundaryArn: string | null;
  appliedBoundaryArn: string;
  /** A policy of ours (created by this or an earlier remediation), deleted on rollback once unused. */
  createdPolicyArn: string | null;
};

type PoliciesState = {
  type: 'policies';
  entity: IamEntity;
  inline: Array<{ name: string; document: string; previousDocument: string | null }>;
  managed: Array<{ arn: string; document: string; created: boolean }>;
};

type ServiceAccountState = {
  type: 'service-account';
  name: string;
  previouslyDisabled: boolean;
};

type PreviousState = BoundaryState | PoliciesState | ServiceAccountState;

function json<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** Key-order-insensitive form of a JSON document, for "is this the same policy" checks. */
export function canonicalJson(value: unknown): string {
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(parsed));
}

const ENTITY_WORD = { user: 'User', role: 'Role', group: 'Group' } as const;
const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];

function boundaryArtifact(option: RecommendationOption): Artifact | undefined {
  return option.artifacts.find((a) => a.policy?.kind === 'boundary');
}

function policyArtifacts(option: RecommendationOption): Artifact[] {
  return option.artifacts.filter(
    (a) => a.policy && a.policy.kind !== 'boundary' && a.policy.kind !== 'gcp-role',
  );
}

function changeKind(option: RecommendationOption): PreviousState['type'] {
  if (option.type === 'gcp-disable') return 'service-account';
  if (option.type === 'quarantine') return 'boundary';
  if (option.type === 'custom-quarantine') {
    return boundaryArtifact(option) ? 'boundary' : 'policies';
  }
  throw new RemediationError(`option ${option.type} cannot be applied through the API`);
}

export class CloudRemediationService implements RemediationService {
  private readonly db: Db;
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly awsSessionFor: (integration: AwsIntegration) => AwsSession;
  private readonly gcpIamFor: (integration: GcpIntegration) => iam_v1.Iam;

  constructor(options: RemediationServiceOptions) {
    this.db = options.db;
    this.config = options.config;
    this.logger = options.logger ?? silentLogger;
    this.awsSessionFor =
      options.awsSession ??
      ((i) =>
        new AwsSession({
          endpoint: i.endpoints?.aws,
          region: i.regions[0],
          externalId: i.externalId,
          sessionName: 'access-discovery-remediation',
        }));
    this.gcpIamFor = options.gcpIam ?? ((i) => gcpIamClient(i.endpoints?.gcp));
  }

  // -------------------------------------------------------------------------------------------
  // Loading

  private async target(recommendationId: string, optionType: string): Promise<Target> {
    const rec = await this.db.one(
      `SELECT recommendation_id, assessment_id, integration_id, principal_id, state, state_reason, options
       FROM recommendation WHERE recommendation_id = $id`,
      { id: recommendationId },
    );
    if (!rec)
      throw new RemediationError(`no recommendation ${recommendationId}`, { recommendationId });
    const options = json<RecommendationOption[]>(rec.options);
    const option = options.find((o) => o.type === optionType);
    if (!option) {
      throw new RemediationError(
        `recommendation ${recommendationId} has no option ${optionType}; it offers ${options.map((o) => o.type).join(', ') || 'none'}`,
        { recommendationId, optionType },
      );
    }
    const integrationId = String(rec.integration_id);
    const integration = this.config.integrations.find((i) => i.id === integrationId);
    if (!integration) {
      throw new RemediationError(`integration ${integrationId} is not in the config`, {
        integrationId,
      });
    }
    const p = await this.db.one(
      `SELECT p.principal_id, p.account_id, p.cloud, p.kind, p.name, p.boundary_policy_id, p.tags,
              p.attributes, b.document AS boundary_document
       FROM principal p
       LEFT JOIN policy b ON b.assessment_id = p.assessment_id AND b.policy_id = p.boundary_policy_id
       WHERE p.assessment_id = $a AND p.principal_id = $p`,
      { a: String(rec.assessment_id), p: String(rec.principal_id) },
    );
    if (!p) {
      throw new RemediationError(
        `principal ${String(rec.principal_id)} is not in assessment ${String(rec.assessment_id)}`,
      );
    }
    return {
      recommendationId,
      integrationId,
      state: String(rec.state),
      stateReason: rec.state_reason === null ? null : String(rec.state_reason),
      option,
      integration,
      principal: {
        principalId: String(p.principal_id),
        accountId: String(p.account_id),
        cloud: p.cloud === 'gcp' ? 'gcp' : 'aws',
        kind: String(p.kind),
        name: String(p.name),
        boundaryPolicyId: p.boundary_policy_id === null ? null : String(p.boundary_policy_id),
        boundaryDocument: p.boundary_document === null ? null : json<unknown>(p.boundary_document),
        tags: json<Record<string, string>>(p.tags),
        attributes: json<Record<string, unknown>>(p.attributes),
      },
    };
  }

  private entity(target: Target): IamEntity {
    const kind = target.principal.kind;
    if (kind !== 'user' && kind !== 'role' && kind !== 'group') {
      throw new RemediationError(`cannot change an AWS ${kind}`, {
        principalId: target.principal.principalId,
      });
    }
    return { kind, name: target.principal.name };
  }

  private awsIntegration(target: Target): AwsIntegration & { remediationRoleName: string } {
    const i = target.integration;
    if (i.kind !== 'aws-organization' && i.kind !== 'aws-account') {
      throw new RemediationError(`integration ${i.id} is not an AWS integration`);
    }
    if (!i.remediationRoleName) {
      throw new RemediationError(
        `integration ${i.id} has no remediationRoleName: remediations are preview-only (docs/remediation.md)`,
        { integrationId: i.id },
      );
    }
    return { ...i, remediationRoleName: i.remediationRoleName };
  }

  private remediationRoleArn(target: Target): string {
    const i = this.awsIntegration(target);
    return `arn:${partitionOf(target.principal.principalId)}:iam::${target.principal.accountId}:role/${i.remediationRoleName}`;
  }

  private iamFor(target: Target): RecordingIam {
    const integration = this.awsIntegration(target);
    const session = this.awsSessionFor(integration);
    const credentials = session.assumeRole(this.remediationRoleArn(target));
    return new RecordingIam(session.iam(credentials), target.principal.accountId);
  }

  private gcpFor(target: Target): RecordingGcpIam {
    const i = target.integration;
    if (i.kind !== 'gcp-organization' && i.kind !== 'gcp-project') {
      throw new RemediationError(`integration ${i.id} is not a GCP integration`);
    }
    return new RecordingGcpIam(this.gcpIamFor(i), target.principal.accountId);
  }

  // -------------------------------------------------------------------------------------------
  // Preview

  async preview(recommendationId: string, optionType: string): Promise<PreviewResult> {
    const target = await this.target(recommendationId, optionType);
    const warnings: string[] = [];
    if (target.state !== 'open') {
      warnings.push(
        `the recommendation is ${target.state}${target.stateReason ? ` (${target.stateReason})` : ''}: apply will refuse it`,
      );
    }
    if (!target.option.applicable) {
      warnings.push(
        target.option.notApplicableReason ?? 'this option cannot be applied through the API',
      );
    }
    warnings.push(...target.option.reviewNotes);
    const p = target.principal;
    const calls: PlannedCall[] = [];
    let currentState: Record<string, unknown>;
    const kind = changeKind(target.option);
    if (kind === 'service-account') {
      const name = serviceAccountName(p.accountId, p.name);
      calls.push(
        {
          service: 'iam',
          operation: 'projects.serviceAccounts.get',
          accountId: p.accountId,
          parameters: { name },
        },
        {
          service: 'iam',
          operation: 'projects.serviceAccounts.disable',
          accountId: p.accountId,
          parameters: { name },
          condition: 'when the service account is enabled',
        },
        {
          service: 'iam',
          operation: 'projects.serviceAccounts.get',
          accountId: p.accountId,
          parameters: { name },
        },
      );
      currentState = { disabled: p.attributes.disabled === true, source: 'snapshot' };
    } else {
      const integration = target.integration;
      const roleName =
        integration.kind === 'aws-organization' || integration.kind === 'aws-account'
          ? integration.remediationRoleName
          : undefined;
      if (!roleName) warnings.push('the integration has no remediationRoleName: apply will refuse');
      const entity = this.entity(target);
      const word = ENTITY_WORD[entity.kind];
      const partition = partitionOf(p.principalId);
      calls.push({
        service: 'sts',
        operation: 'AssumeRole',
        accountId: p.accountId,
        parameters: {
          RoleArn: `arn:${partition}:iam::${p.accountId}:role/${roleName ?? '(remediationRoleName)'}`,
        },
      });
      if (kind === 'boundary') {
        const artifact = boundaryArtifact(target.option)!;
        const arn = policyArn(partition, p.accountId, artifact.policy!.name);
        const get = { service: 'iam', accountId: p.accountId };
        calls.push({ ...get, operation: `Get${word}`, parameters: entityParameter(entity) });
        if (target.option.type === 'custom-quarantine' && p.boundaryPolicyId) {
          calls.push(
            { ...get, operation: 'GetPolicy', parameters: { PolicyArn: p.boundaryPolicyId } },
            {
              ...get,
              operation: 'GetPolicyVersion',
              parameters: { PolicyArn: p.boundaryPolicyId, VersionId: '(default)' },
              condition: 'checks the current boundary is still the one the proof used',
            },
          );
        }
        calls.push(
          { ...get, operation: 'GetPolicy', parameters: { PolicyArn: arn } },
          {
            ...get,
            operation: 'CreatePolicy',
            parameters: {
              PolicyName: artifact.policy!.name,
              PolicyDocument: artifact.content.trim(),
            },
            condition: 'when no policy of that name exists (an identical one is reused)',
          },
          {
            ...get,
            operation: `Put${word}PermissionsBoundary`,
            parameters: { ...entityParameter(entity), PermissionsBoundary: arn },
          },
          {
            ...get,
            operation: `Get${word}`,
            parameters: entityParameter(entity),
            condition: 'reads the change back',
          },
        );
        currentState = { boundaryPolicyId: p.boundaryPolicyId, source: 'snapshot' };
      } else {
        for (const artifact of policyArtifacts(target.option)) {
          const policy = artifact.policy!;
          if (policy.kind === 'managed') {
            const arn = policyArn(partition, p.accountId, policy.name);
            calls.push(
              {
                service: 'iam',
                accountId: p.accountId,
                operation: 'GetPolicy',
                parameters: { PolicyArn: arn },
              },
              {
                service: 'iam',
                accountId: p.accountId,
                operation: 'CreatePolicy',
                parameters: { PolicyName: policy.name, PolicyDocument: artifact.content.trim() },
                condition: 'when no policy of that name exists (an identical one is reused)',
              },
              {
                service: 'iam',
                accountId: p.accountId,
                operation: `Attach${word}Policy`,
                parameters: { ...entityParameter(entity), PolicyArn: arn },
              },
            );
          } else {
            calls.push(
              {
                service: 'iam',
                accountId: p.accountId,
                operation: `Get${word}Policy`,
                parameters: { ...entityParameter(entity), PolicyName: policy.name },
                condition: 'records an inline policy of the same name, restored on rollback',
              },
              {
                service: 'iam',
                accountId: p.accountId,
                operation: `Put${word}Policy`,
                parameters: {
                  ...entityParameter(entity),
                  PolicyName: policy.name,
                  PolicyDocument: artifact.content.trim(),
                },
              },
            );
          }
        }
        currentState = { attachments: 'as in the snapshot', source: 'snapshot' };
      }
    }
    return {
      recommendationId,
      optionType,
      principalId: p.principalId,
      accountId: p.accountId,
      calls,
      currentState,
      warnings,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Apply

  async apply(
    recommendationId: string,
    optionType: string,
    actor: string,
  ): Promise<RemediationRecord> {
    let target: Target;
    try {
      target = await this.target(recommendationId, optionType);
      this.checkApplicable(target);
      await this.checkIgnored(target);
    } catch (err) {
      await this.audit(actor, 'remediation.apply', recommendationId, 'failed', {
        recommendationId,
        optionType,
        error: errorMessage(err),
      });
      throw err;
    }
    const remediationId = `rem_${randomBytes(8).toString('hex')}`;
    const p = target.principal;
    await this.db.exec(
      `INSERT INTO remediation (remediation_id, recommendation_id, integration_id, principal_id, account_id,
         option_type, status, calls, previous_state, actor, applied_at, error)
       VALUES ($id, $rec, $integration, $principal, $account, $option, 'failed', '[]', '{}', $actor, now(),
         'in progress: the process stopped before the change finished')`,
      {
        id: remediationId,
        rec: recommendationId,
        integration: target.integrationId,
        principal: p.principalId,
        account: p.accountId,
        option: optionType,
        actor,
      },
    );
    let calls: RecordedCall[] = [];
    let rollbackCalls: RecordedCall[] | null = null;
    let previous: PreviousState | undefined;
    let error: string | null = null;
    const kind = changeKind(target.option);
    try {
      if (kind === 'service-account') {
        const gcp = this.gcpFor(target);
        calls = gcp.calls;
        previous = await this.applyDisable(target, gcp);
      } else {
        const iam = this.iamFor(target);
        calls = iam.calls;
        const undo = { state: undefined as PreviousState | undefined };
        try {
          previous =
            kind === 'boundary'
              ? await this.applyBoundary(target, iam, undo)
              : await this.applyPolicies(target, iam, undo);
        } catch (err) {
          // Undo what was already changed, so a failed apply leaves the principal as it was.
          if (undo.state) {
            const undoIam = this.iamFor(target);
            rollbackCalls = undoIam.calls;
            try {
              await this.restoreAws(undo.state, undoIam, false);
            } catch (undoErr) {
              throw new RemediationError(
                `${errorMessage(err)}; undoing the partial change also failed: ${errorMessage(undoErr)}`,
                {},
                { cause: err },
              );
            }
          }
          throw err;
        }
      }
    } catch (err) {
      error = describe(err);
    }
    const status: RemediationStatus = error ? 'failed' : 'applied';
    await this.db.exec(
      `UPDATE remediation SET status = $status, calls = $calls, previous_state = $previous,
         rollback_calls = $rollback, error = $error WHERE remediation_id = $id`,
      {
        id: remediationId,
        status,
        calls: JSON.stringify(calls),
        previous: JSON.stringify(previous ?? {}),
        rollback: rollbackCalls ? JSON.stringify(rollbackCalls) : null,
        error,
      },
    );
    if (status === 'applied') {
      await setRecommendationState(
        this.db,
        recommendationId,
        'applied',
        `remediation ${remediationId}`,
      );
    }
    await this.audit(actor, 'remediation.apply', remediationId, error ? 'failed' : 'success', {
      recommendationId,
      optionType,
      principalId: p.principalId,
      accountId: p.accountId,
      calls: calls.map((c) => `${c.operation}:${c.outcome}`),
      ...(error ? { error } : {}),
    });
    this.logger.info(
      `remediation ${remediationId} (${optionType} of ${p.principalId}): ${status}${error ? `: ${error}` : ''}`,
    );
    const record = await this.record(remediationId);
    if (error) {
      throw new RemediationError(`remediation ${remediationId} failed: ${error}`, {
        remediationId,
        record,
      });
    }
    return record;
  }

  private checkApplicable(target: Target): void {
    if (!target.option.applicable) {
      throw new RemediationError(
        `option ${target.option.type} of ${target.recommendationId} cannot be applied through the API: ${target.option.notApplicableReason ?? 'use its artifacts'}`,
      );
    }
    if (target.state !== 'open') {
      throw new RemediationError(
        `recommendation ${target.recommendationId} is ${target.state}${target.stateReason ? ` (${target.stateReason})` : ''}; only open recommendations are applied`,
        { recommendationId: target.recommendationId, state: target.state },
      );
    }
    const tag = this.config.breakGlassTag;
    const value = target.principal.tags[tag.key];
    if (value !== undefined && (tag.value === undefined || tag.value === value)) {
      throw new RemediationError(
        `${target.principal.principalId} is a break-glass principal (tag ${tag.key})`,
      );
    }
  }

  /** An ignore rule created after the assessment also stops an apply. */
  private async checkIgnored(target: Target): Promise<void> {
    const rule = await this.db.one(
      `SELECT ignore_id, reason FROM ignore_rule
       WHERE principal_id = $p AND removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())
         AND (integration_id IS NULL OR integration_id = $i)`,
      { p: target.principal.principalId, i: target.integrationId },
    );
    if (rule) {
      throw new RemediationError(
        `${target.principal.principalId} is ignored (${String(rule.ignore_id)}: ${String(rule.reason)})`,
      );
    }
  }

  private async currentBoundary(iam: RecordingIam, entity: IamEntity): Promise<string | null> {
    const word = ENTITY_WORD[entity.kind];
    const out = await iam.send(`Get${word}` as 'GetUser' | 'GetRole', entityParameter(entity));
    const body = out?.[word] as
      | { PermissionsBoundary?: { PermissionsBoundaryArn?: string } }
      | undefined;
    return body?.PermissionsBoundary?.PermissionsBoundaryArn ?? null;
  }

  /** The default version's document of a managed policy, or undefined when there is no such policy. */
  private async managedDocument(iam: RecordingIam, arn: string): Promise<string | undefined> {
    const got = await iam.send('GetPolicy', { PolicyArn: arn }, NO_SUCH_ENTITY);
    if (!got) return undefined;
    const versionId = (got.Policy as { DefaultVersionId?: string } | undefined)?.DefaultVersionId;
    const version = await iam.send('GetPolicyVersion', { PolicyArn: arn, VersionId: versionId });
    const doc = (version?.PolicyVersion as { Document?: string } | undefined)?.Document;
    if (doc === undefined) throw new RemediationError(`policy ${arn} returned no document`);
    return decodeURIComponent(doc);
  }

  /** Create the managed policy, or reuse one with the same name and document. */
  private async ensureManagedPolicy(
    iam: RecordingIam,
    arn: string,
    name: string,
    document: string,
    description: string,
  ): Promise<boolean> {
    const existing = await this.managedDocument(iam, arn);
    if (existing !== undefined) {
      if (canonicalJson(existing) !== canonicalJson(document)) {
        throw new RemediationError(
          `a different policy named ${name} already exists in account ${iam.accountId}; not overwriting it`,
          { arn },
        );
      }
      return false;
    }
    await iam.send('CreatePolicy', {
      PolicyName: name,
      PolicyDocument: JSON.stringify(JSON.parse(document)),
      Description: description.slice(0, 1000),
    });
    return true;
  }

  private async createdByEarlierRemediation(arn: string): Promise<boolean> {
    const n = await this.db.scalar<number>(
      "SELECT count(*) FROM remediation WHERE json_extract_string(previous_state, '$.createdPolicyArn') = $arn",
      { arn },
    );
    return Number(n) > 0;
  }

  private async applyBoundary(
    target: Target,
    iam: RecordingIam,
    undo: { state: PreviousState | undefined },
  ): Promise<BoundaryState> {
    const entity = this.entity(target);
    if (entity.kind === 'group')
      throw new RemediationError('groups cannot have a permissions boundary');
    const artifact = boundaryArtifact(target.option)!;
    const p = target.principal;
    const arn = policyArn(partitionOf(p.principalId), p.accountId, artifact.policy!.name);
    const current = await this.currentBoundary(iam, entity);
    if (current === arn) {
      throw new RemediationError(`${p.principalId} already has the boundary ${arn}`);
    }
    if (target.option.type === 'custom-quarantine') {
      // The boundary was proven against the snapshot's boundary: it must still be the same.
      if (current !== p.boundaryPolicyId) {
        throw new RemediationError(
          `the boundary of ${p.principalId} changed since the assessment (now ${current ?? 'none'}, then ${p.boundaryPolicyId ?? 'none'}): run a new assessment`,
        );
      }
      if (current) {
        const live = await this.managedDocument(iam, current);
        if (live === undefined || canonicalJson(live) !== canonicalJson(p.boundaryDocument)) {
          throw new RemediationError(
            `the boundary policy ${current} changed since the assessment: run a new assessment`,
          );
        }
      }
    }
    const created = await this.ensureManagedPolicy(
      iam,
      arn,
      artifact.policy!.name,
      artifact.content,
      `Access Discovery ${target.option.type} boundary (recommendation ${target.recommendationId})`,
    );
    // A policy an earlier remediation created (the shared quarantine boundary) is ours too: the
    // last rollback that leaves it unused deletes it, whichever order they run in.
    const ours = created || (await this.createdByEarlierRemediation(arn));
    const state: BoundaryState = {
      type: 'boundary',
      entity,
      previousBoundaryArn: current,
      appliedBoundaryArn: arn,
      createdPolicyArn: ours ? arn : null,
    };
    undo.state = state;
    const word = ENTITY_WORD[entity.kind];
    await iam.send(`Put${word}PermissionsBoundary` as 'PutUserPermissionsBoundary', {
      ...entityParameter(entity),
      PermissionsBoundary: arn,
    });
    const after = await this.currentBoundary(iam, entity);
    if (after !== arn) {
      throw new RemediationError(
        `read back the boundary of ${p.principalId}: ${after ?? 'none'}, not ${arn}`,
      );
    }
    return state;
  }

  private async applyPolicies(
    target: Target,
    iam: RecordingIam,
    undo: { state: PreviousState | undefined },
  ): Promise<PoliciesState> {
    const entity = this.entity(target);
    const word = ENTITY_WORD[entity.kind];
    const p = target.principal;
    const partition = partitionOf(p.principalId);
    const state: PoliciesState = { type: 'policies', entity, inline: [], managed: [] };
    undo.state = state;
    for (const artifact of policyArtifacts(target.option)) {
      const policy = artifact.policy!;
      const document = JSON.stringify(JSON.parse(artifact.content));
      if (policy.kind === 'managed') {
        const arn = policyArn(partition, p.accountId, policy.name);
        const created = await this.ensureManagedPolicy(
          iam,
          arn,
          policy.name,
          document,
          `Access Discovery deny rule (recommendation ${target.recommendationId})`,
        );
        state.managed.push({ arn, document, created });
        await iam.send(`Attach${word}Policy` as 'AttachUserPolicy', {
          ...entityParameter(entity),
          PolicyArn: arn,
        });
      } else {
        const existing = await iam.send(
          `Get${word}Policy` as 'GetUserPolicy',
          { ...entityParameter(entity), PolicyName: policy.name },
          NO_SUCH_ENTITY,
        );
        const previousDocument =
          typeof existing?.PolicyDocument === 'string'
            ? decodeURIComponent(existing.PolicyDocument)
            : null;
        state.inline.push({ name: policy.name, document, previousDocument });
        await iam.send(`Put${word}Policy` as 'PutUserPolicy', {
          ...entityParameter(entity),
          PolicyName: policy.name,
          PolicyDocument: document,
        });
      }
    }
    return state;
  }

  private async applyDisable(target: Target, gcp: RecordingGcpIam): Promise<ServiceAccountState> {
    const p = target.principal;
    if (p.kind !== 'service-account')
      throw new RemediationError(`${p.principalId} is not a service account`);
    const name = serviceAccountName(p.accountId, p.name);
    const before = await gcp.getServiceAccount(name);
    if (!before.disabled) await gcp.disableServiceAccount(name);
    const after = await gcp.getServiceAccount(name);
    if (!after.disabled) throw new RemediationError(`read back ${p.name}: still enabled`);
    return { type: 'service-account', name, previouslyDisabled: before.disabled };
  }

  // -------------------------------------------------------------------------------------------
  // Rollback

  async rollback(remediationId: string, actor: string): Promise<RemediationRecord> {
    const row = await this.db.one(
      `SELECT remediation_id, recommendation_id, status, previous_state FROM remediation WHERE remediation_id = $id`,
      { id: remediationId },
    );
    if (!row) {
      await this.audit(actor, 'remediation.rollback', remediationId, 'failed', {
        error: 'no such remediation',
      });
      throw new RemediationError(`no remediation ${remediationId}`, { remediationId });
    }
    if (row.status !== 'applied' && row.status !== 'rollback-failed') {
      const message = `remediation ${remediationId} is ${String(row.status)}; only applied remediations (or failed rollbacks) are rolled back`;
      await this.audit(actor, 'remediation.rollback', remediationId, 'failed', { error: message });
      throw new RemediationError(message, { remediationId });
    }
    const recommendationId = String(row.recommendation_id);
    const previous = json<PreviousState>(row.previous_state);
    let calls: RecordedCall[] = [];
    let error: string | null = null;
    try {
      const target = await this.targetOf(row);
      if (previous.type === 'service-account') {
        const gcp = this.gcpFor(target);
        calls = gcp.calls;
        const now = await gcp.getServiceAccount(previous.name);
        if (!previous.previouslyDisabled && now.disabled) {
          await gcp.enableServiceAccount(previous.name);
          const after = await gcp.getServiceAccount(previous.name);
          if (after.disabled)
            throw new RemediationError(`read back ${previous.name}: still disabled`);
        }
      } else {
        const iam = this.iamFor(target);
        calls = iam.calls;
        await this.restoreAws(previous, iam, true);
      }
    } catch (err) {
      error = describe(err);
    }
    const status: RemediationStatus = error ? 'rollback-failed' : 'rolled-back';
    await this.db.exec(
      `UPDATE remediation SET status = $status, rollback_calls = $calls, error = $error,
         rolled_back_at = CASE WHEN $status = 'rolled-back' THEN now() ELSE rolled_back_at END,
         rolled_back_by = CASE WHEN $status = 'rolled-back' THEN $actor ELSE rolled_back_by END
       WHERE remediation_id = $id`,
      { id: remediationId, status, calls: JSON.stringify(calls), error, actor },
    );
    if (status === 'rolled-back') {
      const rec = await this.db.one(
        'SELECT state, state_reason FROM recommendation WHERE recommendation_id = $id',
        { id: recommendationId },
      );
      if (rec?.state === 'applied' && rec.state_reason === `remediation ${remediationId}`) {
        await setRecommendationState(this.db, recommendationId, 'open', null);
      }
    }
    await this.audit(actor, 'remediation.rollback', remediationId, error ? 'failed' : 'success', {
      recommendationId,
      calls: calls.map((c) => `${c.operation}:${c.outcome}`),
      ...(error ? { error } : {}),
    });
    const record = await this.record(remediationId);
    if (error) {
      throw new RemediationError(`rollback of ${remediationId} failed: ${error}`, {
        remediationId,
        record,
      });
    }
    return record;
  }

  private async targetOf(row: Row): Promise<Target> {
    const rem = await this.db.one(
      'SELECT option_type FROM remediation WHERE remediation_id = $id',
      {
        id: String(row.remediation_id),
      },
    );
    return this.target(String(row.recommendation_id), String(rem?.option_type));
  }

  /**
   * Put the AWS principal back as recorded. `checkDrift`: refuse when the principal no longer has
   * what apply put there (someone changed it since); the undo of a failed apply skips the check.
   */
  private async restoreAws(
    state: PreviousState,
    iam: RecordingIam,
    checkDrift: boolean,
  ): Promise<void> {
    if (state.type === 'boundary') {
      const word = ENTITY_WORD[state.entity.kind];
      const current = await this.currentBoundary(iam, state.entity);
      if (checkDrift && current !== state.appliedBoundaryArn) {
        throw new RemediationError(
          `the boundary of ${state.entity.kind} ${state.entity.name} changed since the remediation (now ${current ?? 'none'}): not overwriting it`,
        );
      }
      if (current !== state.previousBoundaryArn) {
        if (state.previousBoundaryArn) {
          await iam.send(`Put${word}PermissionsBoundary` as 'PutUserPermissionsBoundary', {
            ...entityParameter(state.entity),
            PermissionsBoundary: state.previousBoundaryArn,
          });
        } else {
          await iam.send(
            `Delete${word}PermissionsBoundary` as 'DeleteUserPermissionsBoundary',
            entityParameter(state.entity),
          );
        }
      }
      if (state.createdPolicyArn) await this.deleteIfUnused(iam, state.createdPolicyArn);
      const after = await this.currentBoundary(iam, state.entity);
      if (after !== state.previousBoundaryArn) {
        throw new RemediationError(
          `read back the boundary: ${after ?? 'none'}, not ${state.previousBoundaryArn ?? 'none'}`,
        );
      }
      return;
    }
    if (state.type !== 'policies')
      throw new RemediationError(`cannot restore ${state.type} through IAM`);
    const word = ENTITY_WORD[state.entity.kind];
    for (const inline of state.inline) {
      const current = await iam.send(
        `Get${word}Policy` as 'GetUserPolicy',
        { ...entityParameter(state.entity), PolicyName: inline.name },
        NO_SUCH_ENTITY,
      );
      const currentDoc =
        typeof current?.PolicyDocument === 'string'
          ? decodeURIComponent(current.PolicyDocument)
          : null;
      if (
        checkDrift &&
        (currentDoc === null || canonicalJson(currentDoc) !== canonicalJson(inline.document))
      ) {
        throw new RemediationError(
          `the inline policy ${inline.name} changed since the remediation: not overwriting it`,
        );
      }
      if (inline.previousDocument !== null) {
        await iam.send(`Put${word}Policy` as 'PutUserPolicy', {
          ...entityParameter(state.entity),
          PolicyName: inline.name,
          PolicyDocument: inline.previousDocument,
        });
      } else if (currentDoc !== null) {
        await iam.send(`Delete${word}Policy` as 'DeleteUserPolicy', {
          ...entityParameter(state.entity),
          PolicyName: inline.name,
        });
      }
    }
    for (const managed of state.managed) {
      await iam.send(
        `Detach${word}Policy` as 'DetachUserPolicy',
        { ...entityParameter(state.entity), PolicyArn: managed.arn },
        NO_SUCH_ENTITY,
      );
      if (managed.created) await this.deleteIfUnused(iam, managed.arn);
    }
  }

  /** Delete a policy we created, unless something else now uses it. */
  private async deleteIfUnused(iam: RecordingIam, arn: string): Promise<void> {
    const got = await iam.send('GetPolicy', { PolicyArn: arn }, NO_SUCH_ENTITY);
    if (!got) return;
    const policy = got.Policy as {
      AttachmentCount?: number;
      PermissionsBoundaryUsageCount?: number;
    };
    if ((policy.AttachmentCount ?? 0) === 0 && (policy.PermissionsBoundaryUsageCount ?? 0) === 0) {
      await iam.send('DeletePolicy', { PolicyArn: arn });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Records

  private async record(remediationId: string): Promise<RemediationRecord> {
    const row = await this.db.one(
      `SELECT remediation_id, recommendation_id, integration_id, principal_id, account_id, option_type,
              status, calls, previous_state, rollback_calls, actor, CAST(applied_at AS VARCHAR) AS applied_at,
              CAST(rolled_back_at AS VARCHAR) AS rolled_back_at, rolled_back_by, error
       FROM remediation WHERE remediation_id = $id`,
      { id: remediationId },
    );
    if (!row) throw new RemediationError(`no remediation ${remediationId}`);
    return remediationRecord(row);
  }

  private async audit(
    actor: string,
    action: string,
    target: string,
    outcome: 'success' | 'failed',
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.db.exec(
      `INSERT INTO audit_log (occurred_at, actor, role, action, target, outcome, details)
       VALUES (now(), $actor, NULL, $action, $target, $outcome, $details)`,
      { actor, action, target, outcome, details: JSON.stringify(details) },
    );
  }
}

function describe(err: unknown): string {
  const name = awsErrorName(err);
  const message = errorMessage(err);
  return name && name !== 'Error' && !message.startsWith(name) && !(err instanceof RemediationError)
    ? `${name}: ${message}`
    : message;
}

export function remediationRecord(row: Row): RemediationRecord {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    remediationId: String(row.remediation_id),
    recommendationId: String(row.recommendation_id),
    integrationId: String(row.integration_id),
    principalId: String(row.principal_id),
    accountId: String(row.account_id),
    optionType: String(row.option_type),
    status: String(row.status) as RemediationStatus,
    calls: json<unknown[]>(row.calls),
    previousState: json<Record<string, unknown>>(row.previous_state),
    rollbackCalls: row.rollback_calls === null ? null : json<unknown[]>(row.rollback_calls),
    actor: String(row.actor),
    appliedAt: String(row.applied_at),
    rolledBackAt: text(row.rolled_back_at),
    rolledBackBy: text(row.rolled_back_by),
    error: text(row.error),
  };
}

export function createRemediationService(options: RemediationServiceOptions): RemediationService {
  return new CloudRemediationService(options);
}
