import { ByteReader, ByteWriter } from '../codec/bytes.js';
import type { Tree, TreeNode } from './tree.js';

/**
 * The tree encoding of format-2 stores. Ids and hashes are 32 raw bytes, numbers are varints, and a
 * file of one chunk whose id follows from its SHA-256 stores the hash alone: a tree of small files
 * takes far fewer bytes than in the JSON form, compressed (docs/STORE-FORMAT.md, "Sizes").
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

/** Chunk lists decodeBinaryTree derived from a hash, with that hash: encoding them again needs no HMAC. */
const derivedLists = new WeakMap<object, { sha256: string; id: string }>();

/**
 * For a writer that made a one-chunk file's id from its SHA-256 itself (the mount, sealing it): the
 * list encodes without an HMAC. isDerivedChunk still checks that the node carries this hash and id.
 */
export function noteDerivedChunk(chunks: Array<[string, number]>, sha256: string, id: string): void {
  derivedLists.set(chunks, { sha256, id });
}

/** One chunk, the whole file, named by the file's SHA-256 (checked, not assumed). */
function isDerivedChunk(n: TreeNode, sha: Buffer, idOfSha256: IdOfSha256): boolean {
  const chunks = n.chunks;
  if (chunks?.length !== 1 || chunks[0]![1] !== n.size) return false;
  const known = derivedLists.get(chunks);
  if (known && known.sha256 === n.sha256 && known.id === chunks[0]![0]) return true;
  return idOfSha256(sha) === chunks[0]![0];
}

/** `nodes` sorted by name. */
export function encodeBinaryTree(nodes: readonly TreeNode[], idOfSha256: IdOfSha256): Buffer {
  const w = new ByteWriter();
  w.byte(BINARY_TREE_MARK);
  w.uint(nodes.length);
  let previousMtime = 0n;
  for (const n of nodes) {
    const sha = n.type === 'file' && n.sha256 ? Buffer.from(n.sha256, 'hex') : null;
    const derived = sha !== null && isDerivedChunk(n, sha, idOfSha256);
    const flags =
      TYPES.indexOf(n.type) |
      (n.ctimeNs !== undefined ? HAS_CTIME : 0) |
      (n.inode !== undefined ? HAS_INODE : 0) |
      (sha ? HAS_SHA256 : 0) |
      (derived ? DERIVED_CHUNK : 0);
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
  const r = new ByteReader(buf, what, 1);
  const count = r.uint();
  if (count > buf.length) throw r.corrupt('truncated');
  const nodes: TreeNode[] = [];
  let previousMtime = 0n;
  for (let i = 0; i < count; i++) {
    const flags = r.byte();
    const type = TYPES[flags & TYPE_MASK];
    if (
      !type ||
      (flags & ~KNOWN_FLAGS) !== 0 ||
      (type !== 'file' && (flags & (HAS_SHA256 | DERIVED_CHUNK)) !== 0) ||
      (flags & DERIVED_CHUNK && !(flags & HAS_SHA256))
    ) {
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
      } else {
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
