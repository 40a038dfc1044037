export {
  type CompiledFilter,
  type CompileOptions,
  compileFilter,
  filterToSql,
} from './compiler.ts';
export { FilterError } from './errors.ts';
export {
  FIELD_NAMES,
  FIELDS,
  type FieldDef,
  lookupField,
  PRIVILEGE_LEVELS,
  TIERS,
} from './fields.ts';
export { FILTER_LIMITS, type FilterNode, parseFilter } from './parser.ts';
