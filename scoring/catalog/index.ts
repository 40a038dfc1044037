// The catalog's public API in one import for other parts (ingest, scoring, recommend, api).
export {
  AwsCatalog,
  awsActionsByObservability,
  classifyAwsAction,
  getAwsCatalog,
  levelFromAccessLevels,
} from './aws.ts';
export {
  CloudTrailMapper,
  type EventExtra,
  type EventMapping,
  getCloudTrailMapper,
  type MappingStatus,
  mapCloudTrailEvent,
} from './cloudtrail.ts';
export { readCloudTrailFile, type TrailRecord } from './cloudtrail-file.ts';
export { classifyGcpPermission, gcpDataVersion, isGcpPermission } from './gcp.ts';
export {
  atLeast,
  compareLevels,
  isPrivilegeLevel,
  levelFromRank,
  levelRank,
  maxLevel,
  PRIVILEGE_LEVELS,
  type PrivilegeLevel,
} from './levels.ts';
export { type CatalogLoadResult, ensureGcpPermissions, loadActionCatalog } from './load.ts';
export type { ActionClassification, Cloud, Observability } from './types.ts';
