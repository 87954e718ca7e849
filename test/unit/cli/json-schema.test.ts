import { describe, expect, it } from 'vitest';
import { JSON_SCHEMAS, type JsonSchema } from '../../../src/cli/json-schema.js';
import { schemaErrors } from '../../helpers/json-schema.js';

describe('the validator of the JSON Schema subset the --json schemas use', () => {
  const schema: JsonSchema = {
    type: 'object',
    properties: {
      type: { const: 'x' },
      n: { type: 'integer', minimum: 0 },
      s: { type: ['string', 'null'] },
      e: { enum: ['a', 'b'] },
      list: { type: 'array', items: { type: 'boolean' } },
    },
    required: ['type', 'n'],
    additionalProperties: false,
  };

  it('accepts what matches and names each departure with its path', () => {
    expect(schemaErrors(schema, { type: 'x', n: 3, s: null, e: 'a', list: [true] })).toEqual([]);
    expect(schemaErrors(schema, { type: 'y', n: -1, s: 4, e: 'c', list: [true, 1], extra: 1 })).toEqual([
      '/type: must be "x"',
      '/n: must be at least 0',
      '/s: must be string or null',
      '/e: must be one of ["a","b"]',
      '/list/1: must be boolean',
      '/: extra is not in the schema',
    ]);
    expect(schemaErrors(schema, { type: 'x' })).toEqual(['/: n is missing']);
    expect(schemaErrors(schema, { type: 'x', n: 1.5 })).toEqual(['/n: must be integer']);
    expect(schemaErrors(schema, [])).toEqual(['/: must be object']);
  });

  it('oneOf needs exactly one match', () => {
    const one: JsonSchema = { oneOf: [{ type: 'integer' }, { type: 'number' }] };
    expect(schemaErrors(one, 1.5)).toEqual([]);
    expect(schemaErrors(one, 1)).toEqual(['/: matches 2 of the oneOf schemas, not exactly one']);
    expect(schemaErrors(one, 'a')).toEqual(['/: matches 0 of the oneOf schemas, not exactly one']);
  });

  it('the line types of one command are told apart by their type field', () => {
    expect(
      schemaErrors(JSON_SCHEMAS.forget!, {
        type: 'prune',
        dry_run: true,
        used_blobs: 1,
        delete_packs: 0,
        repack_packs: 0,
        unindexed_packs: 0,
        kept_packs: 1,
        bytes_to_free: 0,
      }),
    ).toEqual([]);
    expect(schemaErrors(JSON_SCHEMAS.forget!, { type: 'other' })).toHaveLength(1);
  });
});
