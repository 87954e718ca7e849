import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkCache } from '../../../src/fuse/chunk-cache.js';
import { FileIo } from '../../../src/fuse/file-io.js';
import { InodeTable } from '../../../src/fuse/inodes.js';
import { DirEntries, DirNode, FileNode, nowNs, type Meta } from '../../../src/fuse/nodes.js';
import { TreeStore } from '../../../src/fuse/tree-store.js';
import type { Repository } from '../../../src/repo/repository.js';
import { initRepo } from '../../helpers/store.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

const meta = (): Meta => ({ mode: 0o644, uid: 0, gid: 0, mtimeNs: nowNs(), ctimeNs: nowNs() });

/** How many turns of the event loop (setImmediate callbacks) happen while `work` runs. */
async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  await work();
  running = false;
  return turns;
}

describe('a commit of a big folder', () => {
  let repo: Repository;
  beforeAll(async () => {
    repo = await initRepo(await tempDir('tree-store'), 'pw');
  });
  afterAll(removeTempDirs);

  it('lets the event loop turn while it seals and saves, so reads (getattr, readdir, read) are answered meanwhile', async () => {
    const io = new FileIo(repo, new ChunkCache(repo, 1 << 20), 4 << 20, 1 << 30);
    const trees = new TreeStore(repo, io, new InodeTable());
    const dir = new DirNode(meta(), null, false, 1);
    dir.children = new DirEntries();
    for (let i = 0; i < 5000; i++) {
      const file = new FileNode(i + 1, meta(), 0, [], `f${i}`, false);
      dir.children.set(file.name, file);
      await io.write(file, Buffer.from(`file ${i}`), 0);
    }
    expect(await turnsDuring(() => io.sealAll())).toBeGreaterThanOrEqual(10);
    expect(await turnsDuring(() => trees.save(dir, new Set([dir])))).toBeGreaterThanOrEqual(3);
    expect((await repo.loadTree(dir.subtree!)).nodes).toHaveLength(5000);
  });
});
