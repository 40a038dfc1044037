import {
  type DuckDBAppender,
  DuckDBDateValue,
  DuckDBListType,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  VARCHAR,
} from '@duckdb/node-api';
import { DatabaseError } from '../lib/errors.ts';
import type { Db } from './db.ts';

/**
 * Bulk insert of plain row objects through the appender. Column types are read from the
 * table once, so callers hand over JS values (strings, numbers, booleans, ISO timestamps,
 * objects for JSON columns, string arrays for VARCHAR[]) and never build SQL.
 */
export type RowInput = Record<string, unknown>;

interface ColumnInfo {
  name: string;
  type: string;
  nullable: boolean;
}

const columnCache = new WeakMap<object, Map<string, ColumnInfo[]>>();

async function tableColumns(db: Db, table: string): Promise<ColumnInfo[]> {
  let perDb = columnCache.get(db.instance);
  if (!perDb) {
    perDb = new Map();
    columnCache.set(db.instance, perDb);
  }
  const cached = perDb.get(table);
  if (cached) return cached;
  const rows = await db.all<{ column_name: string; data_type: string; is_nullable: boolean }>(
    `SELECT column_name, data_type, is_nullable FROM duckdb_columns()
     WHERE table_name = $table AND NOT internal ORDER BY column_index`,
    { table },
  );
  if (rows.length === 0) throw new DatabaseError(`no table ${table}`);
  const columns = rows.map((r) => ({
    name: r.column_name,
    type: r.data_type,
    nullable: r.is_nullable,
  }));
  perDb.set(table, columns);
  return columns;
}

const VARCHAR_LIST = new DuckDBListType(VARCHAR);

function micros(value: unknown, column: string): bigint {
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  if (Number.isNaN(ms))
    throw new DatabaseError(`column ${column}: not a timestamp: ${String(value)}`);
  return BigInt(ms) * 1000n;
}

function appendOne(a: DuckDBAppender, column: ColumnInfo, value: unknown, table: string): void {
  if (value === null || value === undefined) {
    if (!column.nullable) throw new DatabaseError(`${table}.${column.name} must not be null`);
    a.appendNull();
    return;
  }
  switch (column.type) {
    case 'VARCHAR':
      a.appendVarchar(String(value));
      return;
    case 'JSON':
      a.appendVarchar(typeof value === 'string' ? value : JSON.stringify(value));
      return;
    case 'BOOLEAN':
      a.appendBoolean(Boolean(value));
      return;
    case 'TINYINT':
      a.appendTinyInt(Number(value));
      return;
    case 'SMALLINT':
      a.appendSmallInt(Number(value));
      return;
    case 'INTEGER':
      a.appendInteger(Number(value));
      return;
    case 'BIGINT':
      a.appendBigInt(BigInt(value as number | bigint));
      return;
    case 'DOUBLE':
      a.appendDouble(Number(value));
      return;
    case 'DATE': {
      const ms = Date.parse(`${String(value).slice(0, 10)}T00:00:00Z`);
      if (Number.isNaN(ms))
        throw new DatabaseError(`${table}.${column.name}: not a date: ${String(value)}`);
      a.appendDate(new DuckDBDateValue(Math.round(ms / 86_400_000)));
      return;
    }
    case 'TIMESTAMP WITH TIME ZONE':
      a.appendTimestampTZ(new DuckDBTimestampTZValue(micros(value, column.name)));
      return;
    case 'TIMESTAMP':
      a.appendTimestamp(new DuckDBTimestampValue(micros(value, column.name)));
      return;
    case 'VARCHAR[]':
      if (!Array.isArray(value))
        throw new DatabaseError(`${table}.${column.name}: expected a list`);
      a.appendList(
        value.map((v) => String(v)),
        VARCHAR_LIST,
      );
      return;
    default:
      throw new DatabaseError(
        `${table}.${column.name}: insertRows does not handle type ${column.type}`,
      );
  }
}

/** Append rows to a table; every row must name every non-null column. */
export async function insertRows<T extends object>(
  db: Db,
  table: string,
  rows: readonly T[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const columns = await tableColumns(db, table);
  await db.append(table, (a) => {
    for (const row of rows) {
      for (const column of columns) appendOne(a, column, (row as RowInput)[column.name], table);
      a.endRow();
    }
  });
  return rows.length;
}
