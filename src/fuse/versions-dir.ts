import type { SnapshotLister, TreeLoader } from '../repo/interfaces.js';
import type { StoredSnapshot } from '../repo/snapshot.js';
import { VersionIndex, versionNames } from '../repo/versions.js';
import type { TreeNode } from '../repo/tree.js';
import type { InodeTable } from './inodes.js';
import { DirEntries, DirNode, nodeFromTree, type FsNode } from './nodes.js';

export const VERSIONS_NAME = '.versions';
const REFRESH_MS = 2000;

/**
 * /.versions: folders as every snapshot had them (deleted entries included), where each file or
 * link is a folder of its versions: one entry per distinct content, named by the time of the oldest
 * snapshot that holds it (as /.snapshots names snapshots), read-only. Built as it is listed; a new or
 * forgotten snapshot rebuilds it (checked every few seconds).
 */
export class VersionsDir {
  readonly node: DirNode;
  private readonly index: VersionIndex;
  private snapshots: StoredSnapshot[] = [];
  private ids = '';
  private checkedAt = 0;
  private checking: Promise<void> | null = null;

  constructor(
    repo: TreeLoader & SnapshotLister,
    private readonly inodes: InodeTable,
  ) {
    this.index = new VersionIndex(repo);
    this.node = this.folder({ mode: 0o555, uid: 0, gid: 0, mtimeNs: 0n, ctimeNs: 0n }, [], this.inodes.claim(inodes.root, VERSIONS_NAME));
  }

  /** Rebuilds the tree when the store's snapshots changed since the last look (at most every few seconds). */
  async refresh(): Promise<void> {
    if (Date.now() - this.checkedAt < REFRESH_MS) return;
    this.checking ??= (async () => {
      const snapshots = await this.index.snapshots();
      const ids = snapshots.map((s) => s.id).join(',');
      this.checkedAt = Date.now();
      if (ids === this.ids) return;
      this.ids = ids;
      this.snapshots = snapshots;
      const newest = snapshots.at(-1);
      if (newest) this.node.meta.mtimeNs = this.node.meta.ctimeNs = BigInt(Date.parse(newest.time)) * 1_000_000n;
      this.release(this.node);
      this.node.children = null;
    })().finally(() => (this.checking = null));
    await this.checking;
  }

  /** Gives back the numbers of what a rebuild drops (the same paths get them again). */
  private release(dir: DirNode): void {
    for (const child of dir.children?.values() ?? []) {
      if (child.type === 'dir') this.release(child);
      this.inodes.release(child.ino);
    }
  }

  private folder(meta: DirNode['meta'], parts: readonly string[], ino: number): DirNode {
    const dir = new DirNode(meta, null, true, ino);
    dir.loader = async () => {
      const out = new DirEntries();
      for (const [name, n] of await this.index.folder(parts, this.snapshots)) {
        const childIno = this.inodes.claim(ino, name);
        const at = [...parts, name];
        out.set(name, n.type === 'dir' ? this.folder(metaOf(n), at, childIno) : this.versionsOf(n, at, childIno));
      }
      return out;
    };
    return dir;
  }

  private versionsOf(latest: TreeNode, parts: readonly string[], ino: number): DirNode {
    const dir = new DirNode({ ...metaOf(latest), mode: 0o555 }, null, true, ino);
    dir.loader = async () => {
      const out = new DirEntries();
      for (const [name, v] of versionNames(await this.index.versions(parts, this.snapshots))) {
        const node: FsNode = nodeFromTree({ ...v.node, name }, true, ino, this.inodes);
        out.set(name, node);
      }
      return out;
    };
    return dir;
  }
}

function metaOf(n: TreeNode): DirNode['meta'] {
  const mtimeNs = BigInt(n.mtimeNs);
  return { mode: 0o555, uid: n.uid, gid: n.gid, mtimeNs, ctimeNs: n.ctimeNs ? BigInt(n.ctimeNs) : mtimeNs };
}
