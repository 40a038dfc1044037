/**
 * Typed errors. Each carries enough context for the log (account, call, cause) while
 * `message` stays one sentence a user can act on.
 */
export class AccessDiscoveryError extends Error {
  readonly details: Record<string, unknown>;
  constructor(
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

/** The configuration file is missing, unreadable or invalid. */
export class ConfigError extends AccessDiscoveryError {}

/** The database file cannot be opened or migrated. */
export class DatabaseError extends AccessDiscoveryError {}

/** A cloud or file source failed while ingesting; carries integration, account, service and call. */
export class IngestError extends AccessDiscoveryError {}

/** A user-supplied value (CLI argument, filter, request) is invalid. */
export class UsageError extends AccessDiscoveryError {}

/** A policy document does not parse or validate. */
export class PolicyError extends AccessDiscoveryError {}

/** A remediation cannot be previewed, applied or rolled back. */
export class RemediationError extends AccessDiscoveryError {}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
