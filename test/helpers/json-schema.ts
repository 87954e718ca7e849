import type { JsonSchema, JsonType } from '../../src/cli/json-schema.js';

/*
 * A validator for the subset of JSON Schema that src/cli/json-schema.ts uses (type, properties,
 * required, additionalProperties: false, items, enum, const, oneOf, minimum); anything else in a
 * schema is ignored, so the schemas keep to that subset.
 */

/** Where `value` departs from `schema` (JSON-pointer-like paths), or [] when it matches. */
export function schemaErrors(schema: JsonSchema, value: unknown, at = ''): string[] {
  const here = at || '/';
  if (schema.oneOf) {
    const matching = schema.oneOf.filter((s) => schemaErrors(s, value, at).length === 0).length;
    if (matching !== 1) return [`${here}: matches ${matching} of the oneOf schemas, not exactly one`];
  }
  if (schema.const !== undefined && value !== schema.const) return [`${here}: must be ${JSON.stringify(schema.const)}`];
  if (schema.enum && !schema.enum.includes(value as string)) return [`${here}: must be one of ${JSON.stringify(schema.enum)}`];
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => hasType(value, t))) return [`${here}: must be ${types.join(' or ')}`];
  }
  const errors: string[] = [];
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum) errors.push(`${here}: must be at least ${schema.minimum}`);
  if (Array.isArray(value) && schema.items) for (const [i, v] of value.entries()) errors.push(...schemaErrors(schema.items, v, `${at}/${i}`));
  if (isObject(value)) {
    for (const k of schema.required ?? []) if (!(k in value)) errors.push(`${here}: ${k} is missing`);
    for (const [k, v] of Object.entries(value)) {
      const sub = schema.properties?.[k];
      if (sub) errors.push(...schemaErrors(sub, v, `${at}/${k}`));
      else if (schema.additionalProperties === false) errors.push(`${here}: ${k} is not in the schema`);
    }
  }
  return errors;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function hasType(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}
