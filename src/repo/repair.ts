import { isSinkiError } from '../errors.js';
import type { PackRecord } from './blob-index.js';
import { INDEX_DIR, indexPath, isObjectId, packPath } from './layout.js';
import { readPackHeader } from './pack-reader.js';
import type { Repository } from './repository.js';

export interface RepairReport {
  packs: number;
  blobs: number;
  /**
   * Packs whose header could not be read. What the old index knew of such a pack (its blobs may be
   * intact: the header is only the pack's own copy of that list) is kept; the others are left out.
   */
  damaged: Array<{ packId: string; reason: string; keptBlobs: number }>;
}

/**
 * Rebuilds the index from the sealed headers of the packs on disk (the repository is opened with
 * whatever index segments are still readable). The new segment is written durably before the old
 * ones are removed, so an interruption leaves a store that still opens.
 */
export async function repairIndex(repo: Repository, onProgress?: (done: number, total: number) => void): Promise<RepairReport> {
  const packs = await repo.listPacks();
  const records: PackRecord[] = [];
  const damaged: RepairReport['damaged'] = [];
  for (const [i, packId] of packs.entries()) {
    try {
      const bytes = await repo.backend.read(packPath(packId));
      records.push({ packId, entries: readPackHeader(repo.keys, bytes, packId).entries });
    } catch (err) {
      if (!isSinkiError(err)) throw err;
      // Dropping a pack the old index still describes would make its blobs unreachable, and the next
      // prune would delete it as unindexed garbage.
      const known = repo.index.packEntries(packId);
      if (known) records.push({ packId, entries: known });
      damaged.push({ packId, reason: err.message, keptBlobs: known?.length ?? 0 });
    }
    onProgress?.(i + 1, packs.length);
  }
  const old = (await repo.backend.list(INDEX_DIR)).filter(isObjectId);
  const fresh = await repo.writeIndexSegment(records);
  const stale = old.filter((name) => name !== fresh);
  await repo.commitGeneration({ exclusive: true, removing: stale.map((name) => indexPath(name)) });
  for (const name of stale) await repo.removeIndexSegment(name);
  await repo.commitState({ exclusive: true });
  return { packs: records.length, blobs: records.reduce((a, r) => a + r.entries.length, 0), damaged };
}
