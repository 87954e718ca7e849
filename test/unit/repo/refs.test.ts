import { describe, expect, it } from 'vitest';
import { isSinkiError } from '../../../src/errors.js';
import { decodeHead } from '../../../src/repo/refs.js';

const tree = 'ab'.repeat(32);

describe('refs/head payload', () => {
  it('decodes what the mount writes', () => {
    expect(decodeHead(Buffer.from(JSON.stringify({ tree, time: '2026-01-01T00:00:00.000Z' })))).toEqual({ tree, time: '2026-01-01T00:00:00.000Z' });
  });

  it.each([
    '',
    'null',
    '[]',
    '"x"',
    '{"tree":5,"time":"t"}',
    '{"tree":"../etc","time":"t"}',
    `{"tree":"${tree}"}`,
    `{"tree":"${tree}","time":null}`,
    '{"tree":',
  ])('rejects %j as CORRUPT (never a SyntaxError or TypeError)', (text) => {
    let thrown: unknown = null;
    try {
      decodeHead(Buffer.from(text));
    } catch (err) {
      thrown = err;
    }
    expect(isSinkiError(thrown, 'CORRUPT')).toBe(true);
  });
});
