import { SinkiError } from '../errors.js';
import { decodeEntries, encodeEntries, visitEntries, type BlobKind, type PackEntry } from './pack-format.js';

export interface IndexEntry {
  packId: string;
  kind: BlobKind;
  offset: number;
  length: number;
  plainLength: number;
}

export interface PackRecord {
  packId: string;
  entries: PackEntry[];
}

/** One index segment's payload: for each pack, its id then its entry list (compact in stores of format 2). */
export function encodeIndexSegment(packs: readonly PackRecord[], compact: boolean): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32LE(packs.length);
  parts.push(count);
  for (const p of packs) parts.push(Buffer.from(p.packId, 'hex'), encodeEntries(p.entries, compact));
  return Buffer.concat(parts);
}

export function decodeIndexSegment(buf: Buffer, what: string, compact: boolean): PackRecord[] {
  if (buf.length < 4) throw new SinkiError('CORRUPT', `${what}: truncated`);
  const count = buf.readUInt32LE(0);
  const packs: PackRecord[] = [];
  let p = 4;
  for (let i = 0; i < count; i++) {
    if (p + 32 > buf.length) throw new SinkiError('CORRUPT', `${what}: truncated`);
    const packId = buf.toString('hex', p, p + 32);
    const { entries, end } = decodeEntries(buf, p + 32, what, compact);
    packs.push({ packId, entries });
    p = end;
  }
  if (p !== buf.length) throw new SinkiError('CORRUPT', `${what}: trailing bytes`);
  return packs;
}

/** Record layout, in 32-bit words: id (8) ‖ flags and pack number ‖ offset ‖ sealed length ‖ plain length. */
const WORDS = 12;
const PACK_WORD = 8;
const OFFSET_WORD = 9;
const LENGTH_WORD = 10;
const PLAIN_WORD = 11;
const KIND_BIT = 0x80000000;
/** Set on the record a hash slot points at: rehashing and compacting then scan records in order. */
const READ_BIT = 0x40000000;
const PACK_MASK = 0x3fffffff;
// Ids are written into records as little-endian words and read back as bytes (hex, lookups).
if (new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1) throw new Error('the index needs a little-endian CPU');

/** Records per page: 65,536 of 48 bytes, 3 MiB. */
const PAGE_BITS = 16;

/**
 * Blob id → where it lives, in about 60 bytes per blob (docs/DESIGN.md, "The index"): every indexed
 * copy is a 48-byte record in pages of a fixed size (growing never copies), each pack's copies a run
 * of consecutive records, and an open-addressing hash table (linear probing, at most half full) maps
 * an id to the record reads go to (see home() for where an id starts probing).
 *
 * Lookups take an id as hex (as most callers hold it) or as 32 bytes in a buffer; neither allocates.
 * Records that no pack run and no slot reaches any more (dropped or re-added packs) are reclaimed by
 * compacting the table once they outnumber the live ones.
 */
export class BlobIndex {
  private pages: Uint32Array[] = [];
  private pageBytes: Buffer[] = [];
  private readonly pageMask: number;
  /** Records in use, live or not. */
  private used = 0;
  private slots: Uint32Array;
  private slotBits: number;
  /** Ids in the hash table. */
  private count = 0;
  private readonly seed = (Math.random() * 0x100000000) >>> 0;
  /** Pack number → pack id; never cleared, since an entry may still name a pack added again or dropped (see dropPack). */
  private readonly packHex: string[] = [];
  /** Indexed pack id → its number, in the order packs were first added. */
  private readonly packNumbers = new Map<string, number>();
  /** Pack number → its run of records (length 0 once dropped). */
  private runStart: number[] = [];
  private readonly runLength: number[] = [];
  /** Records inside the runs of indexed packs. */
  private inRuns = 0;
  /** While loading: runs (start, length pairs) whose ids are hashed at the end, into slots sized once. */
  private deferred: number[] | null = null;
  private readonly key = new Uint32Array(8);
  private readonly keyBytes = Buffer.from(this.key.buffer);

  /** `pageBits`: log2 of the records per page (tests make pages tiny, so paging and compaction run often). */
  constructor(private readonly pageBits = PAGE_BITS) {
    this.pageMask = (1 << pageBits) - 1;
    this.slotBits = Math.max(2, pageBits + 1);
    this.slots = new Uint32Array(1 << this.slotBits);
  }

  /**
   * Until finishLoading(), added packs are recorded but their ids are not hashed: the slots are then
   * sized once for all of them instead of doubling (and rehashing every id) on the way. The same
   * answers as adding one by one; any query finishes first.
   */
  startLoading(): void {
    this.deferred ??= [];
  }

  finishLoading(): void {
    const runs = this.deferred;
    if (!runs) return;
    this.deferred = null;
    let records = 0;
    for (let i = 1; i < runs.length; i += 2) records += runs[i]!;
    this.reserve(this.count + records);
    for (let i = 0; i < runs.length; i += 2) this.hashRun(runs[i]!, runs[i + 1]!);
    this.compactIfSparse();
  }

  addPack(record: PackRecord): void {
    const start = this.used;
    for (const e of record.entries) {
      const r = this.appendRecord();
      this.pageBytes[r >>> this.pageBits]!.write(e.id, (r & this.pageMask) * WORDS * 4, 32, 'hex');
      this.setRecord(r, e.kind, e.offset, e.length, e.plainLength);
    }
    if (!this.deferred) this.reserve(this.count + record.entries.length);
    this.indexRun(record.packId, start, this.used - start);
    this.compactIfSparse();
  }

  /**
   * Adds every pack an index segment names, decoded straight into the table (no object per blob).
   * Nothing is added when the segment is damaged. Returns the pack ids, in segment order.
   */
  addSegment(buf: Buffer, what: string, compact: boolean): string[] {
    if (buf.length < 4) throw new SinkiError('CORRUPT', `${what}: truncated`);
    const packCount = buf.readUInt32LE(0);
    const mark = this.used;
    const runs: Array<{ packId: string; start: number; length: number }> = [];
    try {
      let p = 4;
      for (let i = 0; i < packCount; i++) {
        if (p + 32 > buf.length) throw new SinkiError('CORRUPT', `${what}: truncated`);
        const packId = buf.toString('hex', p, p + 32);
        const start = this.used;
        p = visitEntries(buf, p + 32, what, compact, (kind, idAt, offset, length, plainLength) => {
          const r = this.appendRecord();
          const page = this.pages[r >>> this.pageBits]!;
          const w = (r & this.pageMask) * WORDS;
          // Word by word, not buf.copy: for 32 bytes the native call costs more than the copy.
          for (let k = 0; k < 8; k++) {
            const i = idAt + 4 * k;
            page[w + k] = (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24)) >>> 0;
          }
          this.setRecord(r, kind, offset, length, plainLength);
        });
        runs.push({ packId, start, length: this.used - start });
      }
      if (p !== buf.length) throw new SinkiError('CORRUPT', `${what}: trailing bytes`);
    } catch (err) {
      this.truncate(mark);
      throw err;
    }
    if (!this.deferred) this.reserve(this.count + (this.used - mark));
    for (const run of runs) this.indexRun(run.packId, run.start, run.length);
    this.compactIfSparse();
    return runs.map((r) => r.packId);
  }

  /** Forgets a deleted pack; call only once every blob it held is read from another pack. */
  dropPack(packId: string): void {
    this.finishLoading();
    const n = this.packNumbers.get(packId);
    if (n === undefined) return;
    const start = this.runStart[n]!;
    const end = start + this.runLength[n]!;
    for (let r = start; r < end; r++) {
      const slot = this.findSlot(this.pages[r >>> this.pageBits]!, (r & this.pageMask) * WORDS);
      if (slot >= 0 && this.packOf(this.slots[slot]! - 1) === packId) this.deleteSlot(slot);
    }
    this.packNumbers.delete(packId);
    this.inRuns -= end - start;
    this.runLength[n] = 0;
    this.compactIfSparse();
  }

  /** True when reads of this entry's blob go to this very copy (a blob may be stored twice, even in one pack). */
  readsFrom(packId: string, entry: PackEntry): boolean {
    this.finishLoading();
    const r = this.recordOfHex(entry.id);
    return r >= 0 && this.packOf(r) === packId && this.word(r, OFFSET_WORD) === entry.offset;
  }

  get(id: string): IndexEntry | undefined {
    this.finishLoading();
    const r = this.recordOfHex(id);
    return r < 0 ? undefined : this.entryOf(r);
  }

  /** The pack reads of this blob go to (get() without building an entry: backup asks this of every chunk it reuses). */
  packIdOf(id: string): string | undefined {
    this.finishLoading();
    const r = this.recordOfHex(id);
    return r < 0 ? undefined : this.packOf(r);
  }

  has(id: string): boolean {
    this.finishLoading();
    return this.recordOfHex(id) >= 0;
  }

  /** get() for an id held as the 32 bytes at `at` of `buf` (tree and chunk ids as they are decoded). */
  getBytes(buf: Buffer, at = 0): IndexEntry | undefined {
    this.finishLoading();
    const r = this.recordOfBytes(buf, at);
    return r < 0 ? undefined : this.entryOf(r);
  }

  hasBytes(buf: Buffer, at = 0): boolean {
    this.finishLoading();
    return this.recordOfBytes(buf, at) >= 0;
  }

  packIds(): string[] {
    return [...this.packNumbers.keys()];
  }

  hasPack(packId: string): boolean {
    return this.packNumbers.has(packId);
  }

  /** The pack's entries in file order (built on each call: keep them only as long as needed). */
  packEntries(packId: string): PackEntry[] | undefined {
    const n = this.packNumbers.get(packId);
    if (n === undefined) return undefined;
    const entries: PackEntry[] = [];
    const start = this.runStart[n]!;
    for (let r = start; r < start + this.runLength[n]!; r++) {
      const at = (r & this.pageMask) * WORDS;
      entries.push({
        kind: this.kindOf(r),
        id: this.pageBytes[r >>> this.pageBits]!.toString('hex', at * 4, at * 4 + 32),
        offset: this.word(r, OFFSET_WORD),
        length: this.word(r, LENGTH_WORD),
        plainLength: this.word(r, PLAIN_WORD),
      });
    }
    return entries;
  }

  /** How many entries the pack has, undefined when it is not indexed. */
  packEntryCount(packId: string): number | undefined {
    const n = this.packNumbers.get(packId);
    return n === undefined ? undefined : this.runLength[n];
  }

  get blobCount(): number {
    this.finishLoading();
    return this.count;
  }

  /** Bytes held by the record pages and the hash slots (what bench-scale reports per blob). */
  get memoryBytes(): number {
    return this.pages.length * (this.pageMask + 1) * WORDS * 4 + this.slots.byteLength;
  }

  // ---- records ----------------------------------------------------------------------

  private appendRecord(): number {
    if (this.used >>> this.pageBits >= this.pages.length) {
      const page = new Uint32Array((this.pageMask + 1) * WORDS);
      this.pages.push(page);
      this.pageBytes.push(Buffer.from(page.buffer, page.byteOffset, page.byteLength));
    }
    return this.used++;
  }

  /** Forgets the records from `used` on (a segment that turned out damaged). */
  private truncate(used: number): void {
    this.used = used;
    const pages = Math.ceil(used / (this.pageMask + 1));
    this.pages.length = pages;
    this.pageBytes.length = pages;
  }

  private word(r: number, i: number): number {
    return this.pages[r >>> this.pageBits]![(r & this.pageMask) * WORDS + i]!;
  }

  private setRecord(r: number, kind: BlobKind, offset: number, length: number, plainLength: number): void {
    const page = this.pages[r >>> this.pageBits]!;
    const w = (r & this.pageMask) * WORDS;
    page[w + PACK_WORD] = kind === 1 ? KIND_BIT : 0;
    page[w + OFFSET_WORD] = offset;
    page[w + LENGTH_WORD] = length;
    page[w + PLAIN_WORD] = plainLength;
  }

  private kindOf(r: number): BlobKind {
    return (this.word(r, PACK_WORD) >>> 31) as BlobKind;
  }

  private packOf(r: number): string {
    return this.packHex[this.word(r, PACK_WORD) & PACK_MASK]!;
  }

  private entryOf(r: number): IndexEntry {
    return {
      packId: this.packOf(r),
      kind: this.kindOf(r),
      offset: this.word(r, OFFSET_WORD),
      length: this.word(r, LENGTH_WORD),
      plainLength: this.word(r, PLAIN_WORD),
    };
  }

  private markRead(r: number, on: boolean): void {
    const page = this.pages[r >>> this.pageBits]!;
    const w = (r & this.pageMask) * WORDS + PACK_WORD;
    page[w] = on ? (page[w]! | READ_BIT) >>> 0 : (page[w]! & ~READ_BIT) >>> 0;
  }

  /** Makes records [start, start + length) the run of `packId`, then points their ids at them (now, or all at once when loading). */
  private indexRun(packId: string, start: number, length: number): void {
    let n = this.packNumbers.get(packId);
    if (n === undefined) {
      n = this.packHex.length;
      if (n > PACK_MASK) throw new Error('too many packs for the index');
      this.packHex.push(packId);
      this.packNumbers.set(packId, n);
      this.runStart.push(start);
      this.runLength.push(length);
    } else {
      // Added again (named by a second segment): the new list replaces the old one.
      this.inRuns -= this.runLength[n]!;
      this.runStart[n] = start;
      this.runLength[n] = length;
    }
    this.inRuns += length;
    for (let r = start; r < start + length; r++) {
      const page = this.pages[r >>> this.pageBits]!;
      const w = (r & this.pageMask) * WORDS;
      page[w + PACK_WORD] = (page[w + PACK_WORD]! | n) >>> 0;
    }
    if (this.deferred) this.deferred.push(start, length);
    else this.hashRun(start, length);
  }

  /**
   * Points the ids of records [start, start + length) at them, unless a smaller copy is known: of
   * equal copies, the one added last is read (a repacked blob moves).
   */
  private hashRun(start: number, length: number): void {
    for (let r = start; r < start + length; r++) {
      const page = this.pages[r >>> this.pageBits]!;
      const w = (r & this.pageMask) * WORDS;
      const slot = this.findSlot(page, w);
      if (slot < 0) {
        this.insert(r, ~slot);
        continue;
      }
      const known = this.slots[slot]! - 1;
      if (page[w + LENGTH_WORD]! <= this.word(known, LENGTH_WORD)) {
        this.markRead(known, false);
        this.markRead(r, true);
        this.slots[slot] = r + 1;
      }
    }
  }

  /** Reclaims records no run and no slot reaches, once they outnumber the rest: one pass in record order. */
  private compactIfSparse(): void {
    // While loading, records of replaced runs still wait to be hashed: nothing is garbage yet.
    if (this.deferred) return;
    if (this.used <= this.pageMask + 1 || this.used <= 2 * (this.inRuns + this.count)) return;
    const oldPages = this.pages;
    const newStart = [...this.runStart];
    this.pages = [];
    this.pageBytes = [];
    const used = this.used;
    this.used = 0;
    for (let r = 0; r < used; r++) {
      const from = oldPages[r >>> this.pageBits]!;
      const w = (r & this.pageMask) * WORDS;
      const n = from[w + PACK_WORD]! & PACK_MASK;
      const inRun = r >= this.runStart[n]! && r < this.runStart[n]! + this.runLength[n]!;
      if (!inRun && (from[w + PACK_WORD]! & READ_BIT) === 0) continue;
      const to = this.appendRecord();
      if (inRun && r === this.runStart[n]) newStart[n] = to;
      this.pages[to >>> this.pageBits]!.set(from.subarray(w, w + WORDS), (to & this.pageMask) * WORDS);
    }
    this.runStart = newStart;
    this.rehash(this.slotBits);
  }

  // ---- hash slots ---------------------------------------------------------------------

  private recordOfHex(id: string): number {
    if (id.length !== 64 || this.keyBytes.write(id, 0, 32, 'hex') !== 32) return -1;
    const slot = this.findSlot(this.key, 0);
    return slot < 0 ? -1 : this.slots[slot]! - 1;
  }

  private recordOfBytes(buf: Buffer, at: number): number {
    if (at + 32 > buf.length) return -1;
    for (let k = 0; k < 32; k++) this.keyBytes[k] = buf[at + k]!;
    const slot = this.findSlot(this.key, 0);
    return slot < 0 ? -1 : this.slots[slot]! - 1;
  }

  /**
   * The id's first slot: every word of it mixed with a random per-index seed, so ids crafted into a
   * hostile segment (sharing their first bytes, say) do not pile onto one probe run.
   */
  private home(words: Uint32Array, w: number): number {
    let h = this.seed;
    for (let k = 0; k < 8; k++) h = Math.imul(h ^ words[w + k]!, 0x9e3779b1);
    return (h ^ (h >>> 16)) >>> (32 - this.slotBits);
  }

  /** The slot holding the id at words[w..w+8), or ~(the free slot where it would go). */
  private findSlot(words: Uint32Array, w: number): number {
    const mask = this.slots.length - 1;
    for (let s = this.home(words, w); ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) return ~s;
      const r = v - 1;
      const page = this.pages[r >>> this.pageBits]!;
      const t = (r & this.pageMask) * WORDS;
      if (
        page[t] === words[w] &&
        page[t + 1] === words[w + 1] &&
        page[t + 2] === words[w + 2] &&
        page[t + 3] === words[w + 3] &&
        page[t + 4] === words[w + 4] &&
        page[t + 5] === words[w + 5] &&
        page[t + 6] === words[w + 6] &&
        page[t + 7] === words[w + 7]
      )
        return s;
    }
  }

  private insert(r: number, slot: number): void {
    if ((this.count + 1) * 2 > this.slots.length) {
      this.rehash(this.slotBits + 1);
      slot = ~this.findSlot(this.pages[r >>> this.pageBits]!, (r & this.pageMask) * WORDS);
    }
    this.slots[slot] = r + 1;
    this.markRead(r, true);
    this.count += 1;
  }

  /** Grows the slots at once to hold `ids` (one rehash for a whole segment, not one per doubling). */
  private reserve(ids: number): void {
    let bits = this.slotBits;
    while (ids * 2 > 1 << bits) bits += 1;
    if (bits !== this.slotBits) this.rehash(bits);
  }

  /** Rebuilds the slots from the records marked read, in record order (sequential reads of the table). */
  private rehash(bits: number): void {
    this.slots = new Uint32Array(1 << bits);
    this.slotBits = bits;
    const mask = this.slots.length - 1;
    for (let r = 0; r < this.used; r++) {
      const page = this.pages[r >>> this.pageBits]!;
      const w = (r & this.pageMask) * WORDS;
      if ((page[w + PACK_WORD]! & READ_BIT) === 0) continue;
      let s = this.home(page, w);
      while (this.slots[s] !== 0) s = (s + 1) & mask;
      this.slots[s] = r + 1;
    }
  }

  /** Empties a slot, shifting later entries of its probe run back so every id stays reachable. */
  private deleteSlot(slot: number): void {
    this.markRead(this.slots[slot]! - 1, false);
    const mask = this.slots.length - 1;
    let hole = slot;
    for (let s = (slot + 1) & mask; this.slots[s] !== 0; s = (s + 1) & mask) {
      const r = this.slots[s]! - 1;
      const h = this.home(this.pages[r >>> this.pageBits]!, (r & this.pageMask) * WORDS);
      // The entry at s may fill the hole unless its home lies cyclically in (hole, s].
      if (((s - h) & mask) >= ((s - hole) & mask)) {
        this.slots[hole] = this.slots[s]!;
        hole = s;
      }
    }
    this.slots[hole] = 0;
    this.count -= 1;
  }
}
