import { createCipheriv, createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CdcChunker, type CdcParams, DEFAULT_CDC, cdcCut, chunkWhole } from '../../../src/backup/fastcdc.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SMALL: CdcParams = { minSize: 2 * KiB, avgSize: 8 * KiB, maxSize: 64 * KiB };

/** Deterministic pseudo-random bytes (AES-128-CTR keystream), fast enough for tens of MiB. */
function pseudoRandomBytes(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(`sinki-cdc-test-${seed}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

function chunkAll(params: CdcParams, data: Buffer, splits: readonly number[] = []): Buffer[] {
  const chunker = new CdcChunker(params);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of [...splits].sort((a, b) => a - b)) {
    chunks.push(...chunker.push(data.subarray(from, at)));
    from = at;
  }
  chunks.push(...chunker.push(data.subarray(from)));
  const tail = chunker.finish();
  if (tail) chunks.push(tail);
  return chunks;
}

function cutAllWithCdcCut(params: CdcParams, data: Buffer): number[] {
  const lengths: number[] = [];
  for (let pos = 0; pos < data.length; ) {
    const len = cdcCut(data, pos, data.length, params);
    lengths.push(len);
    pos += len;
  }
  return lengths;
}

const lengthsOf = (chunks: readonly Buffer[]): number[] => chunks.map((c) => c.length);
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Random data with stretches of zeros and short repeating patterns, so forced max-size cuts occur too. */
const arbData = (maxLength: number): fc.Arbitrary<Buffer> =>
  fc
    .array(
      fc.oneof(
        fc.record({ kind: fc.constant('random' as const), seed: fc.nat(), length: fc.nat({ max: maxLength / 4 }) }),
        fc.record({ kind: fc.constant('zeros' as const), seed: fc.nat(), length: fc.nat({ max: maxLength / 4 }) }),
        fc.record({ kind: fc.constant('pattern' as const), seed: fc.nat(), length: fc.nat({ max: maxLength / 4 }) }),
      ),
      { maxLength: 6 },
    )
    .map((parts) =>
      Buffer.concat(
        parts.map(({ kind, seed, length }) => {
          if (kind === 'zeros') return Buffer.alloc(length);
          if (kind === 'random') return pseudoRandomBytes(String(seed), length);
          const period = 1 + (seed % 97);
          const unit = pseudoRandomBytes(`unit-${seed}`, period);
          return Buffer.alloc(length, unit);
        }),
      ),
    );

const arbDataWithSplits = (maxLength: number): fc.Arbitrary<{ data: Buffer; splits: number[] }> =>
  arbData(maxLength).chain((data) =>
    fc.record({
      data: fc.constant(data),
      splits: fc.array(fc.integer({ min: 0, max: data.length }), { maxLength: 40 }),
    }),
  );

const arbParams: fc.Arbitrary<CdcParams> = fc.integer({ min: 6, max: 14 }).chain((bits) => {
  const avgSize = 2 ** bits;
  return fc.record({
    minSize: fc.integer({ min: 1, max: avgSize }),
    avgSize: fc.constant(avgSize),
    maxSize: fc.integer({ min: avgSize, max: 8 * avgSize }),
  });
});

describe('CdcChunker (small params)', () => {
  it('chunks concatenate to the input', () => {
    fc.assert(
      fc.property(arbDataWithSplits(512 * KiB), ({ data, splits }) => {
        expect(Buffer.concat(chunkAll(SMALL, data, splits)).equals(data)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('every chunk but the last is within [minSize, maxSize]; the last is non-empty and at most maxSize', () => {
    fc.assert(
      fc.property(arbDataWithSplits(512 * KiB), ({ data, splits }) => {
        const lengths = lengthsOf(chunkAll(SMALL, data, splits));
        lengths.forEach((len, i) => {
          if (i < lengths.length - 1) {
            expect(len).toBeGreaterThanOrEqual(SMALL.minSize);
          } else {
            expect(len).toBeGreaterThan(0);
          }
          expect(len).toBeLessThanOrEqual(SMALL.maxSize);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('boundaries do not depend on how the input is split into push() calls', () => {
    fc.assert(
      fc.property(arbDataWithSplits(512 * KiB), ({ data, splits }) => {
        expect(lengthsOf(chunkAll(SMALL, data, splits))).toEqual(lengthsOf(chunkAll(SMALL, data)));
      }),
      { numRuns: 60 },
    );
  });

  it('byte-at-a-time pushing gives the same boundaries', () => {
    const data = pseudoRandomBytes('bytewise', 200 * KiB);
    const splits = Array.from({ length: data.length }, (_, i) => i);
    expect(lengthsOf(chunkAll(SMALL, data, splits))).toEqual(lengthsOf(chunkAll(SMALL, data)));
  });

  it('repeated cdcCut over the whole buffer agrees with the streaming chunker', () => {
    fc.assert(
      fc.property(arbData(512 * KiB), (data) => {
        expect(cutAllWithCdcCut(SMALL, data)).toEqual(lengthsOf(chunkAll(SMALL, data)));
      }),
      { numRuns: 60 },
    );
  });

  it("chunkWhole gives the streaming chunker's chunks, as views of the buffer", () => {
    fc.assert(
      fc.property(arbDataWithSplits(512 * KiB), ({ data, splits }) => {
        const whole = chunkWhole(data, SMALL);
        expect(whole.map(sha256)).toEqual(chunkAll(SMALL, data, splits).map(sha256));
        for (const c of whole) expect(c.buffer).toBe(data.buffer);
      }),
      { numRuns: 40 },
    );
    expect(chunkWhole(Buffer.alloc(0), SMALL)).toEqual([]);
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(arbDataWithSplits(256 * KiB), ({ data, splits }) => {
        const a = chunkAll(SMALL, data, splits).map(sha256);
        const b = chunkAll(SMALL, Buffer.from(data), splits).map(sha256);
        expect(a).toEqual(b);
      }),
      { numRuns: 30 },
    );
  });

  it('cuts all-zero input at maxSize', () => {
    const lengths = lengthsOf(chunkAll(SMALL, Buffer.alloc(1 * MiB + 100), [12345, 70000]));
    expect(lengths).toEqual([...Array<number>(16).fill(SMALL.maxSize), 100]);
  });

  it('cuts a run of any single repeated byte at maxSize', () => {
    const buf = Buffer.alloc(SMALL.maxSize + 1);
    for (let byte = 0; byte < 256; byte++) {
      buf.fill(byte);
      expect(cdcCut(buf, 0, buf.length, SMALL)).toBe(SMALL.maxSize);
    }
  });

  it('deduplicates after an insertion near the start of 20 MiB', () => {
    const original = pseudoRandomBytes('dedup-small', 20 * MiB);
    const insertAt = 3000;
    const edited = Buffer.concat([original.subarray(0, insertAt), Buffer.from('hello'), original.subarray(insertAt)]);
    expectMostChunksAfterEditShared(SMALL, original, edited, insertAt);
  });
});

describe('CdcChunker with minSize = maxSize', () => {
  it('cuts nothing before that many bytes have arrived (was: a 1-byte chunk per push)', () => {
    const c = new CdcChunker({ minSize: 128, avgSize: 128, maxSize: 128 });
    expect([...c.push(Buffer.from([100])), ...c.push(Buffer.from([100]))]).toEqual([]);
    expect(c.finish()?.length).toBe(2);
    expect(lengthsOf(chunkAll({ minSize: 128, avgSize: 128, maxSize: 128 }, Buffer.alloc(300, 7), [1, 2, 129]))).toEqual([128, 128, 44]);
  });
});

describe('CdcChunker with arbitrary valid params', () => {
  it('covers the input, respects the size bounds and ignores push splits', () => {
    fc.assert(
      fc.property(arbParams, arbDataWithSplits(128 * KiB), (params, { data, splits }) => {
        const chunks = chunkAll(params, data, splits);
        expect(Buffer.concat(chunks).equals(data)).toBe(true);
        const lengths = lengthsOf(chunks);
        lengths.slice(0, -1).forEach((len) => {
          expect(len).toBeGreaterThanOrEqual(params.minSize);
          expect(len).toBeLessThanOrEqual(params.maxSize);
        });
        expect(lengths).toEqual(lengthsOf(chunkAll(params, data)));
        expect(lengths).toEqual(cutAllWithCdcCut(params, data));
      }),
      { numRuns: 100 },
    );
  });
});

describe('CdcChunker (DEFAULT_CDC)', () => {
  it('chunks 24 MiB within bounds, independent of push size, and dedups after an insertion', () => {
    const original = pseudoRandomBytes('dedup-default', 24 * MiB);
    const whole = chunkAll(DEFAULT_CDC, original);
    const splits = Array.from({ length: 24 * 16 }, (_, i) => i * 64 * KiB + (i % 7));
    expect(lengthsOf(chunkAll(DEFAULT_CDC, original, splits))).toEqual(lengthsOf(whole));
    expect(Buffer.concat(whole).equals(original)).toBe(true);
    for (const c of whole.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(DEFAULT_CDC.minSize);
      expect(c.length).toBeLessThanOrEqual(DEFAULT_CDC.maxSize);
    }

    const insertAt = 100_000;
    const edited = Buffer.concat([original.subarray(0, insertAt), Buffer.from([1, 2, 3]), original.subarray(insertAt)]);
    expectMostChunksAfterEditShared(DEFAULT_CDC, original, edited, insertAt);
  });

  it('cuts all-zero input at maxSize', () => {
    expect(lengthsOf(chunkAll(DEFAULT_CDC, Buffer.alloc(20 * MiB), [1, 5 * MiB]))).toEqual([8 * MiB, 8 * MiB, 4 * MiB]);
  });
});

// Boundaries are an on-disk format: if these change, existing stores stop deduplicating
// against new backups. Do not "update the expected values"; fix the change instead.
describe('fixed boundaries (gear table, masks and cut rule must never change)', () => {
  it('small params', () => {
    expect(lengthsOf(chunkAll(SMALL, pseudoRandomBytes('golden', 256 * KiB)))).toEqual([
      10001, 10695, 9067, 7602, 12960, 12733, 6860, 8754, 11763, 13564, 8766, 8494, 8638, 15214, 9121, 11933, 8472, 8623, 8671, 8667, 8945, 6579, 5604, 8784,
      8212, 9404, 3566, 9208, 1244,
    ]);
  });

  it('DEFAULT_CDC', () => {
    expect(lengthsOf(chunkAll(DEFAULT_CDC, pseudoRandomBytes('golden-default', 24 * MiB)))).toEqual([
      1186523, 1207910, 2017696, 1075760, 1108001, 1306244, 1338748, 1066378, 1141248, 1324338, 1057630, 900281, 1408687, 1144766, 1152825, 1601001, 1317013,
      1153110, 1741509, 916156,
    ]);
  });
});

describe('CdcChunker edge cases', () => {
  it('returns nothing for empty input', () => {
    const chunker = new CdcChunker(SMALL);
    expect(chunker.push(Buffer.alloc(0))).toEqual([]);
    expect(chunker.finish()).toBeNull();
  });

  it('copies the bytes it holds between calls, so the caller may reuse its buffer', () => {
    const data = pseudoRandomBytes('reuse', 1000); // shorter than minSize: held until finish
    const input = Buffer.from(data);
    const chunker = new CdcChunker(SMALL);
    expect(chunker.push(input)).toEqual([]);
    input.fill(0xaa);
    expect(chunker.finish()?.equals(data)).toBe(true);
  });

  it('is reset by finish() and can chunk another stream', () => {
    const a = pseudoRandomBytes('first', 100 * KiB);
    const b = pseudoRandomBytes('second', 100 * KiB);
    const chunker = new CdcChunker(SMALL);
    chunker.push(a);
    chunker.finish();
    const chunks = chunker.push(b);
    const tail = chunker.finish();
    if (tail) chunks.push(tail);
    expect(lengthsOf(chunks)).toEqual(lengthsOf(chunkAll(SMALL, b)));
  });

  it('cdcCut returns short tails whole and respects start/end', () => {
    const data = pseudoRandomBytes('cut', 300 * KiB);
    expect(cdcCut(data, 0, 0, SMALL)).toBe(0);
    expect(cdcCut(data, 10, 10 + SMALL.minSize, SMALL)).toBe(SMALL.minSize);
    const first = cdcCut(data, 0, data.length, SMALL);
    expect(cdcCut(data.subarray(0, first + 5000), 0, first + 5000, SMALL)).toBe(first);
    expect(cdcCut(data, 7, data.length, SMALL)).toBe(cdcCut(data.subarray(7), 0, data.length - 7, SMALL));
  });
});

describe('parameter validation', () => {
  const bad: Array<[string, CdcParams]> = [
    ['avg not a power of two', { minSize: 1024, avgSize: 3000, maxSize: 8192 }],
    ['avg too small', { minSize: 8, avgSize: 32, maxSize: 64 }],
    ['min above avg', { minSize: 16 * KiB, avgSize: 8 * KiB, maxSize: 64 * KiB }],
    ['min zero', { minSize: 0, avgSize: 8 * KiB, maxSize: 64 * KiB }],
    ['max below avg', { minSize: 2 * KiB, avgSize: 8 * KiB, maxSize: 4 * KiB }],
    ['max too large', { minSize: 2 * KiB, avgSize: 8 * KiB, maxSize: 2 ** 40 }],
    ['non-integer', { minSize: 2048.5, avgSize: 8 * KiB, maxSize: 64 * KiB }],
    ['NaN', { minSize: 2 * KiB, avgSize: Number.NaN, maxSize: 64 * KiB }],
    ['negative', { minSize: -1, avgSize: 8 * KiB, maxSize: 64 * KiB }],
  ];
  it.each(bad)('rejects %s', (_, params) => {
    expect(() => new CdcChunker(params)).toThrow(RangeError);
    expect(() => cdcCut(new Uint8Array(10), 0, 10, params)).toThrow(RangeError);
  });

  it('rejects a range outside the buffer', () => {
    const buf = new Uint8Array(10);
    expect(() => cdcCut(buf, 0, 11, SMALL)).toThrow(RangeError);
    expect(() => cdcCut(buf, 5, 4, SMALL)).toThrow(RangeError);
    expect(() => cdcCut(buf, -1, 4, SMALL)).toThrow(RangeError);
  });

  it('accepts the defaults and degenerate-but-valid settings', () => {
    expect(() => new CdcChunker()).not.toThrow();
    expect(() => new CdcChunker({ minSize: 64, avgSize: 64, maxSize: 64 })).not.toThrow();
  });
});

function expectMostChunksAfterEditShared(params: CdcParams, original: Buffer, edited: Buffer, editAt: number): void {
  const originalHashes = new Set(chunkAll(params, original).map(sha256));
  const editedChunks = chunkAll(params, edited);
  let offset = 0;
  let after = 0;
  let shared = 0;
  for (const chunk of editedChunks) {
    if (offset > editAt) {
      after++;
      if (originalHashes.has(sha256(chunk))) shared++;
    }
    offset += chunk.length;
  }
  expect(after).toBeGreaterThan(10);
  expect(shared / after).toBeGreaterThanOrEqual(0.8);
}
