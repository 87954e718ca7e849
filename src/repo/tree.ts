import { SinkiError } from '../errors.js';
import { BINARY_TREE_MARK, decodeBinaryTree, encodeBinaryTree, type IdOfSha256 } from './tree-binary.js';

export type NodeType = 'file' | 'dir' | 'symlink';

/** One directory entry. Only ever stored sealed. */
export interface TreeNode {
  name: string;
  type: NodeType;
  /** Permission bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Nanoseconds since the epoch, as decimal strings (beyond a double's precision). */
  mtimeNs: string;
  ctimeNs?: string;
  size: number;
  /** For incremental backups: a file whose size, mtime, ctime and inode are unchanged is not read again. */
  inode?: number;
  /** Files: (blob id, plaintext length) in order. */
  chunks?: Array<[string, number]>;
  /** Files: SHA-256 of the whole plaintext. */
  sha256?: string;
  /** Symlinks. */
  target?: string;
  /** Directories: blob id of the child tree. */
  subtree?: string;
}

export interface Tree {
  nodes: TreeNode[];
}

/**
 * Binary (format 2, given the store's id-of-hash function) or JSON (format 1), entries in name order.
 * A tree decodeTree would refuse (a duplicate or unsafe name) is a bug of its writer: FATAL, never stored.
 */
export function encodeTree(tree: Tree, binary?: IdOfSha256): Buffer {
  const nodes = [...tree.nodes].sort((a, b) => compareNames(a.name, b.name));
  const bad = nameProblem(nodes);
  if (bad) throw new SinkiError('FATAL', `refusing to store a tree: ${bad}`);
  return binary ? encodeBinaryTree(nodes, binary) : Buffer.from(JSON.stringify({ nodes }));
}

/** The one order of names in a tree (UTF-16 code units, as JavaScript compares strings); findNode relies on it. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A name that could escape its directory on restore is corruption, not data. So is one with a lone
 * UTF-16 surrogate: it reaches the disk as U+FFFD, where two different such names would be one.
 */
export function isSafeName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0') && !LONE_SURROGATE.test(name);
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why these entries cannot form a tree, or null: every name safe, each after the one before (so no
 * two alike). A tree with two entries of one name (a link and a folder, say) would make restore
 * write through the link.
 */
function nameProblem(nodes: readonly TreeNode[]): string | null {
  for (const [i, n] of nodes.entries()) {
    if (!isSafeName(n.name)) return `invalid entry name ${quoted(n.name)}`;
    if (i === 0) continue;
    const order = compareNames(nodes[i - 1]!.name, n.name);
    if (order === 0) return `duplicate entry name ${quoted(n.name)}`;
    if (order > 0) return `entry names out of order (${quoted(n.name)} after ${quoted(nodes[i - 1]!.name)})`;
  }
  return null;
}

/** A name for an error line: escaped, and cut short (a hostile tree may hold a long one). */
function quoted(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

/** Either encoding; a binary tree's one-chunk files need the store's id-of-hash function. */
export function decodeTree(buf: Buffer, what: string, idOfSha256?: IdOfSha256): Tree {
  let value: unknown;
  if (buf[0] === BINARY_TREE_MARK) {
    if (!idOfSha256) throw new SinkiError('CORRUPT', `${what}: a binary tree in a store of format 1`);
    value = decodeBinaryTree(buf, what, idOfSha256);
  } else {
    try {
      value = JSON.parse(buf.toString());
    } catch {
      throw new SinkiError('CORRUPT', `${what}: not a tree`);
    }
  }
  const nodes = (value as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(nodes)) throw new SinkiError('CORRUPT', `${what}: not a tree`);
  for (const n of nodes as TreeNode[]) {
    if (typeof n !== 'object' || n === null || typeof n.name !== 'string') throw new SinkiError('CORRUPT', `${what}: invalid entry name`);
    const chunksValid = (c: unknown): boolean =>
      Array.isArray(c) &&
      c.every((x) => Array.isArray(x) && typeof x[0] === 'string' && /^[0-9a-f]{64}$/.test(x[0]) && Number.isSafeInteger(x[1]) && x[1] >= 0);
    if (n.type === 'dir' ? typeof n.subtree !== 'string' : n.type === 'file' ? !chunksValid(n.chunks) : n.type !== 'symlink' || typeof n.target !== 'string') {
      throw new SinkiError('CORRUPT', `${what}: invalid entry ${quoted(n.name)}`);
    }
  }
  const bad = nameProblem(nodes as TreeNode[]);
  if (bad) throw new SinkiError('CORRUPT', `${what}: ${bad}`);
  return { nodes: nodes as TreeNode[] };
}

/** Every field of every entry equal, in the same order: the two encode to the same blob. */
export function sameNodes(a: readonly TreeNode[], b: readonly TreeNode[]): boolean {
  return a.length === b.length && a.every((n, i) => sameNode(n, b[i]!));
}

function sameNode(a: TreeNode, b: TreeNode): boolean {
  return (
    a.name === b.name &&
    a.type === b.type &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
    a.size === b.size &&
    a.inode === b.inode &&
    a.sha256 === b.sha256 &&
    a.target === b.target &&
    a.subtree === b.subtree &&
    sameChunks(a.chunks, b.chunks)
  );
}

function sameChunks(a: TreeNode['chunks'], b: TreeNode['chunks']): boolean {
  if (a === b) return true;
  return a !== undefined && b !== undefined && a.length === b.length && a.every(([id, len], i) => id === b[i]![0] && len === b[i]![1]);
}

/** Binary search by name in a sorted tree. */
export function findNode(tree: Tree, name: string): TreeNode | undefined {
  let lo = 0;
  let hi = tree.nodes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const n = tree.nodes[mid]!;
    const c = compareNames(n.name, name);
    if (c === 0) return n;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}
