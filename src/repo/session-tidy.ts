import type { PackRecord } from './blob-index.js';
import { indexPath, packPath } from './layout.js';
import type { Repository } from './repository.js';

export interface ReclaimReport {
  packsDeleted: number;
  bytesFreed: number;
  blobsMoved: number;
}

/** Bytes of a pack's blobs that the index reads from another copy. */
function supersededBytes(repo: Repository, record: PackRecord): number {
  let bytes = 0;
  for (const e of record.entries) if (repo.index.get(e.id)?.packId !== record.packId) bytes += e.length;
  return bytes;
}

/**
 * Frees the packs this process wrote that hold blobs since stored again elsewhere (the mount's raw
 * chunks after recompression). In the order that keeps the store whole at every step: the packs'
 * other blobs move to a new pack and are indexed, the index segments naming the old packs are
 * rewritten without them, and only then are the old packs deleted. The caller holds the store
 * exclusively, so no other process is reading those packs.
 */
export async function reclaimSupersededPacks(repo: Repository): Promise<ReclaimReport> {
  const report: ReclaimReport = { packsDeleted: 0, bytesFreed: 0, blobsMoved: 0 };
  const stale = new Set<string>();
  for (const records of repo.newIndexSegments.values()) {
    for (const record of records) {
      const bytes = supersededBytes(repo, record);
      if (bytes === 0 || stale.has(record.packId)) continue;
      stale.add(record.packId);
      report.bytesFreed += bytes;
    }
  }
  if (stale.size === 0) return report;
  for (const packId of stale) {
    for (const e of repo.index.packEntries(packId) ?? []) {
      if (repo.index.get(e.id)?.packId !== packId) continue;
      const { kind, payload, plainLength } = await repo.loadBlobPayload(e.id);
      await repo.repackPayload(kind, e.id, payload, plainLength);
      report.blobsMoved += 1;
    }
  }
  await repo.flush();
  const rewritten = [...repo.newIndexSegments].filter(([, records]) => records.some((r) => stale.has(r.packId)));
  const remaining = rewritten.flatMap(([, records]) => records.filter((r) => !stale.has(r.packId)));
  if (remaining.length > 0) await repo.writeIndexSegment(remaining);
  for (const [name] of rewritten) {
    await repo.backend.remove(indexPath(name));
    repo.newIndexSegments.delete(name);
  }
  for (const packId of stale) {
    await repo.backend.remove(packPath(packId));
    repo.index.dropPack(packId);
    report.packsDeleted += 1;
  }
  await repo.writeSums();
  return report;
}
