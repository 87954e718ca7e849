import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/backend/local.js';
import { checkStore } from '../../../src/repo/check.js';
import { collectGarbage, planGarbage } from '../../../src/repo/garbage.js';
import { BlobKind } from '../../../src/repo/pack-format.js';
import { Repository } from '../../../src/repo/repository.js';
import { DEFAULTS, DEFAULT_NO_COMPRESS_EXT } from '../../../src/repo/store-config.js';
import { packBytes } from '../../helpers/files.js';
import { FAST_KDF } from '../../helpers/store.js';
import { crashAtEveryStep } from '../../helpers/crashing-backend.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

const password = Buffer.from('pw');
const KiB = 1024;

async function newStore(): Promise<{ dir: string; repo: Repository }> {
  const dir = join(await tempDir('garbage'), 'store');
  const params = {
    cipher: DEFAULTS.cipher,
    chunkSize: 256 * KiB,
    cdc: DEFAULTS.cdc,
    packSize: 1024 * KiB,
    compression: { preset: 1, minCompressSize: DEFAULTS.minCompressSize, noCompressExt: DEFAULT_NO_COMPRESS_EXT },
  };
  return { dir, repo: await Repository.init(new LocalBackend(dir), password, params, FAST_KDF) };
}

/** Incompressible chunks, so that pack sizes are what they hold. */
async function storeChunks(repo: Repository, n: number): Promise<Buffer[]> {
  const chunks = Array.from({ length: n }, () => randomBytes(200 * KiB));
  for (const c of chunks) await repo.saveBlob(BlobKind.Data, c, false);
  await repo.flush();
  return chunks;
}

afterEach(removeTempDirs);

describe("freeing what is no longer used (the mount's own prune)", () => {
  it('deletes packs nothing uses, repacks mostly unused ones, and keeps every used blob readable', async () => {
    const { dir, repo } = await newStore();
    const chunks = await storeChunks(repo, 24);
    const ids = chunks.map((c) => repo.blobId(c));
    const packs = repo.index.packIds().map((p) => repo.index.packEntries(p)!.map((e) => e.id));
    expect(packs.length).toBeGreaterThanOrEqual(4);
    // Used: all of the first pack, one blob of each other pack but the last, nothing of the last.
    const used = new Set([...packs[0]!, ...packs.slice(1, -1).map((p) => p[0]!)]);
    const isUsed = (id: string): boolean => used.has(id);
    const before = await packBytes(dir);
    const plan = planGarbage(repo, isUsed, { maxUnused: 0.3, moveBudget: Infinity });
    expect({ deleted: plan.deletePacks.length, repacked: plan.repackPacks.length }).toEqual({ deleted: 1, repacked: packs.length - 2 });
    await collectGarbage(repo, isUsed, plan);
    expect(await packBytes(dir)).toBeLessThan(before * 0.6);
    for (const id of ids) expect(repo.index.has(id)).toBe(used.has(id));
    const reopened = await Repository.open(new LocalBackend(dir), password);
    for (const [i, c] of chunks.entries()) if (used.has(ids[i]!)) expect((await reopened.loadBlob(ids[i]!)).equals(c)).toBe(true);
    const check = await checkStore(reopened, { readData: true });
    expect({ problems: check.problems, unreferenced: check.unreferencedPacks }).toEqual({ problems: [], unreferenced: [] });
    // Nothing left to free.
    expect(planGarbage(reopened, isUsed, { maxUnused: 0.3, moveBudget: Infinity }).bytesToFree).toBe(0);
  });

  it("keeps the packs of index segments another process wrote, in a segment that is not this one's session output", async () => {
    const { dir, repo } = await newStore();
    await storeChunks(repo, 6);
    const other = await Repository.open(new LocalBackend(dir), password);
    await storeChunks(other, 14);
    const [kept, ...dropped] = [...other.newIndexSegments.values()].flat().map((r) => r.packId);
    expect(dropped.length).toBeGreaterThan(0);
    await repo.loadIndex();
    // Used: one pack of the other process's, whole; nothing else.
    const used = new Set(repo.index.packEntries(kept!)!.map((e) => e.id));
    const isUsed = (id: string): boolean => used.has(id);
    await collectGarbage(repo, isUsed, planGarbage(repo, isUsed, { maxUnused: 0.3, moveBudget: Infinity }));
    const reopened = await Repository.open(new LocalBackend(dir), password);
    expect(reopened.index.packIds()).toEqual([kept]);
    expect((await checkStore(reopened, { readData: true })).problems).toEqual([]);
    // Session output stays this process's own: the other process's pack is not in it.
    const own = new Set([...repo.newIndexSegments.values()].flat().map((r) => r.packId));
    expect(own.has(kept!)).toBe(false);
  });

  it('a move budget leaves the costliest packs for a later round', async () => {
    const { repo } = await newStore();
    const chunks = await storeChunks(repo, 20);
    const used = new Set(chunks.filter((_, i) => i % 4 !== 3).map((c) => repo.blobId(c))); // each pack 1/4 unused
    const plan = planGarbage(repo, (id) => used.has(id), { maxUnused: 0.2, moveBudget: 700 * KiB });
    expect(plan.repackPacks.length).toBe(1);
    expect(plan.bytesToMove).toBeLessThanOrEqual(700 * KiB);
  });

  it('with keepUnusedShare, repacking stops once the unused bytes left are that share of the used ones, the most garbage per byte moved first', async () => {
    const { repo } = await newStore();
    const chunks = await storeChunks(repo, 20);
    const packs = repo.index.packIds().map((p) => repo.index.packEntries(p)!.map((e) => e.id));
    expect(packs.length).toBeGreaterThanOrEqual(4);
    // One blob unused in each pack, and a second one in the first; the last pack is the smallest (2 blobs).
    const unused = new Set([...packs.map((p) => p[0]!), packs[0]![1]!]);
    const isUsed = (id: string): boolean => !unused.has(id);
    const all = planGarbage(repo, isUsed, { maxUnused: 0, moveBudget: Infinity });
    expect(all.repackPacks.length).toBe(packs.length);
    const usedBytes = all.bytesIndexed - all.bytesUnused;
    // Room for one blob's garbage and a half: all but one of the packs with a blob unused are repacked.
    const share = (1.5 * 200 * KiB) / usedBytes;
    const some = planGarbage(repo, isUsed, { maxUnused: 0, moveBudget: Infinity, keepUnusedShare: share });
    expect(some.repackPacks.length).toBe(packs.length - 1);
    // Most garbage per byte moved first: the last pack (half unused), then the first (a third).
    const ids = repo.index.packIds();
    expect(some.repackPacks.slice(0, 2)).toEqual([ids.at(-1), ids[0]]);
    expect(some.bytesUnused - some.bytesToFree).toBeLessThanOrEqual(share * usedBytes);
    expect(chunks.length).toBe(20);
  });

  it('interrupted at every write and remove, leaves a store that opens, reads every used blob and checks clean', async () => {
    const { dir, repo } = await newStore();
    const chunks = await storeChunks(repo, 16);
    const ids = chunks.map((c) => repo.blobId(c));
    const used = new Set(ids.filter((_, i) => i % 3 === 0));
    await repo.backend.close();
    const isUsed = (id: string): boolean => used.has(id);
    const runs = await crashAtEveryStep(
      dir,
      password,
      (session) => collectGarbage(session, isUsed, planGarbage(session, isUsed, { maxUnused: 0.3, moveBudget: Infinity })),
      async (after, completed) => {
        for (const [i, c] of chunks.entries()) if (used.has(ids[i]!)) expect((await after.loadBlob(ids[i]!)).equals(c)).toBe(true);
        const check = await checkStore(after, { readData: true });
        expect(check.problems).toEqual([]);
        if (completed) expect(check.unreferencedPacks).toEqual([]);
      },
    );
    // Pack writes, index segments, removals and SHA256SUMS: each was a crash point.
    expect(runs).toBeGreaterThan(6);
  });
});
