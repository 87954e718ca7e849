import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initStore, jsonLine, run, sinki, sinkiOk } from '../helpers/cli.js';
import { listPacks, pseudoRandomBytes, setMtime, treeFacts } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const KiB = 1024;

interface Summary {
  snapshot_id: string;
  files: number;
  packs_written: number;
  new_bytes: number;
  warnings: number;
}

/**
 * Many small files read and stored side by side (archiver file slots), duplicates among them
 * (dedup while several are in flight), sizes on both sides of the whole-file read limit (256 KiB)
 * and of the read size (1 MiB), empty files, and the small-file restore path.
 */
async function makeTree(root: string): Promise<void> {
  for (let d = 0; d < 12; d++) {
    const dir = join(root, `d${d}`, `sub${d % 3}`, 'leaf');
    await fs.mkdir(dir, { recursive: true });
    for (let f = 0; f < 30; f++) {
      const size = (d * 131 + f * 977) % 9000;
      const body =
        f % 7 === 0 ? Buffer.from(`the same small file, over and over\n`.repeat(20)) : pseudoRandomBytes(`${d}/${f}`, size).map((b) => 97 + (b % 16));
      await fs.writeFile(join(dir, `f${f}.txt`), body);
    }
    await fs.writeFile(join(dir, 'empty'), '');
  }
  const edges = join(root, 'edges');
  await fs.mkdir(edges);
  for (const size of [256 * KiB - 1, 256 * KiB, 256 * KiB + 1, 1024 * KiB - 1, 1024 * KiB, 1024 * KiB + 1, 1536 * KiB]) {
    await fs.writeFile(join(edges, `text-${size}`), Buffer.from(pseudoRandomBytes(`text-${size}`, size).map((b) => 97 + (b % 8))));
    await fs.writeFile(join(edges, `random-${size}.bin`), pseudoRandomBytes(`random-${size}`, size));
  }
  await fs.symlink('d0/sub0/leaf/f1.txt', join(root, 'link'));
  await setMtime(join(root, 'edges'), new Date('2020-01-02T03:04:05Z'));
}

describe('a tree of many small files', () => {
  let work: string;
  let store: string;
  let src: string;
  const backup = async (): Promise<Summary> => jsonLine<Summary>((await sinkiOk(['backup', '--json', src], { store })).stdout, 'summary');
  const restoreAndCompare = async (label: string): Promise<void> => {
    const target = join(work, `restore-${label}`);
    await sinkiOk(['restore', 'latest', target], { store });
    const d = await run('diff', ['-r', '--no-dereference', src, join(target, 'src')]);
    expect(d.stdout + d.stderr).toBe('');
    expect(d.code).toBe(0);
    expect(await treeFacts(join(target, 'src'))).toEqual(await treeFacts(src));
  };

  beforeAll(async () => {
    work = await tempDir('small-files');
    store = join(work, 'store');
    src = join(work, 'src');
    await makeTree(src);
    await initStore(store);
  }, 60_000);

  afterAll(removeTempDirs);

  it('restores byte-identical, and a re-run reads nothing new', async () => {
    const first = await backup();
    expect(first).toMatchObject({ files: 12 * 31 + 14, warnings: 0 });
    await restoreAndCompare('first');
    const packs = await listPacks(store);
    const again = await backup();
    expect(again).toMatchObject({ packs_written: 0, new_bytes: 0 });
    expect(await listPacks(store)).toEqual(packs);
  }, 120_000);

  it('after edits, additions and deletions the latest snapshot restores byte-identical', async () => {
    await fs.writeFile(join(src, 'd3', 'sub0', 'leaf', 'f2.txt'), 'edited\n');
    await fs.appendFile(join(src, 'edges', `text-${256 * KiB}`), 'grown past the whole-file limit');
    await fs.writeFile(join(src, 'd5', 'sub2', 'leaf', 'new.txt'), 'added\n'.repeat(50));
    await fs.rm(join(src, 'd7', 'sub1', 'leaf', 'f4.txt'));
    await fs.mkdir(join(src, 'fresh', 'dir'), { recursive: true });
    await fs.writeFile(join(src, 'fresh', 'dir', 'a.txt'), 'a');
    const third = await backup();
    expect(third.warnings).toBe(0);
    expect(third.new_bytes).toBeLessThan(600 * KiB);
    await restoreAndCompare('edited');
  }, 120_000);

  it('a restore into existing small files keeps those it restored before and refuses, by name, one that differs', async () => {
    const target = join(work, 'restore-edited');
    await fs.writeFile(join(target, 'src', 'd3', 'sub0', 'leaf', 'f2.txt'), 'changed in the target\n');
    const r = await sinki(['restore', 'latest', target], { store });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/f2\.txt: exists and differs/), 'sinki: 1 entries could not be restored']);
    expect(r.stdout).toMatch(/already there, kept/);
    const partial = await run('find', [target, '-name', '*.sinki-partial']);
    expect(partial.stdout).toBe('');
  }, 120_000);
});
