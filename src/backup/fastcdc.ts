// FastCDC content-defined chunking (Xia et al., USENIX ATC 2016): gear rolling hash,
// cut-point skipping below minSize, normalized chunking (level 2) with a strict mask
// before avgSize and a loose mask after it, forced cut at maxSize.
//
// ON-DISK CONSTANT: the gear table, its seed, the mask layout and the cut rule decide where
// chunks start, so they decide which blobs a store holds. Changing any of them makes every
// new backup re-chunk differently and stop deduplicating against existing ones. Never change
// them; test/unit/backup/fastcdc.test.ts pins the boundaries of known inputs.
//
// The table from the public seed serves stores of formats 1 and 2. Anyone can compute its cut
// points, so chunk lengths would tell which known files a store holds: format 3 stores pass a
// table derived from their keys instead (Subkeys.gearBytes, gearFromBytes).

export interface CdcParams {
  minSize: number;
  /** Must be a power of two. */
  avgSize: number;
  maxSize: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const DEFAULT_CDC: CdcParams = Object.freeze({
  minSize: 512 * KiB,
  avgSize: 1 * MiB,
  maxSize: 8 * MiB,
});

const MIN_AVG_SIZE = 64;
const MAX_CHUNK_SIZE = 1024 * MiB;
// Normalization level 2: the strict mask has log2(avg)+2 bits, the loose one log2(avg)-2.
const NORMALIZATION_LEVEL = 2;
const GEAR_SEED = 0x53696e6b; // "Sink"

/** mulberry32: a tiny, fully specified PRNG, so the table is the same on every engine. */
function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) | 0;
  };
}

// Int32 rather than Uint32 so every value the hot loop touches stays a small integer in V8.
export const PUBLIC_GEAR: Int32Array = (() => {
  const next = mulberry32(GEAR_SEED);
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = next();
  return table;
})();

/** A gear table from 1024 secret bytes (256 little-endian 32-bit words). */
export function gearFromBytes(bytes: Uint8Array): Int32Array {
  if (bytes.length !== 1024) throw new RangeError(`a gear table needs 1024 bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = view.getInt32(i * 4, true);
  return table;
}

function checkGear(gear: Int32Array): Int32Array {
  if (gear.length !== 256) throw new RangeError(`a gear table has 256 entries, got ${gear.length}`);
  return gear;
}

/** The hash is 32 bits and shifts left, so the top bits depend on the most input bytes. */
function topBitsMask(bits: number): number {
  return (~0 << (32 - bits)) | 0;
}

interface ResolvedParams {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
  readonly maskS: number;
  readonly maskL: number;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function resolveParams(params: CdcParams): ResolvedParams {
  if (typeof params !== 'object' || params === null) {
    throw new RangeError('CDC params must be an object');
  }
  const { minSize, avgSize, maxSize } = params;
  for (const [name, v] of [
    ['minSize', minSize],
    ['avgSize', avgSize],
    ['maxSize', maxSize],
  ] as const) {
    if (!Number.isSafeInteger(v)) throw new RangeError(`CDC ${name} must be an integer, got ${String(v)}`);
  }
  if (avgSize < MIN_AVG_SIZE || avgSize > MAX_CHUNK_SIZE || !isPowerOfTwo(avgSize)) {
    throw new RangeError(`CDC avgSize must be a power of two in [${MIN_AVG_SIZE}, ${MAX_CHUNK_SIZE}], got ${avgSize}`);
  }
  if (minSize < 1 || minSize > avgSize) {
    throw new RangeError(`CDC minSize must be in [1, avgSize=${avgSize}], got ${minSize}`);
  }
  if (maxSize < avgSize || maxSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`CDC maxSize must be in [avgSize=${avgSize}, ${MAX_CHUNK_SIZE}], got ${maxSize}`);
  }
  const bits = 31 - Math.clz32(avgSize);
  return {
    minSize,
    avgSize,
    maxSize,
    maskS: topBitsMask(bits + NORMALIZATION_LEVEL),
    maskL: topBitsMask(bits - NORMALIZATION_LEVEL),
  };
}

/** Where a scan of the current chunk stopped, so the next push resumes instead of re-hashing. */
interface ScanState {
  /** Chunk-relative offset of the next byte to hash (never below minSize). */
  offset: number;
  fp: number;
}

/**
 * Hashes the current chunk from `state.offset` up to chunk-relative offset `available`;
 * chunk offset k is `bytes[base + k]`. Returns the chunk length if the chunk ends within
 * `available` bytes (by hash match or by reaching maxSize), else -1 with `state` saved.
 * Like the paper, a match on byte k ends the chunk before byte k.
 */
function scanChunk(bytes: Uint8Array, base: number, available: number, p: ResolvedParams, state: ScanState, gear: Int32Array): number {
  let fp = state.fp;
  let k = Math.max(state.offset, p.minSize);

  const normalEnd = Math.min(p.avgSize, available);
  if (k < normalEnd) {
    const maskS = p.maskS;
    let j = base + k;
    const stop = base + normalEnd;
    for (; j < stop; j++) {
      fp = ((fp << 1) + gear[bytes[j]!]!) | 0;
      if ((fp & maskS) === 0) return j - base;
    }
    k = normalEnd;
  }

  const maxEnd = Math.min(p.maxSize, available);
  if (k < maxEnd) {
    const maskL = p.maskL;
    let j = base + k;
    const stop = base + maxEnd;
    for (; j < stop; j++) {
      fp = ((fp << 1) + gear[bytes[j]!]!) | 0;
      if ((fp & maskL) === 0) return j - base;
    }
    k = maxEnd;
  }

  // k starts at minSize, so with minSize === maxSize it is there before any byte is seen: cut only
  // when that many bytes are at hand.
  if (k >= p.maxSize && available >= p.maxSize) return p.maxSize;
  state.offset = k;
  state.fp = fp;
  return -1;
}

/**
 * Length of the first chunk of `buf[start..end)`, treating `end` as the end of the data
 * (so a short tail without a cut point is returned whole).
 */
export function cdcCut(buf: Uint8Array, start: number, end: number, params: CdcParams, gear: Int32Array = PUBLIC_GEAR): number {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > buf.length) {
    throw new RangeError(`cdcCut range [${start}, ${end}) is not within a buffer of ${buf.length} bytes`);
  }
  const p = resolveParams(params);
  const n = end - start;
  if (n <= p.minSize) return n;
  const cut = scanChunk(buf, start, n, p, { offset: 0, fp: 0 }, checkGear(gear));
  return cut < 0 ? n : cut;
}

/**
 * Streaming FastCDC. Boundaries depend only on the bytes, never on how they were split into
 * push() calls. Chunks lying wholly inside one pushed buffer are returned as subarrays of it
 * (no copy): do not overwrite a buffer after pushing it while its chunks are still in use.
 * Chunks spanning several pushes are fresh copies. At most maxSize bytes are held between calls.
 */
export class CdcChunker {
  readonly #p: ResolvedParams;
  #carry: Buffer = Buffer.alloc(0);
  #carryLen = 0;
  readonly #state: ScanState = { offset: 0, fp: 0 };
  readonly #gear: Int32Array;

  /** `gear`: the store's table (format 3), else the public one. */
  constructor(params: CdcParams = DEFAULT_CDC, gear: Int32Array = PUBLIC_GEAR) {
    this.#p = resolveParams(params);
    this.#gear = checkGear(gear);
  }

  /** Returns the chunks completed by `data`, in order (possibly none). */
  push(data: Buffer): Buffer[] {
    const chunks: Buffer[] = [];
    let pos = 0;

    if (this.#carryLen > 0) {
      const held = this.#carryLen;
      const cut = scanChunk(data, -held, held + data.length, this.#p, this.#state, this.#gear);
      // scanChunk only reads offsets >= its saved offset >= held, so base -held never indexes below 0.
      if (cut < 0) {
        this.#hold(data, 0);
        return chunks;
      }
      const chunk = Buffer.allocUnsafe(cut);
      this.#carry.copy(chunk, 0, 0, held);
      data.copy(chunk, held, 0, cut - held);
      chunks.push(chunk);
      pos = cut - held;
      this.#startNextChunk();
    }

    while (pos < data.length) {
      const cut = scanChunk(data, pos, data.length - pos, this.#p, this.#state, this.#gear);
      if (cut < 0) {
        this.#hold(data, pos);
        break;
      }
      chunks.push(data.subarray(pos, pos + cut));
      pos += cut;
      this.#startNextChunk();
    }
    return chunks;
  }

  /** Returns the final partial chunk, if any, and resets the chunker for a new stream. */
  finish(): Buffer | null {
    const held = this.#carryLen;
    const tail = held > 0 ? Buffer.from(this.#carry.subarray(0, held)) : null;
    this.#carry = Buffer.alloc(0);
    this.#carryLen = 0;
    this.#startNextChunk();
    return tail;
  }

  #startNextChunk(): void {
    this.#carryLen = 0; // the held bytes, if any, were just emitted
    this.#state.offset = 0;
    this.#state.fp = 0;
  }

  /** Copies data[from..] after the held bytes; the total stays below maxSize since no cut was found. */
  #hold(data: Buffer, from: number): void {
    const needed = this.#carryLen + data.length - from;
    if (needed > this.#carry.length) {
      const grown = Math.min(this.#p.maxSize, Math.max(needed, 2 * this.#carry.length, 64 * KiB));
      const next = Buffer.allocUnsafe(grown);
      this.#carry.copy(next, 0, 0, this.#carryLen);
      this.#carry = next;
    }
    data.copy(this.#carry, this.#carryLen, from);
    this.#carryLen = needed;
  }
}

/** The chunks of a buffer that holds a whole file, as subarrays: the same cuts as CdcChunker over the same bytes. */
export function chunkWhole(buf: Buffer, params: CdcParams = DEFAULT_CDC, gear: Int32Array = PUBLIC_GEAR): Buffer[] {
  const chunks: Buffer[] = [];
  for (let pos = 0; pos < buf.length; ) {
    const len = cdcCut(buf, pos, buf.length, params, gear);
    chunks.push(buf.subarray(pos, pos + len));
    pos += len;
  }
  return chunks;
}
