import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  blocksFor,
  chunkCount,
  chunkIndex,
  chunkIndexForOffset,
  chunkLength,
  chunkStarts,
  dirtyCapacity,
  fixedSpans,
  MIN_DIRTY_CAPACITY,
} from '../../../src/fuse/offsets.js';

describe('fixed-size chunk arithmetic', () => {
  it('spans cover the request exactly, in order, each inside one chunk', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 30 }), fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 1024, max: 1 << 22 }), (pos, len, cs) => {
        const spans = fixedSpans(pos, len, cs);
        let at = 0;
        for (const s of spans) {
          expect(s.at).toBe(at);
          expect(s.index * cs + s.within).toBe(pos + at);
          expect(s.within + s.length).toBeLessThanOrEqual(cs);
          expect(s.length).toBeGreaterThan(0);
          at += s.length;
        }
        expect(at).toBe(len);
      }),
    );
  });

  it('chunk lengths of a file add up to its size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 24 }), fc.integer({ min: 1 << 12, max: 1 << 22 }), (size, cs) => {
        const n = chunkCount(size, cs);
        let sum = 0;
        for (let i = 0; i < n; i++) {
          const len = chunkLength(i, size, cs);
          expect(len).toBeGreaterThan(0);
          if (i < n - 1) expect(len).toBe(cs);
          sum += len;
        }
        expect(sum).toBe(size);
        expect(chunkLength(n, size, cs)).toBe(0);
        if (size > 0) expect(chunkIndex(size - 1, cs)).toBe(n - 1);
      }),
    );
  });
});

describe('dirty chunk buffer capacity', () => {
  it('holds what is needed, never more than the split size, at least doubles when it grows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1 << 12, max: 1 << 23 }), fc.nat(), fc.nat(), (cs, a, b) => {
        const current = a % (cs + 1);
        const need = b % (cs + 1);
        const cap = dirtyCapacity(need, current, cs);
        expect(cap).toBeGreaterThanOrEqual(need);
        expect(cap).toBeLessThanOrEqual(cs);
        if (need <= current) expect(cap).toBe(current);
        else expect(cap).toBe(Math.min(cs, Math.max(need, 2 * current, MIN_DIRTY_CAPACITY)));
      }),
    );
  });

  it('a chunk written 512 bytes at a time is reallocated a handful of times, not once per write', () => {
    const cs = 4 << 20;
    let cap = 0;
    let grown = 0;
    for (let end = 512; end <= cs; end += 512) {
      const next = dirtyCapacity(end, cap, cs);
      if (next !== cap) grown++;
      cap = next;
    }
    expect(cap).toBe(cs);
    expect(grown).toBe(11); // 4 KiB, 8 KiB, ..., 4 MiB
  });
});

describe('variable-size chunk lookup', () => {
  it('finds the chunk holding every offset', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 60 }), fc.nat(), (lengths, r) => {
        const starts = chunkStarts(lengths);
        const total = lengths.reduce((a, b) => a + b, 0);
        const pos = r % total;
        const i = chunkIndexForOffset(starts, pos);
        expect(starts[i]!).toBeLessThanOrEqual(pos);
        expect(pos).toBeLessThan(starts[i]! + lengths[i]!);
      }),
    );
  });

  it('handles the first and last byte', () => {
    const starts = chunkStarts([10, 20, 30]);
    expect(starts).toEqual([0, 10, 30]);
    expect(chunkIndexForOffset(starts, 0)).toBe(0);
    expect(chunkIndexForOffset(starts, 9)).toBe(0);
    expect(chunkIndexForOffset(starts, 10)).toBe(1);
    expect(chunkIndexForOffset(starts, 59)).toBe(2);
  });
});

describe('st_blocks', () => {
  it('is the least number of 512-byte units that holds the bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (bytes) => {
        const b = blocksFor(bytes);
        expect(b * 512).toBeGreaterThanOrEqual(bytes);
        expect((b - 1) * 512).toBeLessThan(bytes === 0 ? 1 : bytes);
      }),
    );
    expect([blocksFor(0), blocksFor(1), blocksFor(512), blocksFor(513)]).toEqual([0, 1, 1, 2]);
  });
});
