import type { PrivilegeLevel } from './levels.ts';

export type Cloud = 'aws' | 'gcp';

/** How audit logs can show a use: every trail, data-event selectors only, or not at all. */
export type Observability = 'management' | 'data-event' | 'never';

/** Everything the catalog knows about one AWS action or GCP permission, with the reasons. */
export interface ActionClassification {
  cloud: Cloud;
  /** Canonical name: `s3:GetObject` or `storage.objects.get`. */
  action: string;
  service: string;
  /** AWS: published access levels; GCP: the rule that matched. */
  accessLevels: string[];
  level: PrivilegeLevel;
  levelRank: number;
  levelReason: string;
  /** Category of the override that set the level (privilege-escalation, ...), if any. */
  levelCategory?: string;
  sensitivity: number;
  /** The level base first, then every rule that raised it (highest first). */
  sensitivityReasons: string[];
  observable: Observability;
  observableReason: string;
  resourceTypes: string[];
  resourceScopeable: boolean;
  dataVersion: string;
}
