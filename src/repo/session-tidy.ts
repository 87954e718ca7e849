import type { PackRecord } from './blob-index.js';
import { moveUsedPayloads } from './garbage.js';
import { indexPath, packPath } from './layout.js';
import type { Repository } from './repository.js';

export interface TidyReport {
  /** Packs deleted after their live blobs moved. */
  packsDeleted: number;
  /** Bytes of blobs that were stored again elsewhere (the raw copies of recompressed chunks). */
  bytesFreed: number;
  blobsMoved: number;
  /** Index segments of this process merged into one. */
  segmentsMerged: number;
}

/** A pack under this share of the pack size counts as small: commits of a few changes write them. */
const SMALL_PACK_SHARE = 0.25;

/** Bytes of a pack's blobs that the index reads from another copy. */
function supersededBytes(repo: Repository, record: PackRecord): number {
  let bytes = 0;
  for (const e of record.entries) if (!repo.index.readsFrom(record.packId, e)) bytes += e.length;
  return bytes;
}

/**
 * Tidies what this process (a mount session) wrote, at its end: packs holding blobs since stored
 * again elsewhere (raw chunks after recompression) and small packs (one per commit of a few changes)
 * are merged into full packs, and the session's index segments (one per commit) into one. In the
 * order that keeps the store whole at every step: live blobs move to new packs and are indexed, the
 * merged segment is written, and only then are old segments and packs deleted. The caller holds the
 * store exclusively, so no other process is reading those packs.
 */
export interface TidyOptions {
  /** Bytes of live blobs that may be copied out of stale packs; a pack that would overrun it stays. */
  moveBudget?: number;
  /** Write SHA256SUMS and a generation even when there is nothing to tidy (an earlier step removed files and left them to this). */
  sealState?: boolean;
}

export async function tidySessionOutput(repo: Repository, options: TidyOptions = {}): Promise<TidyReport> {
  const report: TidyReport = { packsDeleted: 0, bytesFreed: 0, blobsMoved: 0, segmentsMerged: 0 };
  const records = new Map<string, PackRecord>();
  for (const segment of repo.newIndexSegments.values()) for (const record of segment) records.set(record.packId, record);
  const stale = new Set<string>();
  const small: string[] = [];
  let budget = options.moveBudget ?? Infinity;
  const liveBytes = (record: PackRecord): number => record.entries.reduce((n, e) => n + e.length, 0) - supersededBytes(repo, record);
  // Packs of superseded copies with the fewest live bytes first: most space freed per byte copied.
  const ordered = [...records.values()].sort((a, b) => liveBytes(a) - liveBytes(b));
  for (const record of ordered) {
    const superseded = supersededBytes(repo, record);
    if (superseded > 0) {
      const live = liveBytes(record);
      if (live > budget) continue;
      budget -= live;
      stale.add(record.packId);
      report.bytesFreed += superseded;
    } else if (record.entries.reduce((n, e) => n + e.length, 0) < SMALL_PACK_SHARE * repo.config.packSize) small.push(record.packId);
  }
  const smallBytes = small.reduce((n, id) => n + liveBytes(records.get(id)!), 0);
  if (small.length >= 2 && smallBytes <= budget) for (const packId of small) stale.add(packId);
  if (stale.size === 0 && repo.newIndexSegments.size < 2) {
    if (options.sealState) await repo.commitState({ exclusive: true });
    return report;
  }

  report.blobsMoved = await moveUsedPayloads(repo, stale, () => true);
  await repo.flush();
  const segments = [...repo.newIndexSegments];
  const kept = new Map<string, PackRecord>();
  for (const [, segment] of segments) for (const record of segment) if (!stale.has(record.packId)) kept.set(record.packId, record);
  const mergedName = kept.size > 0 ? await repo.writeIndexSegment([...kept.values()]) : null;
  await repo.commitGeneration({ exclusive: true, removing: segments.filter(([name]) => name !== mergedName).map(([name]) => indexPath(name)) });
  for (const [name] of segments) {
    if (name === mergedName) continue;
    await repo.removeIndexSegment(name);
  }
  report.segmentsMerged = segments.length;
  for (const packId of stale) {
    await repo.backend.remove(packPath(packId));
    repo.index.dropPack(packId);
    report.packsDeleted += 1;
  }
  await repo.commitState({ exclusive: true });
  return report;
}
