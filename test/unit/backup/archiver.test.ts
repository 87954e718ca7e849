import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { backup } from '../../../src/backup/archiver.js';
import { SinkiError } from '../../../src/errors.js';
import { initRepo } from '../../helpers/store.js';
import { removeTempDirs, tempDir } from '../../helpers/temp.js';

describe('archiver re-runs', () => {
  afterAll(removeTempDirs);

  it('keep the parent tree of every directory where nothing changed, and code only the changed path', async () => {
    const work = await tempDir('archiver');
    const src = join(work, 'src');
    for (const dir of ['a/b/c', 'a/d', 'e']) await fs.mkdir(join(src, dir), { recursive: true });
    for (const file of ['a/b/c/deep.txt', 'a/d/side.txt', 'e/other.txt', 'top.txt']) await fs.writeFile(join(src, file), `${file}\n`.repeat(50));
    const repo = await initRepo(join(work, 'store'), 'pw');
    try {
      const first = await backup(repo, { paths: [src] });
      const saveTree = vi.spyOn(repo, 'saveTree');

      const again = await backup(repo, { paths: [src], parent: { id: first.id, ...first.snapshot } });
      // Only the snapshot's root (the list of sources) is coded; src, a, a/b, a/b/c, a/d and e are the parent's.
      expect(saveTree).toHaveBeenCalledTimes(1);
      expect(again.snapshot.tree).toBe(first.snapshot.tree);

      saveTree.mockClear();
      await fs.appendFile(join(src, 'a/b/c/deep.txt'), 'changed\n');
      const changed = await backup(repo, { paths: [src], parent: { id: again.id, ...again.snapshot } });
      // a/b/c, a/b, a, src and the root; a/d and e are kept.
      expect(saveTree).toHaveBeenCalledTimes(5);
      expect(changed.snapshot.tree).not.toBe(first.snapshot.tree);
    } finally {
      await repo.backend.close();
    }
  });

  it('end the backup with the store error a file met (no snapshot), even with other files still running', async () => {
    const work = await tempDir('archiver');
    const src = join(work, 'src');
    await fs.mkdir(join(src, 'many'), { recursive: true });
    for (let i = 0; i < 40; i++) await fs.writeFile(join(src, 'many', `f${String(i).padStart(2, '0')}`), `file ${i}\n`);
    const repo = await initRepo(join(work, 'store'), 'pw');
    try {
      const queueBlob = repo.queueBlob.bind(repo);
      let calls = 0;
      vi.spyOn(repo, 'queueBlob').mockImplementation(async (...args) => {
        calls += 1;
        if (calls === 20) throw new SinkiError('IO', 'store write failed');
        return queueBlob(...args);
      });
      await expect(backup(repo, { paths: [src] })).rejects.toThrow('store write failed');
      expect(await repo.listSnapshots()).toEqual([]);
    } finally {
      await repo.backend.close();
    }
  });

  it('list every entry of a large folder in name order, and reuse them all on a re-run', async () => {
    const work = await tempDir('archiver');
    const src = join(work, 'src');
    await fs.mkdir(join(src, 'sub'), { recursive: true });
    const names = Array.from({ length: 60 }, (_, i) => `n${String(59 - i).padStart(2, '0')}`);
    for (const [i, name] of names.entries()) await (i % 7 === 0 ? fs.mkdir(join(src, name)) : fs.writeFile(join(src, name), `${name}\n`.repeat(i)));
    const repo = await initRepo(join(work, 'store'), 'pw');
    try {
      const first = await backup(repo, { paths: [src] });
      const root = await repo.loadTree(first.snapshot.tree);
      const top = await repo.loadTree(root.nodes[0]!.subtree!);
      expect(top.nodes.map((n) => n.name)).toEqual([...names, 'sub'].sort());
      const again = await backup(repo, { paths: [src], parent: { id: first.id, ...first.snapshot } });
      expect(again.snapshot.tree).toBe(first.snapshot.tree);
      expect(again.snapshot.summary?.filesUnchanged).toBe(names.filter((_, i) => i % 7 !== 0).length);
    } finally {
      await repo.backend.close();
    }
  });
});
