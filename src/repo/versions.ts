import { LRUCache } from 'lru-cache';
import type { SnapshotLister, TreeLoader } from './interfaces.js';
import { snapshotDirName, type StoredSnapshot } from './snapshot.js';
import { findNode, type Tree, type TreeNode } from './tree.js';

/** One distinct content a path had: the snapshots that hold it, oldest and newest. */
export interface PathVersion {
  /** The oldest snapshot holding this content at the path (a version is named after it). */
  first: StoredSnapshot;
  /** The newest one. */
  last: StoredSnapshot;
  /** How many snapshots hold it. */
  snapshots: number;
  /** As the oldest of them stored it (a file or a link; folders have no versions). */
  node: TreeNode;
}

/** A path found by find: its versions across snapshots. */
export interface FoundPath {
  path: string;
  versions: PathVersion[];
}

/** Trees kept decoded: a version listing walks the same few folders in every snapshot. */
const TREE_CACHE = 4096;

/** Unique names for versions, by the time of the oldest snapshot holding each (as /.snapshots names them; a clash gets the snapshot's short id). */
export function versionNames(versions: readonly PathVersion[]): Map<string, PathVersion> {
  const out = new Map<string, PathVersion>();
  for (const v of versions) {
    const base = snapshotDirName(v.first.time);
    out.set(out.has(base) ? `${base}-${v.first.id.slice(0, 8)}` : base, v);
  }
  return out;
}

/** What makes two stored entries the same content: a file's chunk list, a link's target. */
export function contentKey(node: TreeNode): string | null {
  if (node.type === 'file') return `f${node.size}:${(node.chunks ?? []).map(([id]) => id).join(',')}`;
  if (node.type === 'symlink') return `l${node.target ?? ''}`;
  return null;
}

/**
 * Every version of a path across the store's snapshots, and the union of a folder's names across
 * them (deleted entries included). Each distinct tree is loaded once however many snapshots share
 * it (an unchanged folder keeps its tree id), so a path's versions in 1,000 snapshots cost a few
 * tree loads per distinct folder on the way.
 */
export class VersionIndex {
  private readonly trees = new LRUCache<string, Tree>({ max: TREE_CACHE });

  constructor(private readonly repo: TreeLoader & SnapshotLister) {}

  /** Snapshots oldest first (by time, then id). */
  async snapshots(): Promise<StoredSnapshot[]> {
    return [...(await this.repo.listSnapshots())].sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  }

  private async tree(id: string): Promise<Tree> {
    let tree = this.trees.get(id);
    if (!tree) {
      tree = await this.repo.loadTree(id);
      this.trees.set(id, tree);
    }
    return tree;
  }

  /** The node at `parts` below a root tree; a root of [] is null (no node), a missing path undefined. */
  private async nodeAt(root: string, parts: readonly string[]): Promise<TreeNode | null | undefined> {
    let treeId = root;
    let node: TreeNode | null = null;
    for (const part of parts) {
      if (node && (node.type !== 'dir' || !node.subtree)) return undefined;
      if (node) treeId = node.subtree!;
      node = findNode(await this.tree(treeId), part) ?? null;
      if (!node) return undefined;
    }
    return node;
  }

  /** The distinct contents of `parts` over `snapshots` (default: all), oldest first. */
  async versions(parts: readonly string[], snapshots?: readonly StoredSnapshot[]): Promise<PathVersion[]> {
    const byKey = new Map<string, PathVersion>();
    for (const snap of snapshots ?? (await this.snapshots())) {
      const node = await this.nodeAt(snap.tree, parts);
      const key = node ? contentKey(node) : null;
      if (!node || !key) continue;
      const known = byKey.get(key);
      if (known) {
        known.last = snap;
        known.snapshots += 1;
      } else byKey.set(key, { first: snap, last: snap, snapshots: 1, node });
    }
    return [...byKey.values()];
  }

  /**
   * Every name the folder at `parts` held in any snapshot, with the entry as the newest snapshot that
   * has the name stored it (a folder that became a file shows as what it is last).
   */
  async folder(parts: readonly string[], snapshots?: readonly StoredSnapshot[]): Promise<Map<string, TreeNode>> {
    const out = new Map<string, TreeNode>();
    const seen = new Set<string>();
    const list = snapshots ?? (await this.snapshots());
    for (let i = list.length - 1; i >= 0; i--) {
      const snap = list[i]!;
      const node = await this.nodeAt(snap.tree, parts);
      const treeId = node === null ? snap.tree : node?.type === 'dir' ? node.subtree : undefined;
      if (!treeId || seen.has(treeId)) continue;
      seen.add(treeId);
      for (const child of (await this.tree(treeId)).nodes) if (!out.has(child.name)) out.set(child.name, child);
    }
    return out;
  }

  /**
   * Paths in any snapshot whose entry `match` accepts (folders are searched, matched folders listed
   * with no versions), each with its versions. A subtree shared by many snapshots is walked once.
   */
  async find(match: (path: string, node: TreeNode) => boolean): Promise<FoundPath[]> {
    const snapshots = await this.snapshots();
    const found = new Map<string, { byKey: Map<string, PathVersion>; isDir: boolean }>();
    // Matches below a tree id, relative to it: reused for every snapshot that shares the subtree.
    const memo = new Map<string, Array<{ path: string; node: TreeNode }>>();
    const walk = async (treeId: string): Promise<Array<{ path: string; node: TreeNode }>> => {
      const known = memo.get(treeId);
      if (known) return known;
      const hits: Array<{ path: string; node: TreeNode }> = [];
      for (const node of (await this.tree(treeId)).nodes) {
        if (match(node.name, node)) hits.push({ path: node.name, node });
        if (node.type === 'dir' && node.subtree) for (const h of await walk(node.subtree)) hits.push({ path: `${node.name}/${h.path}`, node: h.node });
      }
      memo.set(treeId, hits);
      return hits;
    };
    for (const snap of snapshots) {
      for (const { path, node } of await walk(snap.tree)) {
        let entry = found.get(path);
        if (!entry) {
          entry = { byKey: new Map(), isDir: node.type === 'dir' };
          found.set(path, entry);
        }
        // A folder has one "version" per find: where it appears.
        const key = contentKey(node) ?? 'd';
        const v = entry.byKey.get(key);
        if (v) {
          v.last = snap;
          v.snapshots += 1;
        } else entry.byKey.set(key, { first: snap, last: snap, snapshots: 1, node });
      }
    }
    return [...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([path, e]) => ({ path, versions: [...e.byKey.values()] }));
  }
}
