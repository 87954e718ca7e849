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

/** Binary (format 2, given the store's id-of-hash function) or JSON (format 1). */
export function encodeTree(tree: Tree, binary?: IdOfSha256): Buffer {
  const nodes = [...tree.nodes].sort((a, b) => compareNames(a.name, b.name));
  return binary ? encodeBinaryTree(nodes, binary) : Buffer.from(JSON.stringify({ nodes }));
}

export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A name that could escape its directory on restore is corruption, not data. */
export function isSafeName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
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
    if (typeof n !== 'object' || n === null || typeof n.name !== 'string' || !isSafeName(n.name)) throw new SinkiError('CORRUPT', `${what}: invalid entry name`);
    const chunksValid = (c: unknown): boolean => Array.isArray(c) && c.every((x) => Array.isArray(x) && typeof x[0] === 'string' && /^[0-9a-f]{64}$/.test(x[0]) && Number.isSafeInteger(x[1]) && x[1] >= 0);
    if (n.type === 'dir' ? typeof n.subtree !== 'string' : n.type === 'file' ? !chunksValid(n.chunks) : n.type !== 'symlink' || typeof n.target !== 'string') {
      throw new SinkiError('CORRUPT', `${what}: invalid entry ${JSON.stringify(n.name)}`);
    }
  }
  return { nodes: nodes as TreeNode[] };
}

/** Every field of every entry equal, in the same order: the two encode to the same blob. */
export function sameNodes(a: readonly TreeNode[], b: readonly TreeNode[]): boolean {
  return a.length === b.length && a.every((n, i) => sameNode(n, b[i]!));
}

function sameNode(a: TreeNode, b: TreeNode): boolean {
  return (
    a.name === b.name && a.type === b.type && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs && a.size === b.size && a.inode === b.inode && a.sha256 === b.sha256 && a.target === b.target &&
    a.subtree === b.subtree && sameChunks(a.chunks, b.chunks)
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
