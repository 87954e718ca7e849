import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectCorruptRejection, runXz } from '../../helpers/xz.js';
import { XZ_ENGINE_NAMES, defaultXzEngine, tryXzEngineByName, xzEngineByName } from '../../../src/codec/xz.js';
import type { XzEngine } from '../../../src/codec/xz.js';
import { xzCliEngine } from '../../../src/codec/xz-cli.js';
import { INPUT_SLICE, SYNC_COMPRESS_MAX, SYNC_DECOMPRESS_MAX, loadShippedLzmaNative, lzmaNativeEngine } from '../../../src/codec/xz-lzma-native.js';
import { Slots } from '../../../src/codec/slots.js';

const available = XZ_ENGINE_NAMES.flatMap((name) => {
  const engine = tryXzEngineByName(name);
  return engine ? [[name, engine] as const] : [];
});

function compressible(size: number): Buffer {
  const line = Buffer.from('chunk 0042: the quick brown fox jumps over the lazy dog\n');
  const out = Buffer.alloc(size);
  for (let off = 0; off < size; off += line.length) line.copy(out, off);
  return out;
}

it('always has the shipped lzma-native and the xz CLI, and a default engine', () => {
  const names = available.map(([name]) => name);
  expect(names).toContain('lzma-native');
  expect(names).toContain('xz-cli');
  expect(defaultXzEngine().name).toMatch(/^lzma-native/);
});

it('names an unknown engine as a usage error', () => {
  expect(() => xzEngineByName('brotli')).toThrow(/unknown xz engine/);
});

describe.each(available)('xz engine %s', (_name, engine: XzEngine) => {
  const cases: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['1 byte', Buffer.from([0x5a])],
    ['5 MiB random', randomBytes(5 * 1024 * 1024)],
    ['compressible', compressible(300_000)],
  ];

  it.each(cases)('round-trips %s, readable by xz -d, CRC64 check', async (_label, plain) => {
    const packed = await engine.compress(plain, 1);
    expect(packed[7]).toBe(4); // stream flags: check type CRC64
    expect((await engine.decompress(packed, plain.length)).equals(plain)).toBe(true);
    expect(runXz(['-d', '-c', '--format=xz'], packed).equals(plain)).toBe(true);
  });

  it('honours every preset from 0 to 9', async () => {
    const plain = compressible(20_000);
    for (let preset = 0; preset <= 9; preset++) {
      const packed = await engine.compress(plain, preset);
      expect(packed.length).toBeLessThan(plain.length / 10);
      expect(runXz(['-d', '-c', '--format=xz'], packed).equals(plain)).toBe(true);
    }
  });

  it('rejects a preset outside 0-9', async () => {
    await expect(engine.compress(Buffer.from('x'), 10)).rejects.toThrow(/preset/);
    await expect(engine.compress(Buffer.from('x'), 1.5)).rejects.toThrow(/preset/);
  });

  // 3000: decoded on the calling thread; 100_000: in the pool, one slice; 2.5 MiB: several slices.
  it.each([3000, 100_000, 2.5 * 1024 * 1024])('rejects corrupt input with CORRUPT (%i bytes)', async (size) => {
    const plain = compressible(size);
    const packed = await engine.compress(plain, 1);

    for (const at of [10, 20, Math.floor(packed.length / 2), packed.length - 30, packed.length - 3]) {
      const flipped = Buffer.from(packed);
      flipped[at] = (flipped[at] ?? 0) ^ 0x10;
      await expectCorruptRejection(engine.decompress(flipped, plain.length));
    }
    await expectCorruptRejection(engine.decompress(packed.subarray(0, packed.length - 1), plain.length));
    await expectCorruptRejection(engine.decompress(packed.subarray(0, packed.length >> 1), plain.length));
    await expectCorruptRejection(engine.decompress(packed.subarray(0, 5), plain.length));
    await expectCorruptRejection(engine.decompress(Buffer.alloc(0), 0));
    await expectCorruptRejection(engine.decompress(randomBytes(4096), plain.length));
    await expectCorruptRejection(engine.decompress(Buffer.concat([packed, Buffer.from('trailing garbage')]), plain.length));
    await expectCorruptRejection(engine.decompress(packed, plain.length - 1));
    await expectCorruptRejection(engine.decompress(packed, plain.length + 1));
    await expectCorruptRejection(engine.decompress(packed, 0));
  });

  it('round-trips sizes at the edges of in-thread coding and of input slices', async () => {
    const edges = [SYNC_DECOMPRESS_MAX - 1, SYNC_DECOMPRESS_MAX, SYNC_DECOMPRESS_MAX + 1, INPUT_SLICE - 1, INPUT_SLICE, INPUT_SLICE + 1, 2 * INPUT_SLICE + 5];
    for (const size of edges) {
      for (const plain of [compressible(size), randomBytes(size)]) {
        const packed = await engine.compress(plain, 1);
        expect((await engine.decompress(packed, plain.length)).equals(plain), `${size} bytes`).toBe(true);
        expect(runXz(['-d', '-c', '--format=xz'], packed).equals(plain), `${size} bytes, xz -d`).toBe(true);
      }
    }
  });

  it('codes "here" (on the calling thread) the same xz, up to and past the in-thread limit', async () => {
    for (const size of [0, 1, 4096, SYNC_COMPRESS_MAX, SYNC_COMPRESS_MAX + 1]) {
      for (const plain of [compressible(size), randomBytes(size)]) {
        const packed = await engine.compress(plain, 1, { here: true });
        expect((await engine.decompress(packed, plain.length)).equals(plain), `${size} bytes`).toBe(true);
        expect(runXz(['-d', '-c', '--format=xz'], packed).equals(plain), `${size} bytes, xz -d`).toBe(true);
      }
    }
  });

  it('rejects a valid .xz stream that does not use CRC64', async () => {
    const r = spawnSync('xz', ['-z', '-c', '-1', '--check=crc32'], { input: Buffer.from('hello') });
    expect(r.status).toBe(0);
    await expectCorruptRejection(engine.decompress(r.stdout, 5));
  });

  it('rejects a second stream appended to the first', async () => {
    const a = await engine.compress(Buffer.from('first'), 1);
    const b = await engine.compress(Buffer.from('second'), 1);
    await expectCorruptRejection(engine.decompress(Buffer.concat([a, b]), 5));
  });

  it('keeps 8 concurrent calls apart', async () => {
    const plains = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? randomBytes(200_000 + i * 1000) : Buffer.from(`blob ${i} `.repeat(20_000 + i))));
    const packed = await Promise.all(plains.map((p, i) => engine.compress(p, i % 3 === 0 ? 6 : 1)));
    const back = await Promise.all(packed.map((p, i) => engine.decompress(p, plains[i]?.length ?? -1)));
    for (const [i, b] of back.entries()) expect(b.equals(plains[i] ?? Buffer.alloc(0))).toBe(true);
  });

  it('round-trips any small input (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 0, max: 3 }), async (bytes, preset) => {
        const plain = Buffer.from(bytes);
        const packed = await engine.compress(plain, preset);
        expect((await engine.decompress(packed, plain.length)).equals(plain)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});

it('says clearly when the xz command is missing', async () => {
  const missing = xzCliEngine('/nonexistent/xz');
  await expect(missing.compress(Buffer.from('x'), 1)).rejects.toThrow(/xz command not found/);
});

it('codes a small input "here" while every pool slot is taken; a big one waits its turn', async () => {
  const slots = new Slots(1);
  const engine = lzmaNativeEngine('lzma-native', loadShippedLzmaNative(), slots);
  await slots.acquire();
  const small = compressible(SYNC_COMPRESS_MAX);
  const packed = await engine.compress(small, 1, { here: true });
  expect(runXz(['-d', '-c', '--format=xz'], packed).equals(small)).toBe(true);
  let bigDone = false;
  const big = engine.compress(compressible(SYNC_COMPRESS_MAX + 1), 1, { here: true }).then(() => (bigDone = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(bigDone).toBe(false);
  slots.release();
  await big;
});
