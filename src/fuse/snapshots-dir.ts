import type { SnapshotLister } from '../repo/interfaces.js';
import { snapshotDirName, type StoredSnapshot } from '../repo/snapshot.js';
import type { InodeTable } from './inodes.js';
import { DirNode } from './nodes.js';

const REFRESH_MS = 2000;

export { snapshotDirName };

/** Unique folder names for /.snapshots, oldest first; a second snapshot in the same second gets its short id appended. */
export function snapshotNames(snapshots: readonly StoredSnapshot[]): Map<string, StoredSnapshot> {
  const out = new Map<string, StoredSnapshot>();
  for (const s of [...snapshots].sort((a, b) => a.time.localeCompare(b.time))) {
    const base = snapshotDirName(s.time);
    out.set(out.has(base) ? `${base}-${s.id.slice(0, 8)}` : base, s);
  }
  return out;
}

/** /.snapshots: every snapshot of the store as a read-only folder, listed afresh every few seconds. */
export class SnapshotsDir {
  private byName = new Map<string, DirNode>();
  private loadedAt = 0;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly repo: SnapshotLister,
    private readonly inodes: InodeTable,
  ) {}

  async entries(): Promise<Map<string, DirNode>> {
    if (Date.now() - this.loadedAt > REFRESH_MS) {
      this.loading ??= this.refresh().finally(() => (this.loading = null));
      await this.loading;
    }
    return this.byName;
  }

  private async refresh(): Promise<void> {
    const next = new Map<string, DirNode>();
    for (const [name, snap] of snapshotNames(await this.repo.listSnapshots())) {
      const existing = this.byName.get(name);
      const ns = BigInt(Date.parse(snap.time)) * 1_000_000n;
      next.set(
        name,
        existing && existing.subtree === snap.tree
          ? existing
          : new DirNode({ mode: 0o555, uid: 0, gid: 0, mtimeNs: ns, ctimeNs: ns }, snap.tree, true, this.inodes.claim(0, `.snapshots/${name}`)),
      );
    }
    this.byName = next;
    this.loadedAt = Date.now();
  }

  invalidate(): void {
    this.loadedAt = 0;
  }
}
