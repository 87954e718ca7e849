import type { PackRecord } from './blob-index.js';
import { indexPath, packPath } from './layout.js';
import type { Repository } from './repository.js';

export interface GarbagePlan {
  /** Packs none of whose copies are read: deleted. */
  deletePacks: string[];
  /** Packs with more unused bytes than allowed: their used blobs move to new packs, then deleted. */
  repackPacks: string[];
  /** Bytes of the packs' blobs that nothing reads (what deleting and repacking frees). */
  bytesToFree: number;
  bytesToMove: number;
  /** Bytes of every indexed blob copy, used or not (the store's data size as the index sees it). */
  bytesIndexed: number;
  /** Of those, the bytes nothing reads. */
  bytesUnused: number;
}

export interface GarbageOptions {
  /** A pack is repacked when more than this share of its bytes is unused (0..1). */
  maxUnused: number;
  /** At most this many bytes of used blobs are moved in one go; the packs with the most garbage per byte moved come first. */
  moveBudget: number;
  /**
   * Repacking stops once the unused bytes left are at most this share of the used ones (the mount's
   * rounds: as little copying as keeps the store within its bound). Without it, every pack over
   * maxUnused is repacked (prune).
   */
  keepUnusedShare?: number;
}

/**
 * Which packs to free, given what is still used: like prune's plan, but for a caller that holds its
 * own answer to "is this blob used" (the mount, which knows its live tree and caches what snapshots
 * hold) and must keep each round short.
 */
export function planGarbage(repo: Repository, isUsed: (id: string) => boolean, options: GarbageOptions): GarbagePlan {
  const plan: GarbagePlan = { deletePacks: [], repackPacks: [], bytesToFree: 0, bytesToMove: 0, bytesIndexed: 0, bytesUnused: 0 };
  const candidates: Array<{ packId: string; used: number; unused: number }> = [];
  for (const packId of repo.index.packIds()) {
    let used = 0;
    let unused = 0;
    for (const e of repo.index.packEntries(packId) ?? []) {
      // A blob stored twice counts as used only where the index reads it.
      if (isUsed(e.id) && repo.index.readsFrom(packId, e)) used += e.length;
      else unused += e.length;
    }
    plan.bytesIndexed += used + unused;
    plan.bytesUnused += unused;
    if (used === 0) {
      plan.deletePacks.push(packId);
      plan.bytesToFree += unused;
    } else if (unused > options.maxUnused * (used + unused)) candidates.push({ packId, used, unused });
  }
  candidates.sort((a, b) => b.unused / b.used - a.unused / a.used);
  let budget = options.moveBudget;
  let left = plan.bytesUnused - plan.bytesToFree;
  const keep = options.keepUnusedShare === undefined ? -1 : options.keepUnusedShare * (plan.bytesIndexed - plan.bytesUnused);
  for (const c of candidates) {
    if (left <= keep) break;
    if (c.used > budget) continue;
    left -= c.unused;
    budget -= c.used;
    plan.repackPacks.push(c.packId);
    plan.bytesToFree += c.unused;
    plan.bytesToMove += c.used;
  }
  return plan;
}

/**
 * Carries out a plan in the order that keeps the store whole at every step (as prune does): used
 * blobs of repacked packs go to new packs and are indexed; each index segment that names a dropped
 * pack is replaced by one without it, durably; only then are old segments and packs deleted. A kill
 * at any point leaves a store that opens and checks clean (at worst with packs no index names,
 * which the next round or prune deletes). The caller holds the store exclusively and keeps its own
 * writes off meanwhile.
 */
/**
 * Copies the blobs of `packIds` that are used and read from there into the open pack, sealed as they
 * are (no decode): what prune, the mount's rounds and the unmount tidy move before deleting a pack.
 * Returns how many moved.
 */
export async function moveUsedPayloads(repo: Repository, packIds: Iterable<string>, isUsed: (id: string) => boolean): Promise<number> {
  let moved = 0;
  for (const packId of packIds) {
    for (const e of repo.index.packEntries(packId) ?? []) {
      if (!isUsed(e.id) || !repo.index.readsFrom(packId, e)) continue;
      const { kind, payload, plainLength } = await repo.loadBlobPayload(e.id);
      await repo.repackPayload(kind, e.id, payload, plainLength);
      moved += 1;
    }
  }
  return moved;
}

export async function collectGarbage(
  repo: Repository,
  isUsed: (id: string) => boolean,
  plan: GarbagePlan,
  options: { sealState?: boolean } = {},
): Promise<void> {
  const dropped = new Set([...plan.deletePacks, ...plan.repackPacks]);
  if (dropped.size === 0) return;
  await moveUsedPayloads(repo, plan.repackPacks, isUsed);
  await repo.flush();
  // Segments naming a dropped pack, in two groups: this process's own (still its session output,
  // merged at unmount) and the others'.
  const own: string[] = [];
  const others: string[] = [];
  for (const [name, packs] of repo.segmentPacks) {
    if (packs.some((p) => dropped.has(p))) (repo.newIndexSegments.has(name) ? own : others).push(name);
  }
  for (const [group, isOwn] of [
    [own, true],
    [others, false],
  ] as const) {
    if (group.length === 0) continue;
    const kept = new Map<string, PackRecord>();
    for (const name of group) {
      for (const packId of repo.segmentPacks.get(name) ?? []) {
        const entries = repo.index.packEntries(packId);
        if (!dropped.has(packId) && entries) kept.set(packId, { packId, entries });
      }
    }
    if (kept.size > 0) await repo.writeIndexSegment([...kept.values()], isOwn);
  }
  // The generation says what is about to go (so a reader does not take the gap for a rollback).
  const segments = [...own, ...others];
  await repo.commitGeneration({ exclusive: true, removing: segments.map((name) => indexPath(name)) });
  for (const name of segments) await repo.removeIndexSegment(name);
  for (const packId of dropped) {
    await repo.backend.remove(packPath(packId));
    repo.index.dropPack(packId);
  }
  // sealState false: the caller writes SHA256SUMS and the generation itself, once, after more removals.
  if (options.sealState !== false) await repo.commitState({ exclusive: true });
}
