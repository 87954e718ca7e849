import { SinkiError } from '../errors.js';
import type { Tree, TreeNode } from './tree.js';

/**
 * The tree encoding of format-2 stores. Ids and hashes are 32 raw bytes, numbers are varints, and a
 * file of one chunk whose id follows from its SHA-256 stores the hash alone: on a tree of small
 * files that is half the bytes of the JSON form, compressed.
 *
 *   tree  = 0x02 ‖ varint count ‖ entry*
 *   entry = flags ‖ name ‖ varint mode ‖ varint uid ‖ varint gid ‖ zigzag (mtime − previous entry's mtime)
 *           ‖ [zigzag (ctime − mtime)] ‖ varint size ‖ [varint inode] ‖ body
 *   body  = file: [sha256] ‖ (nothing when the chunk is derived | varint n ‖ (id ‖ varint length)*)
 *           dir: subtree id; symlink: target
 *   name, target = varint byte length ‖ UTF-8
 */
export const BINARY_TREE_MARK = 0x02;

const TYPES = ['file', 'dir', 'symlink'] as const;
const TYPE_MASK = 0x03;
const HAS_CTIME = 0x04;
const HAS_INODE = 0x08;
const HAS_SHA256 = 0x10;
/** One chunk, the whole file, whose id is idOfSha256(sha256). */
const DERIVED_CHUNK = 0x20;
const KNOWN_FLAGS = TYPE_MASK | HAS_CTIME | HAS_INODE | HAS_SHA256 | DERIVED_CHUNK;

/** A blob id from a plaintext SHA-256 (the store's id key), for files of one chunk. */
export type IdOfSha256 = (sha256: Buffer) => string;

class Writer {
  private buf = Buffer.alloc(4096);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }

  uint(n: number): void {
    this.room(8);
    while (n >= 0x80) {
      this.buf[this.at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.at++] = n;
  }

  big(n: bigint): void {
    if (n <= 0x1fffffffffffffn) return this.uint(Number(n));
    while (n >= 0x80n) {
      this.byte(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.byte(Number(n));
  }

  signed(n: bigint): void {
    this.big(n >= 0n ? n << 1n : ((-n) << 1n) - 1n);
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.at);
    this.at += b.length;
  }

  text(s: string): void {
    const length = Buffer.byteLength(s);
    this.uint(length);
    this.room(length);
    this.at += this.buf.write(s, this.at);
  }

  hex32(s: string): void {
    this.room(32);
    if (this.buf.write(s, this.at, 'hex') !== 32) throw new Error(`not a 32-byte hex id: ${s}`);
    this.at += 32;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

class Reader {
  private at = 1;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  corrupt(why: string): SinkiError {
    return new SinkiError('CORRUPT', `${this.what}: ${why}`);
  }

  byte(): number {
    if (this.at >= this.buf.length) throw this.corrupt('truncated');
    return this.buf[this.at++]!;
  }

  big(): bigint {
    // Most values fit in 7 bytes (49 bits): read those without BigInt arithmetic.
    let small = 0;
    for (let i = 0, scale = 1; i < 7 && this.at + i < this.buf.length; i++, scale *= 0x80) {
      const b = this.buf[this.at + i]!;
      small += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.at += i + 1;
        return BigInt(small);
      }
    }
    let n = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      n |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return n;
    }
    throw this.corrupt('number too long');
  }

  uint(): number {
    let n = 0;
    for (let scale = 1; scale < 2 ** 53; scale *= 0x80) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (n > Number.MAX_SAFE_INTEGER) break;
        return n;
      }
    }
    throw this.corrupt('number out of range');
  }

  signed(): bigint {
    const z = this.big();
    return z & 1n ? -((z + 1n) >> 1n) : z >> 1n;
  }

  hex32(): string {
    if (this.at + 32 > this.buf.length) throw this.corrupt('truncated');
    this.at += 32;
    return this.buf.toString('hex', this.at - 32, this.at);
  }

  bytes(n: number): Buffer {
    if (this.at + n > this.buf.length) throw this.corrupt('truncated');
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }

  text(): string {
    const length = this.uint();
    if (this.at + length > this.buf.length) throw this.corrupt('truncated');
    this.at += length;
    return this.buf.toString('utf8', this.at - length, this.at);
  }

  get atEnd(): boolean {
    return this.at === this.buf.length;
  }
}

/** Chunk lists decodeBinaryTree derived from a hash, with that hash: encoding them again needs no HMAC. */
const derivedLists = new WeakMap<object, { sha256: string; id: string }>();

/** One chunk, the whole file, named by the file's SHA-256 (checked, not assumed). */
function isDerivedChunk(n: TreeNode, sha: Buffer, idOfSha256: IdOfSha256): boolean {
  const chunks = n.chunks;
  if (!chunks || chunks.length !== 1 || chunks[0]![1] !== n.size) return false;
  const known = derivedLists.get(chunks);
  if (known && known.sha256 === n.sha256 && known.id === chunks[0]![0]) return true;
  return idOfSha256(sha) === chunks[0]![0];
}

/** `nodes` sorted by name. */
export function encodeBinaryTree(nodes: readonly TreeNode[], idOfSha256: IdOfSha256): Buffer {
  const w = new Writer();
  w.byte(BINARY_TREE_MARK);
  w.uint(nodes.length);
  let previousMtime = 0n;
  for (const n of nodes) {
    const sha = n.type === 'file' && n.sha256 ? Buffer.from(n.sha256, 'hex') : null;
    const derived = sha !== null && isDerivedChunk(n, sha, idOfSha256);
    const flags =
      TYPES.indexOf(n.type) | (n.ctimeNs !== undefined ? HAS_CTIME : 0) | (n.inode !== undefined ? HAS_INODE : 0) | (sha ? HAS_SHA256 : 0) | (derived ? DERIVED_CHUNK : 0);
    w.byte(flags);
    w.text(n.name);
    w.uint(n.mode);
    w.uint(n.uid);
    w.uint(n.gid);
    const mtime = BigInt(n.mtimeNs);
    w.signed(mtime - previousMtime);
    previousMtime = mtime;
    if (n.ctimeNs !== undefined) w.signed(BigInt(n.ctimeNs) - mtime);
    w.uint(n.size);
    if (n.inode !== undefined) w.uint(n.inode);
    if (n.type === 'file') {
      if (sha) w.bytes(sha);
      if (!derived) {
        const chunks = n.chunks ?? [];
        w.uint(chunks.length);
        for (const [id, length] of chunks) {
          w.hex32(id);
          w.uint(length);
        }
      }
    } else if (n.type === 'dir') w.hex32(n.subtree!);
    else w.text(n.target!);
  }
  return w.done();
}

export function decodeBinaryTree(buf: Buffer, what: string, idOfSha256: IdOfSha256): Tree {
  const r = new Reader(buf, what);
  const count = r.uint();
  if (count > buf.length) throw r.corrupt('truncated');
  const nodes: TreeNode[] = [];
  let previousMtime = 0n;
  for (let i = 0; i < count; i++) {
    const flags = r.byte();
    const type = TYPES[flags & TYPE_MASK];
    if (!type || (flags & ~KNOWN_FLAGS) !== 0 || (type !== 'file' && (flags & (HAS_SHA256 | DERIVED_CHUNK)) !== 0) || (flags & DERIVED_CHUNK && !(flags & HAS_SHA256))) {
      throw r.corrupt(`invalid entry flags ${flags}`);
    }
    const name = r.text();
    const mode = r.uint();
    const uid = r.uint();
    const gid = r.uint();
    const mtime = previousMtime + r.signed();
    previousMtime = mtime;
    const node: TreeNode = { name, type, mode, uid, gid, mtimeNs: mtime.toString(), size: 0 };
    if (flags & HAS_CTIME) node.ctimeNs = (mtime + r.signed()).toString();
    node.size = r.uint();
    if (flags & HAS_INODE) node.inode = r.uint();
    if (type === 'file') {
      const sha = flags & HAS_SHA256 ? r.bytes(32) : null;
      if (sha) node.sha256 = sha.toString('hex');
      if (sha && flags & DERIVED_CHUNK) {
        const id = idOfSha256(sha);
        node.chunks = [[id, node.size]];
        derivedLists.set(node.chunks, { sha256: node.sha256!, id });
      }
      else {
        const n = r.uint();
        if (n > buf.length) throw r.corrupt('truncated');
        node.chunks = [];
        for (let c = 0; c < n; c++) node.chunks.push([r.hex32(), r.uint()]);
      }
    } else if (type === 'dir') node.subtree = r.hex32();
    else node.target = r.text();
    nodes.push(node);
  }
  if (!r.atEnd) throw r.corrupt('trailing bytes');
  return { nodes };
}
