import { collectGarbage, planGarbage } from '../repo/garbage.js';
import type { Repository } from '../repo/repository.js';

/** A round starts once this much has been written since the last one, and at least ... */
const MIN_ROUND_BYTES = 8 * 2 ** 20;
/** ... this share of what the store held then. */
const ROUND_SHARE = 0.2;

export interface RoundLimits {
  /** Bytes of used blobs that may be copied out of mostly unused packs (writes wait meanwhile). */
  moveBudget: number;
  /**
   * Packs with more than this share unused are repacked: with every pack at most a fifth unused,
   * and a round after each fifth of the store written anew, the store stays near 1.5× what is used.
   */
  maxUnused: number;
}

export interface RoundReport {
  bytesFreed: number;
  packsDeleted: number;
  bytesMoved: number;
  /** What the index held before the round. */
  bytesBefore: number;
  ms: number;
}

/**
 * The mount's own prune: data that neither the live tree nor any snapshot uses any more (chunks
 * overwritten, files deleted, uncompressed copies of chunks compressed since) is freed while the
 * mount runs, a round after enough has been written, and once more at unmount. What snapshots hold
 * is walked once and cached (their trees never change); the live tree is walked each round, except
 * for the folders a snapshot already holds as they are.
 */
export class SpaceKeeper {
  private writtenAtLastRound: number;
  /** File data the mount dropped (deletes, truncates) since the last round. */
  private releasedSinceRound = 0;
  private indexedAtLastRound = 0;
  private readonly snapshotIds = new Set<string>();
  private readonly snapshotTrees = new Set<string>();
  private readonly snapshotBlobs = new Set<string>();

  constructor(private readonly repo: Repository) {
    this.writtenAtLastRound = repo.stats.packBytesWritten;
  }

  /** Whether enough has been written since the last round to make another worth it. */
  get due(): boolean {
    const written = this.repo.stats.packBytesWritten - this.writtenAtLastRound + this.releasedSinceRound;
    return written >= Math.max(MIN_ROUND_BYTES, ROUND_SHARE * this.indexedAtLastRound);
  }

  /** Files deleted or truncated count towards the next round as writes do. */
  released(bytes: number): void {
    this.releasedSinceRound += bytes;
  }

  /**
   * One round: call with the mount's writes held off, right after a commit (so `liveTree` is all
   * there is), and the store held exclusively (no other process reads or writes it).
   */
  async round(liveTree: string | null, limits: RoundLimits, openChunks: Iterable<string>): Promise<RoundReport> {
    const started = Date.now();
    await this.repo.loadIndex(); // segments other processes wrote since the mount started
    await this.learnSnapshots();
    const live = new Set<string>();
    if (liveTree) await this.walk(liveTree, live, live, this.snapshotTrees);
    // A file deleted while open is read (and may be written back) through its handle.
    for (const id of openChunks) live.add(id);
    const isUsed = (id: string): boolean => live.has(id) || this.snapshotBlobs.has(id);
    const plan = planGarbage(this.repo, isUsed, limits);
    await collectGarbage(this.repo, isUsed, plan);
    this.writtenAtLastRound = this.repo.stats.packBytesWritten;
    this.releasedSinceRound = 0;
    this.indexedAtLastRound = plan.bytesIndexed - plan.bytesToFree;
    return { bytesFreed: plan.bytesToFree, packsDeleted: plan.deletePacks.length + plan.repackPacks.length, bytesMoved: plan.bytesToMove, bytesBefore: plan.bytesIndexed, ms: Date.now() - started };
  }

  /**
   * Snapshots are only ever added while mounted (forget needs the store alone): walks the new ones.
   * Their trees never change, so this may run before the mount's writes are held off (a first round
   * on a store of many large backups walks them all); round() then walks only what came meanwhile.
   */
  async learnSnapshots(): Promise<void> {
    for (const snap of await this.repo.listSnapshots()) {
      if (this.snapshotIds.has(snap.id)) continue;
      await this.walk(snap.tree, this.snapshotTrees, this.snapshotBlobs, null);
      this.snapshotIds.add(snap.id);
    }
  }

  /** Adds every tree and chunk under `treeId` to `blobs`; trees in `known` (and below them) are skipped. */
  private async walk(treeId: string, trees: Set<string>, blobs: Set<string>, known: Set<string> | null): Promise<void> {
    if (trees.has(treeId) || known?.has(treeId)) return;
    trees.add(treeId);
    blobs.add(treeId);
    for (const node of (await this.repo.loadTree(treeId)).nodes) {
      if (node.type === 'dir' && node.subtree) await this.walk(node.subtree, trees, blobs, known);
      for (const [id] of node.chunks ?? []) blobs.add(id);
    }
  }
}
