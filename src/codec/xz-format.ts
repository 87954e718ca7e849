import { SinkiError } from '../errors.js';

/** The six magic bytes every .xz stream starts with. */
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
/** Stream header (12) + empty index (8) + stream footer (12): no valid .xz stream is shorter. */
const XZ_MIN_STREAM_BYTES = 32;
/** Stream-flags check id for CRC64, the only check Sinki writes or accepts. */
export const XZ_CHECK_CRC64 = 4;

export function corruptXz(message: string, cause?: unknown): SinkiError {
  return new SinkiError('CORRUPT', `xz: ${message}`, cause === undefined ? undefined : { cause });
}

/**
 * Rejects what is not an .xz stream with a CRC64 check before any decoder sees it, so every engine
 * refuses the same inputs (liblzma alone would accept CRC32, SHA-256 or no check at all).
 */
export function assertXzCrc64Header(data: Buffer): void {
  if (data.length < XZ_MIN_STREAM_BYTES) throw corruptXz(`input too short (${data.length} bytes)`);
  if (!data.subarray(0, XZ_MAGIC.length).equals(XZ_MAGIC)) throw corruptXz('not an .xz stream (bad magic)');
  if (data[6] !== 0x00 || data[7] !== XZ_CHECK_CRC64) throw corruptXz('stream does not use a CRC64 check');
}

export function assertExpectedLength(expectedLength: number): void {
  if (!Number.isSafeInteger(expectedLength) || expectedLength < 0) {
    throw new SinkiError('USAGE', `xz: expected length must be a non-negative integer, got ${expectedLength}`);
  }
}

export function assertPreset(preset: number): void {
  if (!Number.isInteger(preset) || preset < 0 || preset > 9) {
    throw new SinkiError('USAGE', `xz: preset must be an integer 0-9, got ${preset}`);
  }
}

/** Copies output pieces into one buffer of exactly `expectedLength` bytes, failing as soon as they overflow it. */
export class ExactLengthSink {
  private readonly out: Buffer;
  private written = 0;
  private overflowed = false;

  constructor(private readonly expectedLength: number) {
    this.out = Buffer.allocUnsafe(expectedLength);
  }

  /** False once the output is longer than expected; later pieces are dropped. */
  push(piece: Buffer): boolean {
    if (this.overflowed) return false;
    if (this.written + piece.length > this.expectedLength) {
      this.overflowed = true;
      return false;
    }
    piece.copy(this.out, this.written);
    this.written += piece.length;
    return true;
  }

  finish(): Buffer {
    if (this.overflowed) throw corruptXz(`decompressed data is longer than the expected ${this.expectedLength} bytes`);
    if (this.written !== this.expectedLength) {
      throw corruptXz(`decompressed ${this.written} bytes, expected ${this.expectedLength}`);
    }
    return this.out;
  }
}
