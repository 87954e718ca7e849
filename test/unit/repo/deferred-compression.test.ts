import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/backend/local.js';
import { isSinkiError } from '../../../src/errors.js';
import { BlobIndex } from '../../../src/repo/blob-index.js';
import { checkStore } from '../../../src/repo/check.js';
import { StoreLock } from '../../../src/repo/lock.js';
import { BlobKind } from '../../../src/repo/pack-format.js';
import { tidySessionOutput } from '../../../src/repo/session-tidy.js';
import { Repository } from '../../../src/repo/repository.js';
import { DEFAULTS, DEFAULT_NO_COMPRESS_EXT } from '../../../src/repo/store-config.js';
import { crashAtEveryStep } from '../../helpers/crashing-backend.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';
import { FAST_KDF } from '../../helpers/store.js';

const password = Buffer.from('pw');

/** deferAt is pinned (its default follows the core count) so the outcomes below do not depend on the machine. */
async function newStore(deferAt = 4): Promise<{ dir: string; repo: Repository }> {
  const dir = join(await tempDir('deferred'), 'store');
  const params = {
    cipher: DEFAULTS.cipher,
    chunkSize: 256 * 1024,
    cdc: DEFAULTS.cdc,
    packSize: 1024 * 1024,
    compression: { preset: 1, minCompressSize: DEFAULTS.minCompressSize, noCompressExt: DEFAULT_NO_COMPRESS_EXT },
  };
  const repo = await Repository.init(new LocalBackend(dir), password, params, FAST_KDF, { deferAt });
  return { dir, repo };
}

/** Compressible and distinct: text-like lines with a random seed in each. */
function textChunk(seed: number, size = 256 * 1024): Buffer {
  const line = `chunk ${seed} ${randomBytes(8).toString('hex')} the quick brown fox jumps over the lazy dog\n`;
  return Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size));
}

async function packFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of await fs.readdir(join(dir, 'packs'))) for (const f of await fs.readdir(join(dir, 'packs', sub))) out.push(f);
  return out.sort();
}

afterEach(removeTempDirs);

describe('BlobIndex with a blob stored twice', () => {
  const entry = (id: string, length: number) => ({ kind: BlobKind.Data, id, offset: 37, length, plainLength: 1000 });
  const id = 'aa'.repeat(32);

  it('reads the smaller copy whichever segment loads first', () => {
    for (const order of [
      ['raw', 'xz'],
      ['xz', 'raw'],
    ]) {
      const index = new BlobIndex();
      for (const which of order)
        index.addPack({ packId: which === 'raw' ? '11'.repeat(32) : '22'.repeat(32), entries: [entry(id, which === 'raw' ? 1029 : 300)] });
      expect(index.get(id)?.packId).toBe('22'.repeat(32));
    }
  });

  it('tells the copy reads go to apart from another copy in the same pack', () => {
    const index = new BlobIndex();
    const raw = { ...entry(id, 1029), offset: 37 };
    const xz = { ...entry(id, 300), offset: 37 + 1029 };
    index.addPack({ packId: '11'.repeat(32), entries: [raw, xz] });
    expect(index.readsFrom('11'.repeat(32), xz)).toBe(true);
    expect(index.readsFrom('11'.repeat(32), raw)).toBe(false);
  });

  it('moves an equal copy to the pack added last, and forgets a dropped pack', () => {
    const index = new BlobIndex();
    index.addPack({ packId: '11'.repeat(32), entries: [entry(id, 300)] });
    index.addPack({ packId: '33'.repeat(32), entries: [entry(id, 300)] });
    expect(index.get(id)?.packId).toBe('33'.repeat(32));
    index.dropPack('11'.repeat(32));
    expect(index.get(id)?.packId).toBe('33'.repeat(32));
    expect(index.packIds()).toEqual(['33'.repeat(32)]);
  });
});

describe('deferred compression (the mount storing raw when the compressor is busy)', () => {
  it('stores raw once every compressor slot is busy, recompresses later, and reclaim frees the raw copies', async () => {
    const { dir, repo } = await newStore();
    const chunks = Array.from({ length: 24 }, (_, i) => textChunk(i));
    const outcomes: string[] = [];
    const ids: string[] = [];
    for (const chunk of chunks) {
      const id = repo.blobId(chunk);
      ids.push(id);
      outcomes.push(await repo.queueBlobOrDefer(BlobKind.Data, id, chunk, true));
    }
    await repo.flush();
    // The first chunks take the free compressor slots; while those run, later ones go raw.
    expect(outcomes.slice(0, 2)).toEqual(['queued', 'queued']);
    const deferred = ids.filter((_, i) => outcomes[i] === 'deferred');
    expect(deferred.length).toBeGreaterThan(0);
    for (const id of deferred) expect(repo.isStoredRaw(id)).toBe(true);
    expect(await repo.queueBlobOrDefer(BlobKind.Data, ids[0]!, chunks[0]!, true)).toBe('exists');

    const packsBefore = await packFiles(dir);
    // Asked twice at once (an idle round and the unmount drain), a blob gets one compressed copy.
    const twice = await Promise.all(deferred.flatMap((id) => [repo.recompressBlob(id), repo.recompressBlob(id)]));
    expect(twice.filter(Boolean)).toHaveLength(deferred.length);
    await repo.flush();
    for (const id of ids) expect(repo.isStoredRaw(id)).toBe(false);
    // Nothing left to do for a blob already compressed.
    expect(await repo.recompressBlob(deferred[0]!)).toBe(false);

    const report = await tidySessionOutput(repo);
    expect(report.packsDeleted).toBeGreaterThan(0);
    const packsAfter = await packFiles(dir);
    // Every raw copy is gone: each pack left holds only copies that reads go to.
    expect(packsAfter.filter((p) => packsBefore.includes(p)).length).toBeLessThan(packsBefore.length);
    for (const packId of packsAfter) for (const e of repo.index.packEntries(packId)!) expect(repo.index.readsFrom(packId, e)).toBe(true);

    // A fresh open sees only compressed copies, every blob reads back, and check is clean.
    const again = await Repository.open(new LocalBackend(dir), password);
    const copies = again.index.packIds().flatMap((p) => again.index.packEntries(p)!.map((e) => e.id));
    expect(copies.length).toBe(new Set(copies).size);
    for (const [i, id] of ids.entries()) {
      expect(again.isStoredRaw(id)).toBe(false);
      expect((await again.loadBlob(id)).equals(chunks[i]!)).toBe(true);
    }
    expect(again.index.packIds().sort()).toEqual(packsAfter);
    const check = await checkStore(again, { readData: true });
    expect(check.problems).toEqual([]);
    expect(check.unreferencedPacks).toEqual([]);
    await again.backend.close();
    await repo.backend.close();
  });

  it('defers from the deferAt-th chunk compressing at once (the mount keeps a core for FUSE)', async () => {
    const { repo } = await newStore(1);
    const chunks = Array.from({ length: 3 }, (_, i) => textChunk(100 + i));
    const outcomes: string[] = [];
    for (const chunk of chunks) outcomes.push(await repo.queueBlobOrDefer(BlobKind.Data, repo.blobId(chunk), chunk, true));
    // xz runs on the thread pool: the first chunk is still compressing when the others arrive.
    expect(outcomes).toEqual(['queued', 'deferred', 'deferred']);
    await repo.flush();
    await repo.backend.close();
  });

  it('keeps incompressible chunks as they are', async () => {
    const { repo } = await newStore();
    const noise = Array.from({ length: 12 }, () => randomBytes(256 * 1024));
    const outcomes = [];
    for (const chunk of noise) outcomes.push(await repo.queueBlobOrDefer(BlobKind.Data, repo.blobId(chunk), chunk, true));
    await repo.flush();
    for (const [i, chunk] of noise.entries()) {
      if (outcomes[i] === 'deferred') expect(await repo.recompressBlob(repo.blobId(chunk))).toBe(true);
    }
    await repo.flush();
    expect((await tidySessionOutput(repo)).bytesFreed).toBe(0);
    await repo.backend.close();
  });
});

/** A local backend that dies (throws, then refuses everything) at its n-th write or remove: a crash at that step. */

describe('a flush that cannot wait for xz (fsync in the mount)', () => {
  it('stores chunks still being compressed raw, then their compressed copies; tidy frees the raw ones', async () => {
    const { dir, repo } = await newStore();
    const chunks = Array.from({ length: 4 }, (_, i) => textChunk(200 + i));
    for (const chunk of chunks) expect(await repo.queueBlobOrDefer(BlobKind.Data, repo.blobId(chunk), chunk, true)).toBe('queued');
    // Nothing has been compressed yet (xz runs on the thread pool): all four go raw.
    await repo.flush({ now: true });
    const reopened = await Repository.open(new LocalBackend(dir), password);
    for (const chunk of chunks) {
      expect(reopened.isStoredRaw(reopened.blobId(chunk))).toBe(true);
      expect((await reopened.loadBlob(reopened.blobId(chunk))).equals(chunk)).toBe(true);
    }
    await reopened.backend.close();
    await repo.flush();
    for (const chunk of chunks) expect(repo.isStoredRaw(repo.blobId(chunk))).toBe(false);
    const tidy = await tidySessionOutput(repo);
    expect(tidy.bytesFreed).toBeGreaterThanOrEqual(4 * 256 * 1024);
    await repo.backend.close();
    const after = await Repository.open(new LocalBackend(dir), password);
    for (const chunk of chunks) expect((await after.loadBlob(after.blobId(chunk))).equals(chunk)).toBe(true);
    const check = await checkStore(after, { readData: true });
    expect(check.problems).toEqual([]);
    expect(check.unreferencedPacks).toEqual([]);
    await after.backend.close();
  });
});

describe('tidying a session that committed often', () => {
  it('merges its small packs and per-commit index segments into one each; every blob reads back and check is clean', async () => {
    const { dir, repo } = await newStore();
    const blobs: Buffer[] = [];
    for (let commit = 0; commit < 6; commit++) {
      for (let i = 0; i < 3; i++) {
        const blob = textChunk(commit * 10 + i, 8 * 1024);
        blobs.push(blob);
        await repo.queueBlob(BlobKind.Data, repo.blobId(blob), blob, true);
      }
      await repo.flush();
    }
    expect(await packFiles(dir)).toHaveLength(6);
    expect(await fs.readdir(join(dir, 'index'))).toHaveLength(6);
    const report = await tidySessionOutput(repo);
    expect(report).toMatchObject({ packsDeleted: 6, blobsMoved: 18, segmentsMerged: 7 });
    expect(await packFiles(dir)).toHaveLength(1);
    expect(await fs.readdir(join(dir, 'index'))).toHaveLength(1);
    // Nothing left to tidy the second time.
    expect(await tidySessionOutput(repo)).toMatchObject({ packsDeleted: 0, segmentsMerged: 0 });
    await repo.backend.close();
    const again = await Repository.open(new LocalBackend(dir), password);
    for (const blob of blobs) expect((await again.loadBlob(again.blobId(blob))).equals(blob)).toBe(true);
    expect((await checkStore(again, { readData: true })).problems).toEqual([]);
    await again.backend.close();
  });
});

describe('tidying interrupted at every step', () => {
  it('leaves a store that opens, reads every blob and checks clean', async () => {
    const { dir, repo } = await newStore();
    const chunks = Array.from({ length: 16 }, (_, i) => textChunk(100 + i));
    const deferred: string[] = [];
    for (const chunk of chunks)
      if ((await repo.queueBlobOrDefer(BlobKind.Data, repo.blobId(chunk), chunk, true)) === 'deferred') deferred.push(repo.blobId(chunk));
    await repo.flush();
    expect(deferred.length).toBeGreaterThan(0);
    const written = [...repo.newIndexSegments];
    await repo.backend.close();
    const runs = await crashAtEveryStep(
      dir,
      password,
      async (session) => {
        // The session that stored the raw chunks goes on to recompress and reclaim (it wrote those index segments).
        for (const [name, records] of written) session.newIndexSegments.set(name, records);
        for (const id of deferred) await session.recompressBlob(id);
        await session.flush();
        await tidySessionOutput(session);
      },
      async (after, completed) => {
        for (const chunk of chunks) expect((await after.loadBlob(after.blobId(chunk))).equals(chunk)).toBe(true);
        const check = await checkStore(after, { readData: true });
        expect(check.problems).toEqual([]);
        if (completed) expect(check.unreferencedPacks).toEqual([]);
      },
    );
    // Pack writes, the index segment, the rewritten segment, removals and SHA256SUMS: each was a crash point.
    expect(runs).toBeGreaterThan(5);
  });
});

describe('StoreLock upgrade beside a lock of our own', () => {
  it('takes the store exclusively beside our shared lock, but not beside another process', async () => {
    const { dir } = await newStore();
    const backend = new LocalBackend(dir);
    const own = await StoreLock.acquire(backend, false, 'mount');
    const upgraded = await StoreLock.acquire(backend, true, 'cleanup', { besides: own });
    await upgraded.release();
    const other = await StoreLock.acquire(backend, false, 'backup');
    let thrown: unknown = null;
    try {
      await StoreLock.acquire(backend, true, 'cleanup', { besides: own });
    } catch (err) {
      thrown = err;
    }
    expect(isSinkiError(thrown, 'LOCKED')).toBe(true);
    await other.release();
    await own.release();
  });
});
