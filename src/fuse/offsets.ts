/** All offset arithmetic of the mount: nobody else divides by a chunk size. */

/** Index of the fixed-size chunk holding byte `pos`. */
export function chunkIndex(pos: number, chunkSize: number): number {
  return Math.floor(pos / chunkSize);
}

/** Number of fixed-size chunks a file of `size` bytes has. */
export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** Plaintext length of fixed-size chunk `i` of a file of `size` bytes. */
export function chunkLength(i: number, size: number, chunkSize: number): number {
  return Math.max(0, Math.min(chunkSize, size - i * chunkSize));
}

/** The pieces of [pos, pos+len) per fixed-size chunk: chunk index, offset inside it, length, offset in the request. */
export function fixedSpans(pos: number, len: number, chunkSize: number): Array<{ index: number; within: number; length: number; at: number }> {
  const out = [];
  let at = 0;
  while (at < len) {
    const p = pos + at;
    const index = chunkIndex(p, chunkSize);
    const within = p - index * chunkSize;
    const length = Math.min(chunkSize - within, len - at);
    out.push({ index, within, length, at });
    at += length;
  }
  return out;
}

/** Start offsets of variable-size chunks (running sum of lengths). */
export function chunkStarts(lengths: readonly number[]): number[] {
  const starts = new Array<number>(lengths.length);
  let sum = 0;
  for (let i = 0; i < lengths.length; i++) {
    starts[i] = sum;
    sum += lengths[i]!;
  }
  return starts;
}

/** Binary search: index of the variable-size chunk holding byte `pos` (starts ascending, starts[0] = 0). */
export function chunkIndexForOffset(starts: readonly number[], pos: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** st_blocks for `bytes` of data: 512-byte units, whatever st_blksize says (POSIX's DEV_BSIZE). */
export function blocksFor(bytes: number): number {
  return Math.ceil(bytes / 512);
}

/** Smallest dirty chunk buffer: a 300-byte file should not cost a zeroed buffer of the split size. */
export const MIN_DIRTY_CAPACITY = 4096;

/**
 * Length for a dirty chunk buffer that holds `current` bytes and must hold `need`: at least double,
 * so a chunk written bit by bit is copied O(log) times, never beyond the split size.
 */
export function dirtyCapacity(need: number, current: number, chunkSize: number): number {
  if (need <= current) return current;
  return Math.min(chunkSize, Math.max(need, 2 * current, MIN_DIRTY_CAPACITY));
}
