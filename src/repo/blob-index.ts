import { SinkiError } from '../errors.js';
import { decodeEntries, encodeEntries, type BlobKind, type PackEntry } from './pack-format.js';

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

/** Blob id → where it lives. */
export class BlobIndex {
  private readonly blobs = new Map<string, IndexEntry>();
  private readonly packs = new Map<string, PackEntry[]>();

  addPack(record: PackRecord): void {
    this.packs.set(record.packId, record.entries);
    for (const e of record.entries) {
      // A blob stored twice (a raw copy and a recompressed one) is read from the smaller copy; of
      // equal copies, from the one added last (a repacked blob moves). The other is garbage for prune.
      const known = this.blobs.get(e.id);
      if (!known || e.length <= known.length) this.blobs.set(e.id, { packId: record.packId, kind: e.kind, offset: e.offset, length: e.length, plainLength: e.plainLength });
    }
  }

  /** Forgets a deleted pack; call only once every blob it held is read from another pack. */
  dropPack(packId: string): void {
    for (const e of this.packs.get(packId) ?? []) if (this.blobs.get(e.id)?.packId === packId) this.blobs.delete(e.id);
    this.packs.delete(packId);
  }

  /** True when reads of this entry's blob go to this very copy (a blob may be stored twice, even in one pack). */
  readsFrom(packId: string, entry: PackEntry): boolean {
    const where = this.blobs.get(entry.id);
    return where !== undefined && where.packId === packId && where.offset === entry.offset;
  }

  get(id: string): IndexEntry | undefined {
    return this.blobs.get(id);
  }

  has(id: string): boolean {
    return this.blobs.has(id);
  }

  packIds(): string[] {
    return [...this.packs.keys()];
  }

  packEntries(packId: string): PackEntry[] | undefined {
    return this.packs.get(packId);
  }

  get blobCount(): number {
    return this.blobs.size;
  }
}
