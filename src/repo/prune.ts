import { SinkiError } from '../errors.js';
import { INDEX_DIR, indexPath, isObjectId, packPath } from './layout.js';
import { moveUsedPayloads, planGarbage } from './garbage.js';
import { readHead } from './refs.js';
import type { Repository } from './repository.js';
import type { PackRecord } from './blob-index.js';
import { BlobIdSet } from './blob-id-set.js';

export interface PrunePlan {
  usedBlobs: number;
  /** Packs none of whose blobs are used: deleted. */
  deletePacks: string[];
  /** Packs with more unused bytes than the threshold allows: used blobs move to new packs, then deleted. */
  repackPacks: string[];
  /** Pack files no index names (left by interrupted writes): deleted. */
  unindexedPacks: string[];
  keptPacks: number;
  bytesUnusedBefore: number;
  bytesToFree: number;
  bytesToRepack: number;
}

/** Packs per index segment prune writes for the packs it keeps (with 16 MiB packs, a few MiB a segment). */
const KEPT_PACKS_PER_SEGMENT = 256;

export interface PruneOptions {
  /** A pack is repacked when more than this share of its bytes is unused (0..1). */
  maxUnused: number;
  onProgress?: (message: string) => void;
}

/** Every blob id that a snapshot or the live tree (refs/head) still reaches. */
export async function usedBlobIds(repo: Repository): Promise<BlobIdSet> {
  const used = new BlobIdSet();
  const roots = (await repo.listSnapshots()).map((s) => s.tree);
  const head = await readHead(repo);
  if (head) roots.push(head.tree);
  const visit = async (treeId: string): Promise<void> => {
    if (used.has(treeId)) return;
    used.add(treeId);
    for (const node of (await repo.loadTree(treeId)).nodes) {
      if (node.type === 'dir' && node.subtree) await visit(node.subtree);
      for (const [id] of node.chunks ?? []) used.add(id);
    }
  };
  for (const root of roots) await visit(root);
  return used;
}

export async function planPrune(repo: Repository, options: PruneOptions): Promise<PrunePlan> {
  options.onProgress?.('finding the data snapshots still use');
  const used = await usedBlobIds(repo);
  for (const id of used) {
    if (!repo.index.has(id))
      throw new SinkiError('CORRUPT', `blob ${id} is used but missing from the index; run "sinki check" and repair the store before pruning`);
  }
  const g = planGarbage(repo, (id) => used.has(id), { maxUnused: options.maxUnused, moveBudget: Infinity });
  const plan: PrunePlan = {
    usedBlobs: used.size,
    deletePacks: g.deletePacks,
    repackPacks: g.repackPacks,
    unindexedPacks: [],
    keptPacks: repo.index.packIds().length - g.deletePacks.length - g.repackPacks.length,
    bytesUnusedBefore: g.bytesUnused,
    bytesToFree: g.bytesToFree,
    bytesToRepack: g.bytesToMove,
  };
  const indexed = new Set(repo.index.packIds());
  plan.unindexedPacks = (await repo.listPacks()).filter((id) => !indexed.has(id));
  // Packs no index names (left by killed writers) are freed too: count them in the estimate.
  for (const packId of plan.unindexedPacks) plan.bytesToFree += (await repo.backend.size(packPath(packId))) ?? 0;
  return plan;
}

/**
 * Carries out a plan in the order that keeps the store whole at every step: used blobs of repacked
 * packs go to new packs, a complete new index is written durably, and only then are old index
 * segments and packs deleted.
 */
export async function executePrune(repo: Repository, plan: PrunePlan, options: PruneOptions): Promise<void> {
  const used = await usedBlobIds(repo);
  const dropped = new Set([...plan.deletePacks, ...plan.repackPacks]);
  options.onProgress?.(`repacking ${plan.repackPacks.length} packs`);
  await moveUsedPayloads(repo, plan.repackPacks, (id) => used.has(id));
  const oldSegments = (await repo.backend.list(INDEX_DIR)).filter(isObjectId);
  const newSegment = await repo.flush();
  // Packs the repacking wrote are named by the new segment already; every other pack the index
  // knows (also one this process wrote before the prune) goes into the kept segment.
  const inNewSegment = new Set((newSegment ? (repo.newIndexSegments.get(newSegment) ?? []) : []).map((r) => r.packId));
  // They go into segments of KEPT_PACKS_PER_SEGMENT, each built from the index just before it is
  // written and then dropped (not held as this process's own output: prune runs alone and ends
  // here), so a store of millions of blobs never has them all as objects at once.
  const kept = repo.index.packIds().filter((id) => !dropped.has(id) && !inNewSegment.has(id));
  const keptSegments = new Set<string>();
  for (let i = 0; i < kept.length; i += KEPT_PACKS_PER_SEGMENT) {
    const records: PackRecord[] = kept.slice(i, i + KEPT_PACKS_PER_SEGMENT).map((packId) => ({ packId, entries: repo.index.packEntries(packId)! }));
    keptSegments.add(await repo.writeIndexSegment(records, false));
  }
  options.onProgress?.('deleting old index segments and packs');
  const oldOnes = oldSegments.filter((name) => name !== newSegment && !keptSegments.has(name));
  await repo.commitGeneration({ exclusive: true, removing: oldOnes.map((name) => indexPath(name)) });
  for (const name of oldOnes) await repo.removeIndexSegment(name);
  for (const packId of [...dropped, ...plan.unindexedPacks]) await repo.backend.remove(packPath(packId));
  await repo.commitState({ exclusive: true });
}
