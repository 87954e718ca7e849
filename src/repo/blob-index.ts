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

/** Record layout, in 32-bit words: id (8) ‖ pack number | kind << 31 ‖ offset ‖ sealed length ‖ plain length. */
const WORDS = 12;
const PACK_WORD = 8;
const OFFSET_WORD = 9;
const LENGTH_WORD = 10;
const PLAIN_WORD = 11;
const KIND_BIT = 0x80000000;

/**
 * Blob id → where it lives, in a few bytes per blob (docs/DESIGN.md, "The index in memory"): every
 * indexed copy is a 48-byte record in one growable table, each pack's copies a run of consecutive
 * records, and an open-addressing hash table (linear probing, at most half full) maps an id to the
 * record reads go to. Ids are keyed hashes, so their first word spreads evenly; a per-index random
 * seed mixed in keeps crafted ids in a hostile segment from piling onto one slot sequence.
 *
 * Lookups take an id as hex (as most callers hold it) or as 32 bytes in a buffer; neither allocates.
 * Records that no pack run and no slot reaches any more (dropped or re-added packs) are reclaimed by
 * compacting the table once they outnumber the live ones.
 */
export class BlobIndex {
  private words: Uint32Array;
  private bytes: Buffer;
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
  private readonly runStart: number[] = [];
  private readonly runLength: number[] = [];
  /** Records inside the runs of indexed packs. */
  private inRuns = 0;
  private readonly key = new Uint32Array(8);
  private readonly keyBytes = Buffer.from(this.key.buffer);

  /** `minRecords`: the table's smallest size (tests make it tiny, so growth and compaction run often). */
  constructor(private readonly minRecords = 1024) {
    this.words = new Uint32Array(minRecords * WORDS);
    this.bytes = Buffer.from(this.words.buffer);
    this.slotBits = Math.max(2, Math.ceil(Math.log2(minRecords * 2)));
    this.slots = new Uint32Array(1 << this.slotBits);
  }

  addPack(record: PackRecord): void {
    const start = this.used;
    for (const e of record.entries) {
      const r = this.appendRecord();
      this.bytes.write(e.id, r * WORDS * 4, 32, 'hex');
      this.setRecord(r, 0, e.kind, e.offset, e.length, e.plainLength);
    }
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
          buf.copy(this.bytes, r * WORDS * 4, idAt, idAt + 32);
          this.setRecord(r, 0, kind, offset, length, plainLength);
        });
        runs.push({ packId, start, length: this.used - start });
      }
      if (p !== buf.length) throw new SinkiError('CORRUPT', `${what}: trailing bytes`);
    } catch (err) {
      this.used = mark;
      throw err;
    }
    for (const run of runs) this.indexRun(run.packId, run.start, run.length);
    this.compactIfSparse();
    return runs.map((r) => r.packId);
  }

  /** Forgets a deleted pack; call only once every blob it held is read from another pack. */
  dropPack(packId: string): void {
    const n = this.packNumbers.get(packId);
    if (n === undefined) return;
    const start = this.runStart[n]!;
    const end = start + this.runLength[n]!;
    for (let r = start; r < end; r++) {
      const slot = this.findSlot(this.words, r * WORDS);
      if (slot >= 0 && this.packHex[this.words[(this.slots[slot]! - 1) * WORDS + PACK_WORD]! & ~KIND_BIT] === packId) this.deleteSlot(slot);
    }
    this.packNumbers.delete(packId);
    this.inRuns -= end - start;
    this.compactIfSparse();
  }

  /** True when reads of this entry's blob go to this very copy (a blob may be stored twice, even in one pack). */
  readsFrom(packId: string, entry: PackEntry): boolean {
    const r = this.recordOfHex(entry.id);
    return r >= 0 && this.packOf(r) === packId && this.words[r * WORDS + OFFSET_WORD] === entry.offset;
  }

  get(id: string): IndexEntry | undefined {
    const r = this.recordOfHex(id);
    return r < 0 ? undefined : this.entryOf(r);
  }

  has(id: string): boolean {
    return this.recordOfHex(id) >= 0;
  }

  /** get() for an id held as the 32 bytes at `at` of `buf` (tree and chunk ids as they are decoded). */
  getBytes(buf: Buffer, at = 0): IndexEntry | undefined {
    const r = this.recordOfBytes(buf, at);
    return r < 0 ? undefined : this.entryOf(r);
  }

  hasBytes(buf: Buffer, at = 0): boolean {
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
      const w = r * WORDS;
      entries.push({
        kind: (this.words[w + PACK_WORD]! >>> 31) as BlobKind,
        id: this.bytes.toString('hex', w * 4, w * 4 + 32),
        offset: this.words[w + OFFSET_WORD]!,
        length: this.words[w + LENGTH_WORD]!,
        plainLength: this.words[w + PLAIN_WORD]!,
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
    return this.count;
  }

  /** Bytes held by the table and the hash slots (what bench-scale reports per blob). */
  get memoryBytes(): number {
    return this.words.byteLength + this.slots.byteLength;
  }

  // ---- records ----------------------------------------------------------------------

  private appendRecord(): number {
    if ((this.used + 1) * WORDS > this.words.length) {
      // Grow by half: a table of millions of records is most of the index, and doubling would leave up to half of it unused.
      const bigger = new Uint32Array(Math.max(this.minRecords, Math.ceil(this.used * 1.5)) * WORDS);
      bigger.set(this.words.subarray(0, this.used * WORDS));
      this.setTable(bigger);
    }
    return this.used++;
  }

  private setTable(words: Uint32Array): void {
    this.words = words;
    this.bytes = Buffer.from(words.buffer, words.byteOffset, words.byteLength);
  }

  private setRecord(r: number, packNumber: number, kind: BlobKind, offset: number, length: number, plainLength: number): void {
    const w = r * WORDS;
    this.words[w + PACK_WORD] = (packNumber | (kind === 1 ? KIND_BIT : 0)) >>> 0;
    this.words[w + OFFSET_WORD] = offset;
    this.words[w + LENGTH_WORD] = length;
    this.words[w + PLAIN_WORD] = plainLength;
  }

  private packOf(r: number): string {
    return this.packHex[this.words[r * WORDS + PACK_WORD]! & ~KIND_BIT]!;
  }

  private entryOf(r: number): IndexEntry {
    const w = r * WORDS;
    return {
      packId: this.packOf(r),
      kind: (this.words[w + PACK_WORD]! >>> 31) as BlobKind,
      offset: this.words[w + OFFSET_WORD]!,
      length: this.words[w + LENGTH_WORD]!,
      plainLength: this.words[w + PLAIN_WORD]!,
    };
  }

  /**
   * Makes records [start, start + length) the run of `packId` and points each id at its copy there,
   * unless a smaller copy is known: of equal copies, the one added last is read (a repacked blob moves).
   */
  private indexRun(packId: string, start: number, length: number): void {
    let n = this.packNumbers.get(packId);
    if (n === undefined) {
      n = this.packHex.length;
      if (n >= KIND_BIT) throw new Error('too many packs for the index');
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
    const words = this.words;
    for (let r = start; r < start + length; r++) {
      const w = r * WORDS;
      words[w + PACK_WORD] = (words[w + PACK_WORD]! | n) >>> 0;
      const slot = this.findSlot(words, w);
      if (slot < 0) this.insert(r, ~slot);
      else if (words[w + LENGTH_WORD]! <= words[(this.slots[slot]! - 1) * WORDS + LENGTH_WORD]!) this.slots[slot] = r + 1;
    }
  }

  /** Reclaims records no run and no slot reaches, once they outnumber the rest. */
  private compactIfSparse(): void {
    if (this.used < this.minRecords || this.used <= 2 * (this.inRuns + this.count)) return;
    const moved = new Int32Array(this.used).fill(-1);
    const words = new Uint32Array(Math.max(this.minRecords, Math.ceil((this.inRuns + this.count) * 1.25)) * WORDS);
    let next = 0;
    const copy = (r: number): number => {
      words.set(this.words.subarray(r * WORDS, (r + 1) * WORDS), next * WORDS);
      moved[r] = next;
      return next++;
    };
    for (const n of this.packNumbers.values()) {
      const start = this.runStart[n]!;
      this.runStart[n] = next;
      for (let r = start; r < start + this.runLength[n]!; r++) copy(r);
    }
    for (let s = 0; s < this.slots.length; s++) {
      const v = this.slots[s]!;
      if (v === 0) continue;
      const r = v - 1;
      this.slots[s] = (moved[r]! >= 0 ? moved[r]! : copy(r)) + 1;
    }
    this.setTable(words);
    this.used = next;
  }

  // ---- hash slots ---------------------------------------------------------------------

  private recordOfHex(id: string): number {
    if (id.length !== 64 || this.keyBytes.write(id, 0, 32, 'hex') !== 32) return -1;
    const slot = this.findSlot(this.key, 0);
    return slot < 0 ? -1 : this.slots[slot]! - 1;
  }

  private recordOfBytes(buf: Buffer, at: number): number {
    if (at + 32 > buf.length) return -1;
    buf.copy(this.keyBytes, 0, at, at + 32);
    const slot = this.findSlot(this.key, 0);
    return slot < 0 ? -1 : this.slots[slot]! - 1;
  }

  private home(w0: number): number {
    return Math.imul(w0 ^ this.seed, 0x9e3779b1) >>> (32 - this.slotBits);
  }

  /** The slot holding the id at words[w..w+8), or ~(the free slot where it would go). */
  private findSlot(words: Uint32Array, w: number): number {
    const mask = this.slots.length - 1;
    const table = this.words;
    for (let s = this.home(words[w]!); ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) return ~s;
      const t = (v - 1) * WORDS;
      if (
        table[t] === words[w] && table[t + 1] === words[w + 1] && table[t + 2] === words[w + 2] && table[t + 3] === words[w + 3] &&
        table[t + 4] === words[w + 4] && table[t + 5] === words[w + 5] && table[t + 6] === words[w + 6] && table[t + 7] === words[w + 7]
      ) return s;
    }
  }

  private insert(r: number, slot: number): void {
    if ((this.count + 1) * 2 > this.slots.length) {
      this.rehash(this.slotBits + 1);
      slot = ~this.findSlot(this.words, r * WORDS);
    }
    this.slots[slot] = r + 1;
    this.count += 1;
  }

  private rehash(bits: number): void {
    const old = this.slots;
    this.slots = new Uint32Array(1 << bits);
    this.slotBits = bits;
    const mask = this.slots.length - 1;
    for (const v of old) {
      if (v === 0) continue;
      let s = this.home(this.words[(v - 1) * WORDS]!);
      while (this.slots[s] !== 0) s = (s + 1) & mask;
      this.slots[s] = v;
    }
  }

  /** Empties a slot, shifting later entries of its probe run back so every id stays reachable. */
  private deleteSlot(slot: number): void {
    const mask = this.slots.length - 1;
    let hole = slot;
    for (let s = (slot + 1) & mask; this.slots[s] !== 0; s = (s + 1) & mask) {
      const h = this.home(this.words[(this.slots[s]! - 1) * WORDS]!);
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
