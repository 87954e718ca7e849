import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SpaceKeeper } from '../../../src/fuse/space-keeper.js';
import { BlobKind } from '../../../src/repo/pack-format.js';
import { packBytes } from '../../helpers/files.js';
import { initRepo } from '../../helpers/store.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

const MiB = 2 ** 20;

afterEach(removeTempDirs);

describe('when the mount frees space: the estimate between rounds', () => {
  it('counts packs written as the store and replaced chunks as unused; a round starts at 15% unused, writes wait at 30%, and the round sets both right', async () => {
    const dir = join(await tempDir('space-keeper'), 'store');
    const repo = await initRepo(dir, 'pw');
    const keeper = new SpaceKeeper(repo);
    // 40 incompressible chunks of 1 MiB: the store's data.
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await repo.saveBlob(BlobKind.Data, randomBytes(MiB), false));
    await repo.flush();
    expect(Math.abs(keeper.storeBytes - (await packBytes(dir)))).toBeLessThan(64 * 1024);
    expect(keeper.unusedBytes).toBe(0);
    expect(keeper.due()).toBe(false);
    // 5 replaced: 5 MiB of 35 used, 14%: not yet.
    for (const id of ids.slice(0, 5)) keeper.superseded(id);
    expect(keeper.unusedBytes).toBe(5 * (MiB + 29));
    expect(keeper.due()).toBe(false);
    // Dirty buffers about to replace 1 MiB more count too: 6 of 34, 18%.
    expect(keeper.due(MiB)).toBe(true);
    expect(keeper.mustWait(MiB)).toBe(false);
    // A deleted 4 MiB file: 9 of 31 used, 29%; with 1 MiB pending 32%: writes wait.
    keeper.released(4 * MiB);
    expect(keeper.mustWait()).toBe(false);
    expect(keeper.mustWait(MiB)).toBe(true);
    // The round finds what is really unused (here: the first 5 only) and starts again from there.
    const live = new Set(ids.slice(5));
    const report = await keeper.round(null, { moveBudget: 64 * MiB }, live);
    expect(report.bytesFreed).toBe(5 * (MiB + 29));
    expect(keeper.unusedBytes).toBe(0);
    expect(Math.abs(keeper.storeBytes - (await packBytes(dir)))).toBeLessThan(64 * 1024);
  });

  it('a raw copy replaced by a compressed one (deferred compression) counts as unused', async () => {
    const repo = await initRepo(join(await tempDir('space-keeper'), 'store'), 'pw');
    const keeper = new SpaceKeeper(repo);
    const id = await repo.saveBlob(BlobKind.Data, Buffer.alloc(MiB, 'a'), false);
    await repo.flush();
    const raw = repo.storedLength(id)!;
    expect(repo.isStoredRaw(id)).toBe(true);
    expect(await repo.recompressBlob(id)).toBe(true);
    await repo.flush();
    expect(repo.isStoredRaw(id)).toBe(false);
    expect(keeper.unusedBytes).toBe(raw);
  });

  it('packs of about a tenth of the store, never below a chunk nor above the pack size', async () => {
    const repo = await initRepo(join(await tempDir('space-keeper'), 'store'), 'pw');
    const keeper = new SpaceKeeper(repo);
    expect(keeper.packTarget(4 * MiB, 16 * MiB)).toBe(4 * MiB);
    for (let i = 0; i < 60; i++) await repo.saveBlob(BlobKind.Data, randomBytes(MiB), false);
    await repo.flush();
    expect(keeper.packTarget(4 * MiB, 16 * MiB)).toBe(Math.floor(0.1 * keeper.storeBytes));
    expect(keeper.packTarget(4 * MiB, 4 * MiB)).toBe(4 * MiB);
  });
});
