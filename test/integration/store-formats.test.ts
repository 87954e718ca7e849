import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backend/local.js';
import { BlobEncoding } from '../../src/codec/blob.js';
import { Repository } from '../../src/repo/repository.js';
import { FAST_KDF, PASSWORD, sinkiOk } from '../helpers/cli.js';
import { cleanup, expectSameTree, genDataset, mount, umount, type Store } from '../fuse/harness.js';
import { tempDir } from '../helpers/temp.js';
import { initRepo } from '../helpers/store.js';

/** What a store holds on disk, by format feature: pack versions, blob encodings, tree encodings. */
async function storeFacts(path: string): Promise<{
  format: number;
  packVersions: number[];
  encodings: number[];
  treeStarts: string[];
  oneChunkFilesWithSha: number;
  smallTreesCompressed: number;
  smallTrees: number;
}> {
  const repo = await Repository.open(new LocalBackend(path), Buffer.from(PASSWORD));
  try {
    const packVersions = new Set<number>();
    const encodings = new Set<number>();
    const treeStarts = new Set<string>();
    let oneChunkFilesWithSha = 0;
    let smallTrees = 0;
    let smallTreesCompressed = 0;
    for (const packId of repo.index.packIds()) {
      packVersions.add((await fs.readFile(join(path, 'packs', packId.slice(0, 2), packId)))[4]!);
      for (const e of repo.index.packEntries(packId)!) {
        const { payload } = await repo.loadBlobPayload(e.id);
        encodings.add(payload[0]!);
        if (e.kind !== 1) continue;
        if (e.plainLength < 1024) {
          smallTrees += 1;
          if (payload[0] !== BlobEncoding.Raw) smallTreesCompressed += 1;
        }
        const plain = await repo.loadBlob(e.id);
        treeStarts.add(plain[0] === 0x7b ? 'json' : `byte ${plain[0]}`);
        for (const n of (await repo.loadTree(e.id)).nodes) if (n.type === 'file' && n.chunks?.length === 1 && n.sha256) oneChunkFilesWithSha += 1;
      }
    }
    return {
      format: repo.config.format,
      packVersions: [...packVersions].sort(),
      encodings: [...encodings].sort(),
      treeStarts: [...treeStarts].sort(),
      oneChunkFilesWithSha,
      smallTrees,
      smallTreesCompressed,
    };
  } finally {
    await repo.backend.close();
  }
}

describe('store formats: a new store is format 3, and format 1 and 2 stores keep working in their own encodings', () => {
  let work: string;
  let src: string;

  beforeAll(async () => {
    work = await tempDir('formats');
    src = join(work, 'src');
    await genDataset(src, '3M', 7);
  });

  afterAll(cleanup);

  it('format 3 (sinki init): format 2 encodings, pack version 2, and backup, restore and check', async () => {
    const path = join(work, 'v3');
    await sinkiOk(['init', ...FAST_KDF], { store: path });
    await sinkiOk(['backup', src], { store: path });
    const facts = await storeFacts(path);
    expect(facts).toMatchObject({ format: 3, packVersions: [2], treeStarts: ['byte 2'], smallTreesCompressed: 0 });
    expect(facts.encodings).toEqual([BlobEncoding.Raw, BlobEncoding.XzCompact]);
    const out = join(work, 'out-v3');
    await sinkiOk(['restore', 'latest', out], { store: path });
    await expectSameTree(src, join(out, 'src'));
    expect((await sinkiOk(['check', '--read-data'], { store: path })).stdout).toMatch(/no errors were found/);
  });

  it('format 2: binary trees whose one-chunk files carry their SHA-256 only, compact xz, pack version 2', async () => {
    const store: Store = { path: join(work, 'v2'), work };
    await (await initRepo(store.path, PASSWORD, 2)).backend.close();
    await sinkiOk(['backup', src], { store: store.path });
    const facts = await storeFacts(store.path);
    // Binary trees under 1 KiB are stored raw (xz took 1.3% off them and cost every re-run a decode).
    expect(facts).toMatchObject({ format: 2, packVersions: [2], treeStarts: ['byte 2'], smallTreesCompressed: 0 });
    expect(facts.smallTrees).toBeGreaterThan(5);
    expect(facts.encodings).toEqual([BlobEncoding.Raw, BlobEncoding.XzCompact]);
    expect(facts.oneChunkFilesWithSha).toBeGreaterThan(50);
    const out = join(work, 'out-v2');
    await sinkiOk(['restore', 'latest', out], { store: store.path });
    await expectSameTree(src, join(out, 'src'));
    expect((await sinkiOk(['check', '--read-data'], { store: store.path })).stdout).toMatch(/no errors were found/);

    // A file written through the mount in one chunk gets its SHA-256 (the chunk's) in the manifest; a
    // file of several chunks does not (the mount does not hash whole files).
    const mnt = join(work, 'mnt-v2');
    const m = await mount(store, mnt);
    const small = Buffer.from('one chunk through the mount\n'.repeat(100));
    await fs.writeFile(join(mnt, 'small.txt'), small);
    await fs.writeFile(join(mnt, 'large.bin'), Buffer.alloc(5 * 1024 * 1024, 7));
    await umount(m);
    const manifest = (await sinkiOk(['manifest', 'latest'], { store: store.path })).stdout;
    expect(manifest).toContain(`${createHash('sha256').update(small).digest('hex')}  small.txt\n`);
    expect(manifest).not.toContain('large.bin');
  });

  it('format 1: backup, incremental backup, mount writes, restore and check, still in format 1 encodings', async () => {
    const store: Store = { path: join(work, 'v1'), work };
    const repo = await initRepo(store.path, PASSWORD, 1);
    await repo.backend.close();
    await sinkiOk(['backup', src], { store: store.path });
    await fs.writeFile(join(src, 'added-later.txt'), 'a file of the second backup\n'.repeat(100));
    await sinkiOk(['backup', src], { store: store.path });
    const out = join(work, 'out-v1');
    await sinkiOk(['restore', 'latest', out], { store: store.path });
    await expectSameTree(src, join(out, 'src'));

    const mnt = join(work, 'mnt-v1');
    const m = await mount(store, mnt);
    await fs.writeFile(join(mnt, 'through-the-mount.txt'), 'written through the mount\n'.repeat(1000));
    const snapshots = await fs.readdir(join(mnt, '.snapshots'));
    expect(snapshots.length).toBe(2);
    await umount(m);

    const facts = await storeFacts(store.path);
    expect(facts).toMatchObject({ format: 1, packVersions: [1], treeStarts: ['json'] });
    expect(facts.smallTreesCompressed).toBeGreaterThan(0);
    expect(facts.encodings).toEqual([BlobEncoding.Raw, BlobEncoding.Xz]);
    expect((await sinkiOk(['check', '--read-data'], { store: store.path })).stdout).toMatch(/no errors were found/);
    const m2 = await mount(store, mnt);
    expect(await fs.readFile(join(mnt, 'through-the-mount.txt'), 'utf8')).toBe('written through the mount\n'.repeat(1000));
    await umount(m2);
  });
});
