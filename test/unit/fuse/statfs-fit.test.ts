import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitStatfs } from '../../../src/fuse/statfs-fit.js';

describe('fitStatfs', () => {
  it('leaves a disk that fits 32-bit counts as it is', () => {
    const s = { bsize: 4096, frsize: 4096, blocks: 66_053_021, bfree: 20_875_725, bavail: 20_875_000, files: 16_515_072, ffree: 16_000_000, namemax: 255 };
    expect(fitStatfs(s)).toEqual(s);
  });

  it('a 64 TiB disk: every count fits 32 bits and the byte counts stay within one block', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2 ** 32, max: 2 ** 40 }), fc.nat(), fc.nat(), (blocks, free, avail) => {
        const bfree = free % blocks;
        const bavail = avail % (bfree + 1);
        const s = { bsize: 4096, frsize: 4096, blocks, bfree, bavail, files: 2 ** 40, ffree: 2 ** 39, namemax: 255 };
        const f = fitStatfs(s);
        for (const n of [f.blocks, f.bfree, f.bavail, f.files, f.ffree]) expect(n).toBeLessThanOrEqual(0xffffffff);
        expect(f.frsize).toBe(f.bsize);
        expect(Math.abs(f.blocks * f.bsize - blocks * 4096)).toBeLessThan(f.bsize);
        expect(Math.abs(f.bavail * f.bsize - bavail * 4096)).toBeLessThan(f.bsize);
      }),
    );
  });
});
