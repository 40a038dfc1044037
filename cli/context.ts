import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type LoadedConfig, loadConfig } from '../config/load.ts';
import { UsageError } from '../lib/errors.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { Db } from '../model/db.ts';

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  config?: string;
  db?: string;
  verbose?: boolean;
  quiet?: boolean;
}

export const DEFAULT_CONFIG_FILES = [
  'access-discovery.yaml',
  'access-discovery.yml',
  'access-discovery.json',
];

/** The config file named by --config, $ACCESS_DISCOVERY_CONFIG, or found in the working directory. */
export function findConfigFile(options: GlobalOptions): string | undefined {
  if (options.config) return options.config;
  const fromEnv = process.env.ACCESS_DISCOVERY_CONFIG;
  if (fromEnv) return fromEnv;
  return DEFAULT_CONFIG_FILES.find((f) => existsSync(f));
}

export function requireConfig(options: GlobalOptions): LoadedConfig {
  const file = findConfigFile(options);
  if (!file) {
    throw new UsageError(
      `no config file: pass --config FILE, set ACCESS_DISCOVERY_CONFIG, or create ${DEFAULT_CONFIG_FILES[0]} (see docs/config.md)`,
    );
  }
  return loadConfig(file);
}

/** The database named by --db, else by the config file. */
export function resolveDatabasePath(options: GlobalOptions): string {
  if (options.db) return options.db === ':memory:' ? options.db : resolve(options.db);
  return requireConfig(options).databasePath;
}

export async function openDatabase(options: GlobalOptions, readOnly = false): Promise<Db> {
  return Db.open(resolveDatabasePath(options), { readOnly });
}

export function loggerFor(options: GlobalOptions): Logger {
  return createLogger({ verbose: options.verbose, quiet: options.quiet });
}
