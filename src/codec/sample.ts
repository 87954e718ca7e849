import { deflateRaw } from 'node:zlib';
import { promisify } from 'node:util';

const deflateRawAsync = promisify(deflateRaw);

/** Blobs smaller than this are always tried with xz: sampling would cost more than it saves. */
export const SAMPLE_MIN_LENGTH = 256 * 1024;
const SAMPLE_LENGTH = 16 * 1024;
const SAMPLES = 8;
/** deflate level 1 saving less than this on every sample means xz would not pay either. */
const INCOMPRESSIBLE_RATIO = 0.98;

/**
 * A cheap look before the expensive xz pass: deflate level 1 on eight slices spread over the blob (a compressible stretch of an eighth or more is always sampled).
 * Media and archives (already compressed) are recognised in well under a millisecond, and skip xz.
 */
export async function looksIncompressible(plain: Buffer): Promise<boolean> {
  if (plain.length < SAMPLE_MIN_LENGTH) return false;
  const step = Math.floor((plain.length - SAMPLE_LENGTH) / (SAMPLES - 1));
  for (let i = 0; i < SAMPLES; i++) {
    const slice = plain.subarray(i * step, i * step + SAMPLE_LENGTH);
    const packed = await deflateRawAsync(slice, { level: 1 });
    if (packed.length < slice.length * INCOMPRESSIBLE_RATIO) return false;
  }
  return true;
}
