import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/backend/local.js';
import { Recompressor } from '../../../src/fuse/recompressor.js';
import { BlobKind } from '../../../src/repo/pack-format.js';
import { Repository } from '../../../src/repo/repository.js';
import { DEFAULT_PARAMS, FAST_KDF } from '../../helpers/store.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

afterEach(removeTempDirs);

describe('Recompressor', () => {
  it('keeps a chunk still in the open pack for a later round, which compresses it once its pack is written', async () => {
    // deferAt 0: every compressible chunk is stored raw at once, as on a 2-core machine.
    const repo = await Repository.init(new LocalBackend(join(await tempDir('recompressor'), 'store')), Buffer.from('pw'), DEFAULT_PARAMS, FAST_KDF, {
      deferAt: 0,
    });
    const chunk = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(3000));
    const id = repo.blobId(chunk);
    expect(await repo.queueBlobOrDefer(BlobKind.Data, id, chunk, true)).toBe('deferred');
    let rounds = 0;
    const recompressor = new Recompressor(repo, { idleMs: 10, flush: async () => void (await repo.flush()), log: () => undefined, minFreeBytes: 0 });
    const spy = repo.recompressBlob.bind(repo);
    repo.recompressBlob = async (blob: string): Promise<boolean> => {
      rounds += 1;
      return spy(blob);
    };
    const until = async (done: () => boolean): Promise<void> => {
      for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    recompressor.add(id);

    await until(() => rounds >= 1); // an idle round: the chunk is only in memory, nothing to recompress yet
    expect(rounds).toBeGreaterThanOrEqual(1);
    expect(recompressor.queued).toEqual([id]);

    await repo.flush(); // now it sits raw in a written pack
    expect(repo.isStoredRaw(id)).toBe(true);
    recompressor.usedNow();
    await until(() => recompressor.queued.length === 0 && !repo.isStoredRaw(id));
    expect(recompressor.queued).toEqual([]);
    expect(repo.isStoredRaw(id)).toBe(false);
    expect((await repo.loadBlob(id)).equals(chunk)).toBe(true);
    recompressor.cancel();
  });
});
