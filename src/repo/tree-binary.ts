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
    this.big(BigInt(n));
  }

  big(n: bigint): void {
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
    const b = Buffer.from(s);
    this.uint(b.length);
    this.bytes(b);
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
    let n = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      n |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return n;
    }
    throw this.corrupt('number too long');
  }

  uint(): number {
    const n = this.big();
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw this.corrupt('number out of range');
    return Number(n);
  }

  signed(): bigint {
    const z = this.big();
    return z & 1n ? -((z + 1n) >> 1n) : z >> 1n;
  }

  bytes(n: number): Buffer {
    if (this.at + n > this.buf.length) throw this.corrupt('truncated');
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }

  text(): string {
    return this.bytes(this.uint()).toString();
  }

  get atEnd(): boolean {
    return this.at === this.buf.length;
  }
}

/** `nodes` sorted by name. */
export function encodeBinaryTree(nodes: readonly TreeNode[], idOfSha256: IdOfSha256): Buffer {
  const w = new Writer();
  w.byte(BINARY_TREE_MARK);
  w.uint(nodes.length);
  let previousMtime = 0n;
  for (const n of nodes) {
    const sha = n.type === 'file' && n.sha256 ? Buffer.from(n.sha256, 'hex') : null;
    const derived = sha !== null && n.chunks?.length === 1 && n.chunks[0]![1] === n.size && idOfSha256(sha) === n.chunks[0]![0];
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
          w.bytes(Buffer.from(id, 'hex'));
          w.uint(length);
        }
      }
    } else if (n.type === 'dir') w.bytes(Buffer.from(n.subtree!, 'hex'));
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
      if (sha && flags & DERIVED_CHUNK) node.chunks = [[idOfSha256(sha), node.size]];
      else {
        const n = r.uint();
        if (n > buf.length) throw r.corrupt('truncated');
        node.chunks = [];
        for (let c = 0; c < n; c++) node.chunks.push([r.bytes(32).toString('hex'), r.uint()]);
      }
    } else if (type === 'dir') node.subtree = r.bytes(32).toString('hex');
    else node.target = r.text();
    nodes.push(node);
  }
  if (!r.atEnd) throw r.corrupt('trailing bytes');
  return { nodes };
}
