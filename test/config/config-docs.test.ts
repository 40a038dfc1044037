import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { configSchema } from '../../config/schema.ts';

/** Every field name anywhere in the schema (objects, unions, lists, optional/default wrappers). */
function fieldNames(schema: z.core.$ZodType, out = new Set<string>()): Set<string> {
  const def = schema._zod.def as unknown as Record<string, unknown>;
  if (schema instanceof z.ZodObject) {
    for (const [key, value] of Object.entries(schema.shape)) {
      out.add(key);
      fieldNames(value as z.core.$ZodType, out);
    }
  }
  for (const key of ['innerType', 'element', 'in', 'out', 'valueType']) {
    const inner = def[key];
    if (inner && typeof inner === 'object' && '_zod' in inner)
      fieldNames(inner as z.core.$ZodType, out);
  }
  if (Array.isArray(def.options))
    for (const o of def.options) fieldNames(o as z.core.$ZodType, out);
  return out;
}

it('documents every config field in docs/config.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'config.md'), 'utf8');
  const names = [...fieldNames(configSchema)];
  expect(names.length).toBeGreaterThan(40);
  const missing = names.filter((n) => !doc.includes(`\`${n}\``));
  expect(missing).toEqual([]);
});
