/** The API answers the dashboard reads, as docs/api.md and the route schemas describe them. */

import type {
  PreviewResult,
  RecommendationOption,
  RecommendationProof,
  RemediationRecord,
} from '../../../recommend/types.ts';

export type { PreviewResult, RecommendationOption, RecommendationProof, RemediationRecord };

export type Role = 'admin' | 'analyst' | 'auditor';

export interface Me {
  tokenId: string;
  name: string;
  role: Role;
}

export interface ScopeEntry {
  assessmentId: string;
  integrationId: string;
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Integration {
  integrationId: string;
  kind: string;
  name: string | null;
  running: boolean;
  currentAssessment: { assessmentId: string; status: string; startedAt: string } | null;
}

export interface AssessmentSummary {
  assessmentId: string;
  integrationId: string;
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
  windowStart: string;
  windowEnd: string;
  accountCount: number | null;
  principalCount: number | null;
  identityCount: number | null;
  errorCount: number;
  current: boolean;
}

export interface TrendPoint {
  day: string;
  all: number | null;
  privileged: number | null;
  principals: number;
  privilegedPrincipals: number;
}

export interface Bucket {
  key: string;
  count: number;
  filter: string;
}

export interface Widget {
  id: string;
  title: string;
  description: string;
  unit: 'percent' | 'count';
  value: number | null;
  count: number;
  filter: string;
  points?: TrendPoint[];
  buckets?: Bucket[];
}

export interface WidgetsAnswer {
  scope: ScopeEntry[];
  widgets: Widget[];
}

export interface PrincipalItem {
  principalId: string;
  name: string;
  type: string;
  cloud: string;
  integrationId: string;
  assessmentId: string;
  account: { id: string; name: string | null };
  status: string;
  tier: string;
  riskScore: number;
  overprivilegePct: number | null;
  highRiskOverprivilegePct: number | null;
  lastUsedAt: string | null;
  owner: string | null;
  ignored: boolean;
}

export interface PrincipalPage {
  total: number;
  /** The filter this page answers (the page on screen may lag behind the filter box). */
  filter: string;
  sort: string;
  order: string;
  limit: number;
  offset: number;
  scope: ScopeEntry[];
  items: PrincipalItem[];
}

export interface LevelCounts {
  granted: number;
  used: number;
  unused: number;
  unobservable: number;
}

export interface RecommendationSummary {
  recommendationId: string;
  kind: string;
  title: string;
  severity: string;
  rank: number;
  state: string;
  owner: string | null;
  policyId: string | null;
}

export interface RiskComponent {
  component: string;
  points: number;
  max: number;
  reason: string;
}

export interface PrincipalDetail {
  principalId: string;
  arn: string;
  name: string;
  type: string;
  cloud: string;
  integrationId: string;
  assessmentId: string;
  account: { id: string; name: string | null; riskLevel: string | null };
  createdAt: string | null;
  owner: string | null;
  serviceLinked: boolean;
  status: string | null;
  tier: string | null;
  risk: { score: number; breakdown: RiskComponent[] } | null;
  lastUsed: { at: string | null; source: string | null };
  identities: { human: number | null; machine: number | null };
  overprivilege: {
    pct: number | null;
    highRiskPct: number | null;
    granted: number;
    used: number;
    unused: number;
    unobservable: number;
    /** Why the logs cannot show all of its use; its unseen actions then count as not observable. */
    evidenceGap: string | null;
  } | null;
  ignored: { ignoreId: string; reason: string; createdBy: string; createdAt: string } | null;
  window: { start: string; end: string };
  recommendations: { top: RecommendationSummary[]; counts: Record<string, number> };
}

export interface Recommendation extends RecommendationSummary {
  ownerSource: string;
  stateReason: string | null;
  createdAt: string;
  options: RecommendationOption[];
  proof: RecommendationProof | null;
  remediations: RemediationSummary[];
}

/** A remediation as the recommendations list carries it (dates as DuckDB text, UTC). */
export interface RemediationSummary {
  remediationId: string;
  optionType: string;
  status: string;
  actor: string;
  appliedAt: string;
  rolledBackAt: string | null;
}

export interface Login {
  at: string;
  eventName: string;
  userAgent: string | null;
  sourceIp: string | null;
}

export interface UsedByIdentity {
  identity: string;
  kind: string;
  type: string;
  calls: number;
  activeDays: number;
  firstSeen: string | null;
  lastSeen: string | null;
  lastUserAgent: string | null;
  lastSourceIp: string | null;
  logins: Login[];
}

export interface UsedBy {
  window: { start: string; end: string };
  counts: { human: number; machine: number; total: number };
  total: number;
  identities: UsedByIdentity[];
}

export interface UsedForPolicy {
  policyId: string;
  name: string | null;
  kind: string | null;
  document: unknown;
  parseError: string | null;
  attachments: Array<{ via: string; viaRef: string }>;
  levels: Record<string, LevelCounts> | null;
  totals: LevelCounts | null;
}

export interface UsedFor {
  usageAvailable: boolean;
  policies: UsedForPolicy[];
}
