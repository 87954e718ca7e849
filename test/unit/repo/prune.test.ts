import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/backend/local.js';
import { checkStore } from '../../../src/repo/check.js';
import { BlobKind } from '../../../src/repo/pack-format.js';
import { executePrune, planPrune } from '../../../src/repo/prune.js';
import { Repository } from '../../../src/repo/repository.js';
import { DEFAULT_PARAMS, FAST_KDF } from '../../helpers/store.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

const password = Buffer.from('pw');

afterEach(removeTempDirs);

describe('prune of a store with many packs', () => {
  it('writes the kept packs into several segments that together name every pack, and the store checks clean', async () => {
    const dir = join(await tempDir('prune'), 'store');
    const repo = await Repository.init(new LocalBackend(dir), password, DEFAULT_PARAMS, FAST_KDF);
    const chunks: Array<{ id: string; plain: Buffer }> = [];
    // One pack per flush: 300 packs, past the 256 a kept segment holds.
    for (let i = 0; i < 300; i++) {
      const plain = randomBytes(64);
      chunks.push({ id: await repo.saveBlob(BlobKind.Data, plain, false), plain });
      await repo.flush();
    }
    const dropped = await repo.saveBlob(BlobKind.Data, randomBytes(64), false);
    await repo.flush();
    const nodes = chunks.map(({ id, plain }, i) => ({
      name: `f${i}`,
      type: 'file' as const,
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtimeNs: '0',
      size: plain.length,
      chunks: [[id, plain.length]] as Array<[string, number]>,
    }));
    const tree = await repo.saveTree({ nodes });
    await repo.flush();
    await repo.saveSnapshot({ time: new Date().toISOString(), host: 'h', username: 'u', paths: ['/p'], tags: [], tree });
    await repo.commitState();
    const packsBefore = repo.index.packIds().length;
    expect(packsBefore).toBe(302);

    const plan = await planPrune(repo, { maxUnused: 0.1 });
    expect(plan.deletePacks).toHaveLength(1);
    await executePrune(repo, plan, { maxUnused: 0.1 });

    expect(await fs.readdir(join(dir, 'index'))).toHaveLength(2);
    const again = await Repository.open(new LocalBackend(dir), password);
    expect(again.index.packIds()).toHaveLength(301);
    expect(again.index.has(dropped)).toBe(false);
    for (const { id, plain } of chunks) expect(await again.loadBlob(id, BlobKind.Data)).toEqual(plain);
    expect((await checkStore(again, { readData: true })).problems).toEqual([]);
  });
});
