import { collectGarbage, planGarbage } from '../repo/garbage.js';
import type { Repository } from '../repo/repository.js';

const MiB = 2 ** 20;
/**
 * A round starts once the estimated unused bytes (see SpaceKeeper) reach this share of the data in
 * use, and at least MIN_ROUND_BYTES; writes wait for a round beyond WAIT_SHARE (at least
 * MIN_WAIT_BYTES, so one chunk can always be rewritten). A round leaves at most KEEP_UNUSED_SHARE
 * unused in partly used packs. So the store stays under about (1 + WAIT_SHARE) × what is used, plus
 * the writes already under way when the wait began: within the 1.5× the mount promises.
 */
const ROUND_SHARE = 0.15;
const MIN_ROUND_BYTES = 2 * MiB;
const WAIT_SHARE = 0.3;
const MIN_WAIT_BYTES = 4 * MiB;
const KEEP_UNUSED_SHARE = 0.05;
/**
 * The mount's packs are at most this share of the store (and at least a chunk): a rewritten chunk
 * then mostly empties a pack of its own, which a round deletes without copying the rest out.
 */
const PACK_SHARE = 0.1;

export interface RoundLimits {
  /** Bytes of used blobs that may be copied out of partly unused packs (writes wait meanwhile). */
  moveBudget: number;
  /** false: SHA256SUMS and the final generation are left to the caller (the unmount's tidy writes them once). */
  sealState?: boolean;
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
 * mount runs, a round whenever the estimated unused share of the store calls for one, and once more
 * at unmount. What snapshots hold is walked once and cached (their trees never change); the live
 * tree is walked each round, except for the folders a snapshot already holds as they are.
 *
 * Between rounds the store's size and its unused bytes are estimated, not walked: each round knows
 * both exactly, and after it every pack written adds to the size, every stored chunk replaced by a
 * new version (superseded()), every file dropped (released()) and every raw copy a compressed one
 * replaced (deferred compression) to the unused bytes. Dedup and
 * snapshots make the estimate high at worst (a round then frees less, and sets it right).
 */
export class SpaceKeeper {
  private writtenAtLastRound: number;
  private rawSupersededAtLastRound: number;
  /** Stored chunks replaced and file data dropped (deletes, truncates) since the last round. */
  private unusedSinceRound = 0;
  /** The store's data after the last round (at mount: all the index names), and of that the unused bytes. */
  private indexedAtLastRound: number;
  private unusedAtLastRound = 0;
  private readonly snapshotIds = new Set<string>();
  private readonly snapshotTrees = new Set<string>();
  private readonly snapshotBlobs = new Set<string>();

  constructor(private readonly repo: Repository) {
    this.writtenAtLastRound = repo.stats.packBytesWritten;
    this.rawSupersededAtLastRound = repo.stats.rawBytesSuperseded;
    this.indexedAtLastRound = 0;
    for (const packId of repo.index.packIds()) for (const e of repo.index.packEntries(packId) ?? []) this.indexedAtLastRound += e.length;
  }

  /** The store's data now, as estimated. */
  get storeBytes(): number {
    return this.indexedAtLastRound + this.repo.stats.packBytesWritten - this.writtenAtLastRound;
  }

  /** Of storeBytes, what nothing uses (estimated). */
  get unusedBytes(): number {
    // Raw copies of chunks compressed since (deferred compression) are unused too.
    return this.unusedAtLastRound + this.unusedSinceRound + this.repo.stats.rawBytesSuperseded - this.rawSupersededAtLastRound;
  }

  /**
   * The unused bytes once `pending` more are replaced (dirty chunks whose stored versions their
   * sealing supersedes: the next commit adds them), and the data in use.
   */
  private outlook(pending: number): { unused: number; used: number } {
    const unused = this.unusedBytes + pending;
    return { unused, used: Math.max(0, this.storeBytes - this.unusedBytes) };
  }

  /** Whether a round would free enough to be worth it. */
  due(pending = 0): boolean {
    const { unused, used } = this.outlook(pending);
    return unused >= Math.max(MIN_ROUND_BYTES, ROUND_SHARE * used);
  }

  /** Whether writes should wait for a round before they add more (the store would outgrow its bound). */
  mustWait(pending = 0): boolean {
    const { unused, used } = this.outlook(pending);
    return unused >= Math.max(MIN_WAIT_BYTES, WAIT_SHARE * used);
  }

  /** What the mount writes until the next round goes into packs of about this size (see round()). */
  packTarget(chunkSize: number, packSize: number): number {
    return Math.max(chunkSize, Math.min(packSize, Math.floor(PACK_SHARE * this.storeBytes)));
  }

  /** Files deleted or truncated count towards the next round. */
  released(bytes: number): void {
    this.unusedSinceRound += bytes;
  }

  /** A stored chunk was replaced by a new version (sealed): its old copy is unused once committed. */
  superseded(id: string): void {
    this.unusedSinceRound += this.repo.index.get(id)?.length ?? 0;
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
    const plan = planGarbage(this.repo, isUsed, { maxUnused: 0, keepUnusedShare: KEEP_UNUSED_SHARE, moveBudget: limits.moveBudget });
    await collectGarbage(this.repo, isUsed, plan, { sealState: limits.sealState });
    this.writtenAtLastRound = this.repo.stats.packBytesWritten;
    this.rawSupersededAtLastRound = this.repo.stats.rawBytesSuperseded;
    this.unusedSinceRound = 0;
    this.indexedAtLastRound = plan.bytesIndexed - plan.bytesToFree;
    this.unusedAtLastRound = plan.bytesUnused - plan.bytesToFree;
    return {
      bytesFreed: plan.bytesToFree,
      packsDeleted: plan.deletePacks.length + plan.repackPacks.length,
      bytesMoved: plan.bytesToMove,
      bytesBefore: plan.bytesIndexed,
      ms: Date.now() - started,
    };
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
