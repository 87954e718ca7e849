import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectCorruptRejection, runXz } from '../../helpers/xz.js';
import { isSinkiError } from '../../../src/errors.js';
import { BlobEncoding, decodeBlob, encodeBlob } from '../../../src/codec/blob.js';
import { compactOfStream, streamOfCompact } from '../../../src/codec/xz-block.js';
import { XZ_ENGINE_NAMES, tryXzEngineByName } from '../../../src/codec/xz.js';

const engines = XZ_ENGINE_NAMES.flatMap((name) => {
  const engine = tryXzEngineByName(name);
  return engine ? [[name, engine] as const] : [];
});

/** Text-like data of any size, so that xz shrinks it. */
const compressible = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat({ max: 300_000 })).map(([seed, size]) => {
  const out = Buffer.alloc(Math.max(size, 200));
  for (let i = 0; i < out.length; i++) out[i] = 97 + (seed[i % seed.length]! % 13);
  return out;
});

describe('compact xz (format 2 blob payloads)', () => {
  for (const [name, engine] of engines) {
    it(`${name}: a one-block stream keeps its properties byte, LZMA2 data and CRC64 only, and is rebuilt byte for byte`, async () => {
      await fc.assert(
        fc.asyncProperty(compressible, fc.integer({ min: 0, max: 6 }), async (plain, preset) => {
          const stream = await engine.compress(plain, preset);
          const compact = compactOfStream(stream, plain.length);
          expect(compact).not.toBeNull();
          expect(stream.length - compact!.length).toBeGreaterThanOrEqual(43);
          expect(streamOfCompact(compact!, plain.length).equals(stream)).toBe(true);
          // The rebuilt stream is a standard .xz file: the xz tool itself accepts it.
          expect(runXz(['-d', '-c'], streamOfCompact(compact!, plain.length)).equals(plain)).toBe(true);
        }),
        { numRuns: 12 },
      );
    });

    it(`${name}: encodeBlob writes compact xz only when asked, and decodeBlob reads both`, async () => {
      const plain = Buffer.from('sinki '.repeat(5000));
      const compact = await encodeBlob(plain, true, 1, engine, { compactXz: true });
      const whole = await encodeBlob(plain, true, 1, engine);
      expect(compact[0]).toBe(BlobEncoding.XzCompact);
      expect(whole[0]).toBe(BlobEncoding.Xz);
      expect(whole.length - compact.length).toBeGreaterThanOrEqual(43);
      expect((await decodeBlob(compact, plain.length, engine, 'b')).equals(plain)).toBe(true);
      expect((await decodeBlob(whole, plain.length, engine, 'b')).equals(plain)).toBe(true);
      // Incompressible data stays raw either way.
      expect((await encodeBlob(randomBytes(4096), true, 1, engine, { compactXz: true }))[0]).toBe(BlobEncoding.Raw);
    });

    it(`${name}: damage to a compact payload, or a wrong length, is CORRUPT, never other data`, async () => {
      const plain = Buffer.from('0123456789abcdef'.repeat(4000));
      const payload = await encodeBlob(plain, true, 1, engine, { compactXz: true });
      const outcomes: string[] = [];
      for (let at = 1; at < payload.length; at++) {
        const bad = Buffer.from(payload);
        bad[at] = bad[at]! ^ 0x10;
        const got = await decodeBlob(bad, plain.length, engine, 'b').then(
          (out) => (out.equals(plain) ? `same plaintext (byte ${at})` : 'other data'),
          (err: unknown) => (isSinkiError(err, 'CORRUPT') ? 'CORRUPT' : String(err)),
        );
        outcomes.push(got);
      }
      // Only the dictionary size can change and still decode: a smaller or larger dictionary that holds every
      // match gives the same bytes, which the CRC64 and the length confirm.
      expect(outcomes.filter((o) => o !== 'CORRUPT')).toEqual(outcomes[0] === 'CORRUPT' ? [] : ['same plaintext (byte 1)']);
      await expectCorruptRejection(decodeBlob(payload.subarray(0, payload.length - 1), plain.length, engine, 'b'));
      await expectCorruptRejection(decodeBlob(payload.subarray(0, 5), plain.length, engine, 'b'));
      await expectCorruptRejection(decodeBlob(payload, plain.length + 1, engine, 'b'));
      await expectCorruptRejection(decodeBlob(payload, plain.length - 1, engine, 'b'));
    });
  }

  it('a stream of several blocks is not compacted (it is stored whole)', () => {
    const plain = Buffer.from('several blocks '.repeat(20000));
    const stream = runXz(['-1', '-c', '--check=crc64', '--block-size=65536'], plain);
    expect(compactOfStream(stream, plain.length)).toBeNull();
    const oneBlock = runXz(['-1', '-c', '--check=crc64'], plain);
    expect(compactOfStream(oneBlock, plain.length)).not.toBeNull();
    expect(compactOfStream(oneBlock, plain.length + 1)).toBeNull();
  });
});
