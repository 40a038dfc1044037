import {
  Bool,
  type DataType,
  Field,
  Float64,
  Int32,
  List,
  Table,
  TimestampMillisecond,
  tableToIPC,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import type { Row } from '../../model/db.ts';
import { type ColumnKind, REPORT_COLUMNS } from './columns.ts';

function arrowType(kind: ColumnKind): DataType {
  switch (kind) {
    case 'utf8':
      return new Utf8();
    case 'int32':
      return new Int32();
    case 'float64':
      return new Float64();
    case 'bool':
      return new Bool();
    case 'timestamp':
      return new TimestampMillisecond('UTC');
    case 'list':
      return new List(new Field('item', new Utf8(), true));
  }
}

function cell(kind: ColumnKind, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'utf8':
      return String(value);
    case 'int32':
    case 'float64':
      return Number(value);
    case 'bool':
      return Boolean(value);
    case 'timestamp':
      return new Date(String(value)).getTime();
    case 'list':
      return (value as unknown[]).map((v) => String(v));
  }
}

/** The report rows as an Arrow IPC file (Feather v2): pandas, polars and DuckDB read it. */
export function reportRowsToArrow(rows: Row[]): Uint8Array {
  const columns: Record<string, Vector> = {};
  for (const c of REPORT_COLUMNS) {
    const values = rows.map((r) => cell(c.kind, r[c.name]));
    columns[c.name] = vectorFromArray(values as never[], arrowType(c.kind) as never);
  }
  return tableToIPC(new Table(columns), 'file');
}
