import { FilterError } from './errors.ts';
import type { FieldDef } from './fields.ts';
import {
  type ComparisonOp,
  type FieldRef,
  type FilterNode,
  type Literal,
  parseFilter,
} from './parser.ts';

/**
 * A WHERE fragment over the principal view `q` and the values it binds. Use it only as a
 * condition (WHERE, FILTER (WHERE ...)): it may be NULL rather than false for a row that does
 * not match, so it must never be negated or read as a value.
 */
export interface CompiledFilter {
  /** SQL text made only of whitelisted columns, fixed functions and `$name` placeholders. */
  where: string;
  params: Record<string, string | number | boolean>;
}

export interface CompileOptions {
  /** Reference time for relative dates ("30d"); defaults to the current time. */
  now?: Date;
  /** Prefix of the generated parameter names (default `f`). */
  paramPrefix?: string;
}

const STRING_OPS = [
  '=',
  '!=',
  'contains',
  'not_contains',
  'starts_with',
  'ends_with',
  'in',
  'not_in',
];
const EQUALITY_OPS = ['=', '!=', 'in', 'not_in'];
const ORDER_OPS = ['=', '!=', '>', '>=', '<', '<=', 'in', 'not_in'];
const DATE_OPS = ['=', '!=', '>', '>=', '<', '<='];
const BOOLEAN_OPS = ['=', '!='];

const ALLOWED_OPS: Record<FieldDef['type'], string[]> = {
  string: STRING_OPS,
  tag: STRING_OPS,
  enum: EQUALITY_OPS,
  ordered: ORDER_OPS,
  levels: ORDER_OPS,
  number: ORDER_OPS,
  date: DATE_OPS,
  boolean: BOOLEAN_OPS,
};

const NEGATED: Partial<Record<ComparisonOp, ComparisonOp>> = {
  '!=': '=',
  not_contains: 'contains',
};

const NUMBER_TEXT = /^-?\d{1,15}(\.\d{1,15})?$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const RELATIVE = /^(\d{1,6})\s*([hdw])$/i;
const DATE_FORMS = ['"never"', '"YYYY-MM-DD"', '"YYYY-MM-DDTHH:MM:SSZ"', '"30d" (also h, w)'];

type Bound =
  | { kind: 'day'; start: Date; end: Date }
  | { kind: 'instant'; at: Date }
  | { kind: 'never' };

class Compiler {
  private n = 0;
  readonly params: Record<string, string | number | boolean> = {};

  constructor(
    private readonly now: Date,
    private readonly prefix: string,
  ) {}

  /** How many NOTs enclose the node being compiled. */
  private negations = 0;

  /**
   * A comparison, NULL when its column is. Under a NOT it must read as false (NOT NULL is NULL,
   * which would drop the row the user asked for), so it is wrapped in coalesce. Outside any
   * NOT the bare comparison selects the same rows: AND and OR only ever turn a NULL operand
   * into NULL where false would give false, and WHERE drops NULL like false. DuckDB evaluates
   * the bare form faster and can push it into the scan.
   */
  private known(comparison: string): string {
    return this.negations > 0 ? `coalesce(${comparison}, false)` : `(${comparison})`;
  }

  private negate(build: () => string): string {
    this.negations++;
    try {
      return `(NOT ${build()})`;
    } finally {
      this.negations--;
    }
  }

  private bind(value: string | number | boolean): string {
    const name = `${this.prefix}${this.n++}`;
    this.params[name] = value;
    return `$${name}`;
  }

  compile(node: FilterNode): string {
    switch (node.type) {
      case 'and':
      case 'or':
        return `(${node.items.map((i) => this.compile(i)).join(node.type === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return this.negate(() => this.compile(node.item));
      case 'compare':
        this.checkOp(node.field, node.op, node.position);
        return this.compare(node.field, node.op, node.value);
      case 'in': {
        this.checkOp(node.field, node.negated ? 'not_in' : 'in', node.position);
        const any = () =>
          `(${node.values.map((v) => this.compare(node.field, '=', v)).join(' OR ')})`;
        return node.negated ? this.negate(any) : any();
      }
    }
  }

  private checkOp(field: FieldRef, op: string, position: number): void {
    const allowed = ALLOWED_OPS[field.def.type];
    if (!allowed.includes(op)) {
      throw new FilterError(
        `operator ${op} at position ${position} does not apply to ${field.def.name} (${describeType(field.def)}); expected one of ${allowed.join(', ')}`,
        position,
        allowed,
      );
    }
  }

  /** One comparison; null values never match a positive operator, always match a negated one. */
  private compare(field: FieldRef, op: ComparisonOp, value: Literal): string {
    const positive = NEGATED[op];
    if (positive) return this.negate(() => this.compare(field, positive, value));
    const def = field.def;
    switch (def.type) {
      case 'string':
      case 'tag':
        return this.compareString(this.columnOf(field), op, value, def);
      case 'enum': {
        const canonical = this.enumValue(def, value);
        return this.known(`lower(${def.column}) = ${this.bind(canonical)}`);
      }
      case 'ordered': {
        const rank = this.enumRank(def, value);
        return this.known(`${def.column} ${op} ${this.bind(rank)}`);
      }
      case 'levels':
        return this.compareLevels(def, op, value);
      case 'number': {
        const number = this.numberValue(def, value);
        return this.known(`${def.column} ${op} ${this.bind(number)}`);
      }
      case 'date':
        return this.compareDate(def, op, value);
      case 'boolean': {
        const flag = this.booleanValue(def, value);
        return this.known(`${def.column} = ${this.bind(flag)}`);
      }
    }
  }

  private columnOf(field: FieldRef): string {
    if (field.def.type !== 'tag') return field.def.column;
    // A JSON pointer, bound rather than spliced: "~" and "/" are its only special characters.
    const pointer = `/${field.key!.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    return `json_extract_string(${field.def.column}, ${this.bind(pointer)})`;
  }

  private compareString(column: string, op: ComparisonOp, value: Literal, def: FieldDef): string {
    if (value.kind === 'boolean') {
      throw new FilterError(
        `${def.name} at position ${value.position} takes text; write "${value.text}" in double quotes`,
        value.position,
        ['a double-quoted string'],
      );
    }
    const bound = `lower(${this.bind(value.text)})`;
    const lowered = `lower(${column})`;
    switch (op) {
      case '=':
        return this.known(`${lowered} = ${bound}`);
      case 'contains':
        return this.known(`contains(${lowered}, ${bound})`);
      case 'starts_with':
        return this.known(`starts_with(${lowered}, ${bound})`);
      case 'ends_with':
        return this.known(`suffix(${lowered}, ${bound})`);
      default:
        throw new FilterError(
          `operator ${op} does not apply to ${def.name}`,
          value.position,
          STRING_OPS,
        );
    }
  }

  private enumValue(def: FieldDef, value: Literal): string {
    const values = def.values!;
    const found = values.find((v) => v.toLowerCase() === String(value.text).toLowerCase());
    if (value.kind !== 'string' || found === undefined) {
      throw new FilterError(
        `${def.name} has no value ${JSON.stringify(value.text)} (position ${value.position}); expected one of ${values.join(', ')}`,
        value.position,
        values.map((v) => JSON.stringify(v)),
      );
    }
    return found.toLowerCase();
  }

  private enumRank(def: FieldDef, value: Literal): number {
    const canonical = this.enumValue(def, value);
    return def.values!.findIndex((v) => v.toLowerCase() === canonical) + 1;
  }

  private compareLevels(def: FieldDef, op: ComparisonOp, value: Literal): string {
    const rank = this.enumRank(def, value);
    const levels = def.values!;
    const chosen = levels.filter((_, i) => {
      const r = i + 1;
      if (op === '=' || op === '!=') return r === rank;
      if (op === '>') return r > rank;
      if (op === '>=') return r >= rank;
      if (op === '<') return r < rank;
      return r <= rank;
    });
    if (chosen.length === 0) return 'false';
    // One AND over the bit mask tests every chosen level at once (same answer as list_contains).
    const any = () =>
      def.maskColumn
        ? this.known(
            `(${def.maskColumn} & CAST(${this.bind(chosen.reduce((m, l) => m | (1 << levels.indexOf(l)), 0))} AS INTEGER)) <> 0`,
          )
        : `(${chosen.map((l) => this.known(`list_contains(${def.column}, ${this.bind(l)})`)).join(' OR ')})`;
    return op === '!=' ? this.negate(any) : any();
  }

  private numberValue(def: FieldDef, value: Literal): number {
    if (value.kind === 'number' && Number.isFinite(value.value)) return value.value as number;
    if (value.kind === 'string' && NUMBER_TEXT.test(value.text.trim())) return Number(value.text);
    throw new FilterError(
      `${def.name} takes a number; found ${JSON.stringify(value.text)} at position ${value.position}`,
      value.position,
      ['a number'],
    );
  }

  private booleanValue(def: FieldDef, value: Literal): boolean {
    if (value.kind === 'boolean') return value.value as boolean;
    const text = value.text.toLowerCase();
    if (value.kind === 'string' && (text === 'true' || text === 'false')) return text === 'true';
    throw new FilterError(
      `${def.name} takes true or false; found ${JSON.stringify(value.text)} at position ${value.position}`,
      value.position,
      ['true', 'false'],
    );
  }

  private compareDate(def: FieldDef, op: ComparisonOp, value: Literal): string {
    const bound = this.dateValue(def, value);
    const col = def.column;
    if (bound.kind === 'never') {
      if (op !== '=') {
        throw new FilterError(
          `"never" only works with = and != (position ${value.position})`,
          value.position,
          ['=', '!='],
        );
      }
      return `(${col} IS NULL)`;
    }
    const ts = (d: Date) => `CAST(${this.bind(clampInstant(d).toISOString())} AS TIMESTAMPTZ)`;
    if (bound.kind === 'instant') return this.known(`${col} ${op} ${ts(bound.at)}`);
    // A bare date stands for the whole UTC day.
    switch (op) {
      case '=':
        return this.known(`${col} >= ${ts(bound.start)} AND ${col} < ${ts(bound.end)}`);
      case '>':
      case '<=':
        return this.known(`${col} ${op === '>' ? '>=' : '<'} ${ts(bound.end)}`);
      default:
        return this.known(`${col} ${op} ${ts(bound.start)}`);
    }
  }

  private dateValue(def: FieldDef, value: Literal): Bound {
    const text = value.kind === 'string' ? value.text.trim() : '';
    const invalid = (why: string): never => {
      throw new FilterError(
        `${def.name} ${why} at position ${value.position}; expected ${DATE_FORMS.join(', ')}`,
        value.position,
        DATE_FORMS,
      );
    };
    if (value.kind !== 'string') return invalid(`takes a quoted date, found ${value.text}`);
    if (text.toLowerCase() === 'never') return { kind: 'never' };
    const relative = RELATIVE.exec(text);
    if (relative) {
      const hours = { h: 1, d: 24, w: 168 }[relative[2]!.toLowerCase() as 'h' | 'd' | 'w'];
      const at = new Date(this.now.getTime() - Number(relative[1]) * hours * 3_600_000);
      if (at.getUTCFullYear() < 1000) return invalid('goes back too far');
      return { kind: 'instant', at };
    }
    const day = DATE_ONLY.exec(text);
    if (day) {
      const start = utcDate(Number(day[1]), Number(day[2]), Number(day[3]));
      if (!start) return invalid(`has no such date ${JSON.stringify(text)}`);
      return { kind: 'day', start, end: new Date(start.getTime() + 86_400_000) };
    }
    const dt = DATE_TIME.exec(text);
    if (dt) {
      const date = utcDate(Number(dt[1]), Number(dt[2]), Number(dt[3]));
      const [h, m, s] = [Number(dt[4]), Number(dt[5]), Number(dt[6] ?? 0)];
      if (date && h < 24 && m < 60 && s < 60) {
        const zone = dt[8] ?? 'Z';
        const iso = `${dt[1]}-${dt[2]}-${dt[3]}T${dt[4]}:${dt[5]}:${String(s).padStart(2, '0')}${dt[7] ? `.${dt[7].slice(0, 3)}` : ''}${zone.toUpperCase() === 'Z' ? 'Z' : normaliseZone(zone)}`;
        const at = new Date(iso);
        if (!Number.isNaN(at.getTime())) return { kind: 'instant', at };
      }
    }
    return invalid(`cannot read ${JSON.stringify(text)}`);
  }
}

const LATEST = Date.parse('9999-12-31T23:59:59.999Z');
const EARLIEST = Date.parse('1000-01-01T00:00:00.000Z');

/** Keep instants within four-digit years (the day after 9999-12-31 would not print as ISO). */
function clampInstant(d: Date): Date {
  return new Date(Math.min(LATEST, Math.max(EARLIEST, d.getTime())));
}

function normaliseZone(zone: string): string {
  const digits = zone.replace(':', '');
  return `${digits.slice(0, 3)}:${digits.slice(3)}`;
}

function utcDate(year: number, month: number, day: number): Date | undefined {
  if (year < 1000 || month < 1 || month > 12 || day < 1) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return undefined;
  return d;
}

function describeType(def: FieldDef): string {
  switch (def.type) {
    case 'string':
    case 'tag':
      return 'text';
    case 'enum':
      return `one of ${def.values!.join(', ')}`;
    case 'ordered':
    case 'levels':
      return `ordered ${def.values!.join(' < ')}`;
    default:
      return def.type;
  }
}

/** Compile a parsed filter; an empty filter compiles to `TRUE`. */
export function compileFilter(
  node: FilterNode | null,
  options: CompileOptions = {},
): CompiledFilter {
  if (!node) return { where: 'TRUE', params: {} };
  const compiler = new Compiler(options.now ?? new Date(), options.paramPrefix ?? 'f');
  const where = compiler.compile(node);
  return { where, params: compiler.params };
}

/** Parse and compile in one step; throws FilterError with a position on bad input. */
export function filterToSql(input: string, options: CompileOptions = {}): CompiledFilter {
  return compileFilter(parseFilter(input), options);
}
