import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSinkiError } from '../../../src/errors.js';
import { BlobIdSet } from '../../../src/repo/blob-id-set.js';

/** Few distinct ids, half of them sharing their first bytes, so repeats and probe runs come up often. */
const ID_POOL = Array.from({ length: 16 }, (_, i) =>
  i < 8 ? 'cd'.repeat(28) + i.toString(16).padStart(8, '0') : ((i * 53) % 256).toString(16).padStart(2, '0').repeat(32),
);

describe('BlobIdSet', () => {
  it('answers as a Set of hex ids does, through growth of its pages and slots', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ID_POOL), { maxLength: 60 }), fc.constantFrom(0, 1, 3, 16), (adds, pageBits) => {
        const set = new BlobIdSet(pageBits);
        const model = new Set<string>();
        for (const id of adds) {
          expect(set.add(id)).toBe(!model.has(id));
          model.add(id);
          expect(set.size).toBe(model.size);
        }
        for (const id of ID_POOL) expect(set.has(id)).toBe(model.has(id));
        expect([...set]).toEqual([...model]);
      }),
      { numRuns: 300 },
    );
  });

  it('holds a million ids, and refuses what is not an id as CORRUPT', () => {
    const set = new BlobIdSet();
    const id = Buffer.alloc(32);
    for (let i = 0; i < 1_000_000; i++) {
      id.writeUInt32LE(i, 12);
      set.add(id.toString('hex'));
    }
    expect(set.size).toBe(1_000_000);
    id.writeUInt32LE(999_999, 12);
    expect(set.has(id.toString('hex'))).toBe(true);
    id.writeUInt32LE(1_000_000, 12);
    expect(set.has(id.toString('hex'))).toBe(false);
    expect(set.has('not an id')).toBe(false);
    let caught: unknown;
    try {
      set.add('zz'.repeat(32));
    } catch (err) {
      caught = err;
    }
    expect(isSinkiError(caught, 'CORRUPT')).toBe(true);
  });
});
