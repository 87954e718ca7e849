import { SinkiError } from '../errors.js';
import type { XzEngine } from './xz.js';
import { looksIncompressible } from './sample.js';
import { compactOfStream, streamOfCompact } from './xz-block.js';

/** First byte of every blob payload, before sealing. */
export const enum BlobEncoding {
  Raw = 0,
  /** A whole .xz stream (stores of format 1). */
  Xz = 1,
  /** A one-block .xz stream without the parts that follow from the rest (see compactOfStream). */
  XzCompact = 2,
}

export interface EncodeOptions {
  /** See XzEngine.compress. */
  here?: boolean;
  /** Store one-block streams compacted (stores of format 2 and later). */
  compactXz?: boolean;
}

/** plaintext → payload: xz when asked and it shrinks the data, else raw (data that samples as incompressible skips xz). */
export async function encodeBlob(plain: Buffer, compress: boolean, preset: number, xz: XzEngine, options: EncodeOptions = {}): Promise<Buffer> {
  if (compress && !(await looksIncompressible(plain))) {
    const packed = await xz.compress(plain, preset, { here: options.here });
    const compact = options.compactXz ? compactOfStream(packed, plain.length) : null;
    if (compact && compact.length + 1 < plain.length) return Buffer.concat([Buffer.of(BlobEncoding.XzCompact), compact]);
    if (!compact && packed.length + 1 < plain.length) return Buffer.concat([Buffer.of(BlobEncoding.Xz), packed]);
  }
  return rawPayload(plain);
}

/** plaintext → payload stored as it is. */
export function rawPayload(plain: Buffer): Buffer {
  return Buffer.concat(rawPayloadPieces(plain));
}

/** A payload before sealing: one buffer, or pieces that are sealed one after the other without joining them. */
export type PayloadPieces = Buffer | readonly Buffer[];

const RAW_MARK = Buffer.of(BlobEncoding.Raw);

/** rawPayload without copying the plaintext (a 4 MiB chunk of the mount is stored raw this way). */
export function rawPayloadPieces(plain: Buffer): readonly Buffer[] {
  return [RAW_MARK, plain];
}

export function payloadEncoding(payload: PayloadPieces): number | undefined {
  return Buffer.isBuffer(payload) ? payload[0] : payload[0]?.[0];
}

export function joinedPayload(payload: PayloadPieces): Buffer {
  return Buffer.isBuffer(payload) ? payload : Buffer.concat(payload);
}

/** payload → plaintext, verified against the expected length (and xz's CRC64 when compressed). */
export async function decodeBlob(payload: Buffer, plainLength: number, xz: XzEngine, what: string): Promise<Buffer> {
  const encoding = payload[0];
  const body = payload.subarray(1);
  if (encoding === BlobEncoding.Raw) {
    if (body.length !== plainLength) throw new SinkiError('CORRUPT', `${what}: length ${body.length}, expected ${plainLength}`);
    return body;
  }
  if (encoding === BlobEncoding.Xz || encoding === BlobEncoding.XzCompact) {
    try {
      const stream = encoding === BlobEncoding.Xz ? body : streamOfCompact(body, plainLength);
      return await xz.decompress(stream, plainLength);
    } catch (err) {
      throw new SinkiError('CORRUPT', `${what}: ${(err as Error).message}`, { cause: err });
    }
  }
  throw new SinkiError('CORRUPT', `${what}: unknown encoding ${encoding}`);
}
