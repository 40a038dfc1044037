import { existsSync, renameSync, statSync } from 'node:fs';
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBResultReader,
  DuckDBTypeId,
  type DuckDBValue,
} from '@duckdb/node-api';
import { DatabaseError } from '../lib/errors.ts';
import { migrate, migratingMarker } from './migrate.ts';

/** Values that may be bound to a `$name` or `?` parameter. */
export type SqlParams = Record<string, DuckDBValue> | DuckDBValue[];

/** A plain JS value as returned by {@link Db.all}: BIGINT becomes number when safe, dates ISO strings. */
export type SqlValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | SqlValue[]
  | { [key: string]: SqlValue };

export type Row = Record<string, SqlValue>;

export interface OpenOptions {
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
  /** Open read-only; migrations are not applied. */
  readOnly?: boolean;
  /** DuckDB threads; default lets DuckDB decide. */
  threads?: number;
  /** DuckDB memory limit, e.g. "2GB". */
  memoryLimit?: string;
  /**
   * When the write-ahead log cannot be replayed and it may hold data (not only migrations),
   * set it aside and open the file as of its last checkpoint. Everything committed since is
   * lost: usage is ingested again (its ledger rows were committed with it), but tokens,
   * audit entries and remediation records written since the checkpoint are not. Default false:
   * such a file is refused with an error that says so.
   */
  discardUnreplayableWal?: boolean;
  /** Where warnings go (a WAL set aside); default stderr. */
  warn?: (message: string) => void;
}

/** True for DuckDB's "Failure while replaying WAL file" on open. */
function isWalReplayFailure(err: unknown): boolean {
  return err instanceof Error && /replaying WAL/i.test(err.message);
}

function firstLine(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
}

/** Rename the WAL out of the way (never delete it) and return the new name. */
function setWalAside(path: string): string {
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  const aside = `${path}.wal.unreplayable-${stamp}`;
  renameSync(`${path}.wal`, aside);
  return aside;
}

function toIsoDate(value: Date): string {
  return value.toISOString().slice(0, 10);
}

function convertValue(value: unknown, typeId: DuckDBTypeId | undefined): SqlValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return null;
    return typeId === DuckDBTypeId.DATE ? toIsoDate(value) : value.toISOString();
  }
  if (Array.isArray(value)) return value.map((v) => convertValue(v, undefined));
  if (typeof value === 'object') {
    const out: Record<string, SqlValue> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = convertValue(v, undefined);
    }
    return out;
  }
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
    return value;
  }
  return String(value);
}

export function readerRows(reader: DuckDBResultReader): Row[] {
  const names = reader.columnNames();
  const types = names.map((_, i) => reader.columnTypeId(i));
  const rows = reader.getRowObjectsJS();
  return rows.map((raw) => {
    const row: Row = {};
    names.forEach((name, i) => {
      row[name] = convertValue(raw[name], types[i]);
    });
    return row;
  });
}

/**
 * One connection with bound-parameter helpers. Every value is bound; SQL text is never built
 * from user input. Identifiers that must be dynamic go through {@link quoteIdent}.
 *
 * A connection runs one statement at a time and has one transaction at a time, so calls are
 * serialised: while a transaction is open, other callers on the same Db wait for it to end
 * (the transaction's own work goes through the handle passed to its callback). Readers that
 * must not wait use their own connection ({@link Db.fork}).
 */
export class Db {
  readonly connection: DuckDBConnection;
  readonly instance: DuckDBInstance;
  readonly path: string;
  private readonly gate: { tail: Promise<void> };
  private readonly inTransaction: boolean;

  constructor(
    instance: DuckDBInstance,
    connection: DuckDBConnection,
    path: string,
    gate: { tail: Promise<void> } = { tail: Promise.resolve() },
    inTransaction = false,
  ) {
    this.instance = instance;
    this.connection = connection;
    this.path = path;
    this.gate = gate;
    this.inTransaction = inTransaction;
  }

  /** Open (and by default migrate) a database file, or `:memory:`. */
  static async open(path: string, options: OpenOptions = {}): Promise<Db> {
    const config: Record<string, string> = {};
    if (options.readOnly) config.access_mode = 'READ_ONLY';
    if (options.threads) config.threads = String(options.threads);
    if (options.memoryLimit) config.memory_limit = options.memoryLimit;
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, config);
    } catch (err) {
      instance = await Db.recover(path, config, options, err);
    }
    const connection = await instance.connect();
    const db = new Db(instance, connection, path);
    await db.exec("SET TimeZone = 'UTC'");
    if (options.migrate !== false && !options.readOnly) await migrate(db);
    return db;
  }

  /**
   * Open a file whose WAL could not be replayed, when that loses nothing (the WAL holds only
   * migrations, which `migrate` applies again) or when the caller accepted the loss.
   */
  private static async recover(
    path: string,
    config: Record<string, string>,
    options: OpenOptions,
    err: unknown,
  ): Promise<DuckDBInstance> {
    const wal = `${path}.wal`;
    const reason = firstLine(err);
    if (!isWalReplayFailure(err) || path === ':memory:' || !existsSync(wal)) {
      throw new DatabaseError(`cannot open database ${path}: ${reason}`, { path }, { cause: err });
    }
    const onlyMigrations = existsSync(migratingMarker(path));
    if (options.readOnly || (!onlyMigrations && !options.discardUnreplayableWal)) {
      throw new DatabaseError(
        `cannot open database ${path}: its write-ahead log ${wal} cannot be replayed (${reason}). ` +
          (onlyMigrations
            ? 'It holds only schema migrations: open the file read-write to set it aside and migrate again.'
            : 'It holds transactions committed since the last checkpoint; run `access-discovery migrate --discard-unreplayable-wal` to set it aside and open the file as of that checkpoint (usage is ingested again; tokens, audit entries and remediations recorded since then are lost), or restore a backup.'),
        { path, wal, walBytes: statSync(wal).size, onlyMigrations },
        { cause: err },
      );
    }
    const aside = setWalAside(path);
    const warn = options.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
    warn(
      onlyMigrations
        ? `database ${path}: the write-ahead log of an interrupted migration could not be replayed (${reason}); set aside as ${aside}, the migrations are applied again (no data lost)`
        : `database ${path}: DISCARDED the write-ahead log that could not be replayed (${reason}); kept as ${aside}. The database is back at its last checkpoint: everything committed after it is lost, usage will be ingested again by the next assessment`,
    );
    try {
      return await DuckDBInstance.create(path, config);
    } catch (again) {
      throw new DatabaseError(
        `cannot open database ${path} even without its write-ahead log (set aside as ${aside}): ${firstLine(again)}`,
        { path, aside },
        { cause: again },
      );
    }
  }

  /** A second connection on the same database (for concurrent readers and writers). */
  async fork(): Promise<Db> {
    const connection = await this.instance.connect();
    const db = new Db(this.instance, connection, this.path);
    await db.exec("SET TimeZone = 'UTC'");
    return db;
  }

  /** Run `fn` with exclusive use of the connection (unless already inside its transaction). */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn();
    const previous = this.gate.tail;
    let release!: () => void;
    this.gate.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Run a statement (or several, when no parameters are bound). */
  async exec(sql: string, params?: SqlParams): Promise<void> {
    await this.exclusive(() => this.connection.run(sql, params));
  }

  /** All rows as plain objects. */
  async all<T extends Row = Row>(sql: string, params?: SqlParams): Promise<T[]> {
    const reader = await this.exclusive(() => this.connection.runAndReadAll(sql, params));
    return readerRows(reader) as T[];
  }

  /** The first row, or undefined. */
  async one<T extends Row = Row>(sql: string, params?: SqlParams): Promise<T | undefined> {
    const rows = await this.all<T>(sql, params);
    return rows[0];
  }

  /** The first column of the first row. */
  async scalar<T extends SqlValue = SqlValue>(
    sql: string,
    params?: SqlParams,
  ): Promise<T | undefined> {
    const reader = await this.exclusive(() => this.connection.runAndReadAll(sql, params));
    const rows = readerRows(reader);
    const first = rows[0];
    if (!first) return undefined;
    const name = reader.columnNames()[0];
    return (name === undefined ? undefined : first[name]) as T | undefined;
  }

  /**
   * Run `fn` inside one transaction: committed when it resolves, rolled back when it throws.
   * `fn` must use the handle it is given; nested calls on that handle join the transaction.
   */
  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    return this.exclusive(async () => {
      const tx = new Db(this.instance, this.connection, this.path, this.gate, true);
      await this.connection.run('BEGIN TRANSACTION');
      try {
        const result = await fn(tx);
        await this.connection.run('COMMIT');
        return result;
      } catch (err) {
        try {
          await this.connection.run('ROLLBACK');
        } catch {
          // DuckDB may already have aborted the transaction; the original error matters.
        }
        throw err;
      }
    });
  }

  /** Bulk-load rows with the appender; always closed, even when `fn` throws. */
  async append(
    table: string,
    fn: (appender: DuckDBAppender) => void | Promise<void>,
  ): Promise<void> {
    await this.exclusive(async () => {
      const appender = await this.connection.createAppender(table);
      try {
        await fn(appender);
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
    });
  }

  /** Checkpoint the WAL into the main file. */
  async checkpoint(): Promise<void> {
    await this.exec('CHECKPOINT');
  }

  close(): void {
    this.connection.closeSync();
  }

  /** Close this connection and the instance (the file lock is released). */
  closeAll(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** Quote an identifier (table, column) for the rare SQL that must name one dynamically. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quote a string literal for DDL statements that cannot take parameters (e.g. COPY paths). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
