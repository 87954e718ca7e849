import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { looksIncompressible, SAMPLE_MIN_LENGTH } from '../../../src/codec/sample.js';
import { BlobEncoding, decodeBlob, encodeBlob } from '../../../src/codec/blob.js';
import { defaultXzEngine } from '../../../src/codec/xz.js';

const text = (n: number): Buffer => {
  const words = ['chunk', 'pack', 'index', 'tree', 'snapshot', 'store', 'mount', 'the', 'of'];
  let s = '';
  for (let i = 0; s.length < n; i++) s += words[(i * 7 + (i >> 3)) % words.length] + (i % 11 === 0 ? '\n' : ' ');
  return Buffer.from(s.slice(0, n));
};

describe('incompressible sampling', () => {
  it('recognises random data and lets text and small blobs through to xz', async () => {
    expect(await looksIncompressible(randomBytes(1 << 20))).toBe(true);
    expect(await looksIncompressible(text(1 << 20))).toBe(false);
    expect(await looksIncompressible(randomBytes(SAMPLE_MIN_LENGTH - 1))).toBe(false);
    // Random with a compressible stretch that one of the samples lands in.
    const mixed = randomBytes(1 << 20);
    text(300 * 1024).copy(mixed, 700 * 1024);
    expect(await looksIncompressible(mixed)).toBe(false);
  });

  it('stores sampled-incompressible blobs raw and still round-trips', async () => {
    const xz = defaultXzEngine();
    const random = randomBytes(1 << 20);
    const payload = await encodeBlob(random, true, 1, xz);
    expect(payload[0]).toBe(BlobEncoding.Raw);
    expect((await decodeBlob(payload, random.length, xz, 't')).equals(random)).toBe(true);
    const t = text(1 << 20);
    const packed = await encodeBlob(t, true, 1, xz);
    expect(packed[0]).toBe(BlobEncoding.Xz);
    expect((await decodeBlob(packed, t.length, xz, 't')).equals(t)).toBe(true);
  });
});
