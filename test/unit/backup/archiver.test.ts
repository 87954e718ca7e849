import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { backup } from '../../../src/backup/archiver.js';
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
});
