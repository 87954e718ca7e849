import type { TreeLoader } from './interfaces.js';
import { findNode, type TreeNode } from './tree.js';
import { SinkiError } from '../errors.js';

export interface WalkedNode {
  /** Path below the snapshot root, '/'-separated, no leading slash. */
  path: string;
  node: TreeNode;
}

/** Depth-first, in name order; a directory is yielded before its contents. */
export async function* walkTree(repo: TreeLoader, treeId: string, prefix = ''): AsyncGenerator<WalkedNode> {
  const tree = await repo.loadTree(treeId);
  for (const node of tree.nodes) {
    const path = prefix ? `${prefix}/${node.name}` : node.name;
    yield { path, node };
    if (node.type === 'dir' && node.subtree) yield* walkTree(repo, node.subtree, path);
  }
}

/** The node at a '/'-separated path below a root tree; '' or '/' is the root itself (returned as null node). */
export async function resolvePath(repo: TreeLoader, rootTree: string, path: string): Promise<WalkedNode | null> {
  const parts = path.split('/').filter((p) => p && p !== '.');
  if (parts.length === 0) return null;
  let treeId = rootTree;
  let node: TreeNode | undefined;
  for (const [i, part] of parts.entries()) {
    node = findNode(await repo.loadTree(treeId), part);
    if (!node) throw new SinkiError('NOT_FOUND', `${parts.slice(0, i + 1).join('/')}: no such file or directory in the snapshot`);
    if (i < parts.length - 1) {
      if (node.type !== 'dir' || !node.subtree) throw new SinkiError('NOT_FOUND', `${parts.slice(0, i + 1).join('/')}: not a directory`);
      treeId = node.subtree;
    }
  }
  return { path: parts.join('/'), node: node! };
}

export interface TreeTotals {
  files: number;
  dirs: number;
  bytes: number;
}

/**
 * Files, folders and bytes below a tree. `memo` (tree id → totals) lets a caller that sums similar
 * trees again and again (the mount, at each snapshot) walk only the folders that changed.
 */
export async function treeTotals(repo: TreeLoader, treeId: string, memo = new Map<string, TreeTotals>()): Promise<TreeTotals> {
  const known = memo.get(treeId);
  if (known) return known;
  const totals: TreeTotals = { files: 0, dirs: 0, bytes: 0 };
  for (const node of (await repo.loadTree(treeId)).nodes) {
    if (node.type === 'dir') {
      totals.dirs += 1;
      if (node.subtree) {
        const below = await treeTotals(repo, node.subtree, memo);
        totals.files += below.files;
        totals.dirs += below.dirs;
        totals.bytes += below.bytes;
      }
    } else if (node.type === 'file') {
      totals.files += 1;
      totals.bytes += node.size;
    }
  }
  memo.set(treeId, totals);
  return totals;
}
