/**
 * The CloudTrail record fields ingestion reads, as DuckDB types. Everything else in a record
 * (requestParameters, resources, ...) is never parsed into memory.
 */
export const RECORD_COLUMNS: ReadonlyArray<readonly [name: string, type: string]> = [
  ['eventTime', 'VARCHAR'],
  ['eventSource', 'VARCHAR'],
  ['eventName', 'VARCHAR'],
  ['awsRegion', 'VARCHAR'],
  ['sourceIPAddress', 'VARCHAR'],
  ['userAgent', 'VARCHAR'],
  ['errorCode', 'VARCHAR'],
  ['recipientAccountId', 'VARCHAR'],
  ['eventCategory', 'VARCHAR'],
  ['managementEvent', 'BOOLEAN'],
  ['sessionCredentialFromConsole', 'VARCHAR'],
  [
    'userIdentity',
    `STRUCT(type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, accessKeyId VARCHAR,
      userName VARCHAR, invokedBy VARCHAR,
      sessionContext STRUCT(
        sessionIssuer STRUCT(type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, userName VARCHAR),
        attributes STRUCT(creationDate VARCHAR, mfaAuthenticated VARCHAR),
        webIdFederationData JSON))`,
  ],
  ['responseElements', 'JSON'],
];

const quote = (text: string): string => `'${text.replaceAll("'", "''").replace(/\s+/g, ' ')}'`;

/** `STRUCT(eventTime VARCHAR, ...)`: the type of one record. */
export const RECORD_STRUCT = `STRUCT(${RECORD_COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})`;

/** `{'eventTime': 'VARCHAR', ...}`: read_json columns for bare arrays of records. */
export const RECORD_COLUMNS_MAP = `{${RECORD_COLUMNS.map(([n, t]) => `${quote(n)}: ${quote(t)}`).join(', ')}}`;

/** read_json columns for `{"Records": [...]}` objects. */
export const WRAPPED_COLUMNS_MAP = `{'Records': ${quote(`${RECORD_STRUCT}[]`)}}`;
