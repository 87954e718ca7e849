import { SinkiError } from '../errors.js';

/** Ids per page: 65,536 of 32 bytes, 2 MiB. */
const PAGE_BITS = 16;
const WORDS = 8;

/**
 * A set of 32-byte blob ids (hex in, hex out) in about 44 bytes an id: the ids in fixed pages and an
 * open-addressing table of their numbers, as in BlobIndex. Prune's "every blob a snapshot still
 * uses" holds millions of them; a Set of hex strings would cost a hundred bytes and more each.
 */
export class BlobIdSet {
  private readonly pages: Uint32Array[] = [];
  private readonly pageBytes: Buffer[] = [];
  private readonly pageMask: number;
  private count = 0;
  private slots: Uint32Array;
  private slotBits: number;
  private readonly seed = (Math.random() * 0x100000000) >>> 0;
  private readonly key = new Uint32Array(WORDS);
  private readonly keyBytes = Buffer.from(this.key.buffer);

  /** `pageBits`: log2 of the ids per page (tests make pages tiny). */
  constructor(private readonly pageBits = PAGE_BITS) {
    this.pageMask = (1 << pageBits) - 1;
    this.slotBits = Math.max(2, pageBits + 1);
    this.slots = new Uint32Array(1 << this.slotBits);
  }

  /** Adds a 64-digit hex id; false when it was there already. Anything else (a damaged tree's "id") is CORRUPT. */
  add(id: string): boolean {
    this.toKey(id);
    const slot = this.findSlot(this.key, 0);
    if (slot >= 0) return false;
    if ((this.count + 1) * 2 > this.slots.length) this.rehash(this.slotBits + 1);
    const n = this.count++;
    if (n >>> this.pageBits >= this.pages.length) {
      const page = new Uint32Array((this.pageMask + 1) * WORDS);
      this.pages.push(page);
      this.pageBytes.push(Buffer.from(page.buffer, page.byteOffset, page.byteLength));
    }
    this.pages[n >>> this.pageBits]!.set(this.key, (n & this.pageMask) * WORDS);
    this.place(n);
    return true;
  }

  has(id: string): boolean {
    if (id.length !== 64 || this.keyBytes.write(id, 0, 32, 'hex') !== 32) return false;
    return this.findSlot(this.key, 0) >= 0;
  }

  get size(): number {
    return this.count;
  }

  /** The ids in the order they were added, as hex. */
  *[Symbol.iterator](): IterableIterator<string> {
    for (let n = 0; n < this.count; n++) {
      const at = (n & this.pageMask) * WORDS * 4;
      yield this.pageBytes[n >>> this.pageBits]!.toString('hex', at, at + 32);
    }
  }

  private toKey(id: string): void {
    if (id.length !== 64 || this.keyBytes.write(id, 0, 32, 'hex') !== 32) throw new SinkiError('CORRUPT', `not a blob id: ${JSON.stringify(id.slice(0, 80))}`);
  }

  /**
   * As BlobIndex: every word of the id mixed with a random seed. home/findSlot mirror BlobIndex's on
   * purpose: one shared function for both (over pages, page bits and record width) made opening a
   * store of 4 M blobs 20–25% slower (0.94–1.00 s against 1.12–1.23 s, scripts/bench-scale --files 2k
   * --blobs 4M), as V8 no longer folded the record width and fields into the probe loop.
   */
  private home(words: Uint32Array, w: number): number {
    let h = this.seed;
    for (let k = 0; k < WORDS; k++) h = Math.imul(h ^ words[w + k]!, 0x9e3779b1);
    return (h ^ (h >>> 16)) >>> (32 - this.slotBits);
  }

  private findSlot(words: Uint32Array, w: number): number {
    const mask = this.slots.length - 1;
    for (let s = this.home(words, w); ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) return ~s;
      const n = v - 1;
      const page = this.pages[n >>> this.pageBits]!;
      const t = (n & this.pageMask) * WORDS;
      let same = true;
      for (let k = 0; k < WORDS && same; k++) same = page[t + k] === words[w + k];
      if (same) return s;
    }
  }

  private place(n: number): void {
    const mask = this.slots.length - 1;
    let s = this.home(this.pages[n >>> this.pageBits]!, (n & this.pageMask) * WORDS);
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = n + 1;
  }

  private rehash(bits: number): void {
    this.slots = new Uint32Array(1 << bits);
    this.slotBits = bits;
    for (let n = 0; n < this.count; n++) this.place(n);
  }
}
