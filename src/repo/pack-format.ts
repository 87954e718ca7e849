import { SinkiError } from '../errors.js';
import { ByteReader, ByteWriter } from '../codec/bytes.js';

/** Pack file: prefix ‖ sealed blobs ‖ sealed header ‖ footer. All offsets are file offsets. */
export const PACK_MAGIC = Buffer.from('SNKP');
export const PACK_END_MAGIC = Buffer.from('SNKE');
/** Version 1 (stores of format 1): fixed-size header entries. Version 2: compact entries (see encodeEntries). */
export const PACK_VERSION = 2;
export const PACK_SALT_LENGTH = 32;
export const PACK_PREFIX_LENGTH = PACK_MAGIC.length + 1 + PACK_SALT_LENGTH;
export const PACK_FOOTER_LENGTH = 8;
const ENTRY_LENGTH = 1 + 32 + 4 + 4 + 4;

export const enum BlobKind {
  Data = 0,
  Tree = 1,
}

export interface PackEntry {
  kind: BlobKind;
  id: string;
  offset: number;
  length: number;
  plainLength: number;
}

export function packPrefix(salt: Buffer, version: number): Buffer {
  return Buffer.concat([PACK_MAGIC, Buffer.of(version), salt]);
}

/** The pack's salt and version. */
export function parsePackPrefix(buf: Buffer, name: string): { salt: Buffer; version: number } {
  if (buf.length < PACK_PREFIX_LENGTH || !buf.subarray(0, 4).equals(PACK_MAGIC)) throw new SinkiError('CORRUPT', `pack ${name}: not a pack (bad magic)`);
  const version = buf[4]!;
  if (version !== 1 && version !== PACK_VERSION) throw new SinkiError('CORRUPT', `pack ${name}: unknown pack version ${version}`);
  return { salt: buf.subarray(5, PACK_PREFIX_LENGTH), version };
}

/**
 * A pack's blob list. Compact (pack version 2, index segments of format 2): count ‖ (kind ‖ id ‖
 * varint length ‖ varint plain length)*, blobs lying end to end from the prefix on, so offsets are
 * left out. Otherwise fixed 45-byte entries with offsets.
 */
export function encodeEntries(entries: readonly PackEntry[], compact: boolean): Buffer {
  return compact ? encodeCompactEntries(entries) : encodeFixedEntries(entries);
}

export function decodeEntries(buf: Buffer, at: number, what: string, compact: boolean): { entries: PackEntry[]; end: number } {
  const entries: PackEntry[] = [];
  const end = visitEntries(buf, at, what, compact, (kind, idAt, offset, length, plainLength) => {
    entries.push({ kind, id: buf.toString('hex', idAt, idAt + 32), offset, length, plainLength });
  });
  return { entries, end };
}

/** One entry of a blob list as it lies in a buffer: its id is the 32 bytes at `idAt`. */
export type EntryVisitor = (kind: BlobKind, idAt: number, offset: number, length: number, plainLength: number) => void;

/**
 * Walks a count-prefixed blob list starting at `at` without building objects (the index loads
 * millions of entries this way); returns the position after it. A pack lies below 4 GiB (its
 * offsets are 32-bit in version 1), so an entry reaching past that is damage.
 */
export function visitEntries(buf: Buffer, at: number, what: string, compact: boolean, visit: EntryVisitor): number {
  return compact ? visitCompactEntries(buf, at, what, visit) : visitFixedEntries(buf, at, what, visit);
}

function encodeCompactEntries(entries: readonly PackEntry[]): Buffer {
  const w = new ByteWriter();
  const count = Buffer.alloc(4);
  count.writeUInt32LE(entries.length);
  w.bytes(count);
  let offset = PACK_PREFIX_LENGTH;
  for (const e of entries) {
    if (e.offset !== offset) throw new Error(`pack entries are not end to end (blob at ${e.offset}, expected ${offset})`);
    w.byte(e.kind);
    w.hex32(e.id);
    w.uint(e.length);
    w.uint(e.plainLength);
    offset += e.length;
  }
  return w.done();
}

function visitCompactEntries(buf: Buffer, at: number, what: string, visit: EntryVisitor): number {
  if (buf.length < at + 4) throw new SinkiError('CORRUPT', `${what}: truncated entry list`);
  const count = buf.readUInt32LE(at);
  if (count > (buf.length - at) / 35) throw new SinkiError('CORRUPT', `${what}: entry list runs past the end`);
  const r = new ByteReader(buf, what, at + 4);
  let offset = PACK_PREFIX_LENGTH;
  for (let i = 0; i < count; i++) {
    const kind = r.byte();
    if (kind !== BlobKind.Data && kind !== BlobKind.Tree) throw new SinkiError('CORRUPT', `${what}: unknown blob kind ${kind}`);
    const idAt = r.position;
    r.skip(32);
    const length = r.uint32();
    const plainLength = r.uint32();
    if (offset + length > 0xffffffff) throw new SinkiError('CORRUPT', `${what}: pack larger than 4 GiB`);
    visit(kind, idAt, offset, length, plainLength);
    offset += length;
  }
  return r.position;
}

function encodeFixedEntries(entries: readonly PackEntry[]): Buffer {
  const out = Buffer.alloc(4 + entries.length * ENTRY_LENGTH);
  out.writeUInt32LE(entries.length, 0);
  let p = 4;
  for (const e of entries) {
    out[p] = e.kind;
    out.write(e.id, p + 1, 32, 'hex');
    out.writeUInt32LE(e.offset, p + 33);
    out.writeUInt32LE(e.length, p + 37);
    out.writeUInt32LE(e.plainLength, p + 41);
    p += ENTRY_LENGTH;
  }
  return out;
}

function visitFixedEntries(buf: Buffer, at: number, what: string, visit: EntryVisitor): number {
  if (buf.length < at + 4) throw new SinkiError('CORRUPT', `${what}: truncated entry list`);
  const count = buf.readUInt32LE(at);
  const end = at + 4 + count * ENTRY_LENGTH;
  if (end > buf.length) throw new SinkiError('CORRUPT', `${what}: entry list runs past the end`);
  for (let p = at + 4; p < end; p += ENTRY_LENGTH) {
    const kind = buf[p]!;
    if (kind !== BlobKind.Data && kind !== BlobKind.Tree) throw new SinkiError('CORRUPT', `${what}: unknown blob kind ${kind}`);
    visit(kind, p + 1, buf.readUInt32LE(p + 33), buf.readUInt32LE(p + 37), buf.readUInt32LE(p + 41));
  }
  return end;
}

export function packFooter(sealedHeaderLength: number): Buffer {
  const f = Buffer.alloc(PACK_FOOTER_LENGTH);
  f.writeUInt32LE(sealedHeaderLength, 0);
  PACK_END_MAGIC.copy(f, 4);
  return f;
}

/** From the last 8 bytes of a pack of `fileSize` bytes: where its sealed header is. */
export function parsePackFooter(footer: Buffer, fileSize: number, name: string): { offset: number; length: number } {
  if (footer.length !== PACK_FOOTER_LENGTH || !footer.subarray(4).equals(PACK_END_MAGIC))
    throw new SinkiError('CORRUPT', `pack ${name}: truncated or damaged (bad footer)`);
  const length = footer.readUInt32LE(0);
  const offset = fileSize - PACK_FOOTER_LENGTH - length;
  if (offset < PACK_PREFIX_LENGTH) throw new SinkiError('CORRUPT', `pack ${name}: header length out of range`);
  return { offset, length };
}
