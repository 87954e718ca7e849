import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initStore, jsonLine, run, sinkiOk } from '../helpers/cli.js';
import { bytesDigest, listPacks, pseudoRandomBytes } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const MiB = 1024 * 1024;

interface Summary {
  snapshot_id: string;
  parent: string | null;
  files: number;
  files_new: number;
  files_changed: number;
  files_unchanged: number;
  new_bytes: number;
  packs_written: number;
  warnings: number;
}

interface SnapshotJson {
  id: string;
  parent: string | null;
  summary: { packsWritten: number } | null;
}

describe('incremental backups', () => {
  let work: string;
  let store: string;
  let src: string;
  const backup = async (): Promise<Summary> => jsonLine<Summary>((await sinkiOk(['backup', '--json', src], { store })).stdout, 'summary');

  beforeAll(async () => {
    work = await tempDir('incremental');
    store = join(work, 'store');
    src = join(work, 'src');
    await fs.mkdir(join(src, 'docs'), { recursive: true });
    await fs.writeFile(join(src, 'random.bin'), pseudoRandomBytes('incremental', 3 * MiB));
    await fs.writeFile(join(src, 'docs', 'small.txt'), 'version 1\n'.repeat(100));
    await fs.writeFile(join(src, 'docs', 'other.txt'), 'unchanged\n'.repeat(100));
    await initStore(store);
  });

  afterAll(removeTempDirs);

  it('writes no pack for an unchanged tree, only the changed data after an edit, and records the parent', async () => {
    const first = await backup();
    expect(first).toMatchObject({ parent: null, files: 3, files_new: 3, files_changed: 0, files_unchanged: 0, warnings: 0 });
    expect(first.packs_written).toBeGreaterThan(0);
    expect(first.new_bytes).toBeGreaterThanOrEqual(3 * MiB);
    const packsAfterFirst = await listPacks(store);
    expect(packsAfterFirst).toHaveLength(first.packs_written);

    const second = await backup();
    expect(second).toMatchObject({ parent: first.snapshot_id, packs_written: 0, new_bytes: 0, files: 3, files_new: 0, files_changed: 0, files_unchanged: 3 });
    expect(await listPacks(store)).toEqual(packsAfterFirst);

    // Change one small file: its new bytes (and the trees above it) are written, not random.bin again.
    const edited = 'version 2\n'.repeat(100);
    await fs.writeFile(join(src, 'docs', 'small.txt'), edited);
    await fs.writeFile(join(src, 'docs', 'added.txt'), 'new\n');
    const third = await backup();
    expect(third.parent).toBe(second.snapshot_id);
    expect(third).toMatchObject({ files: 4, files_new: 1, files_changed: 1, files_unchanged: 2 });
    expect(third.packs_written).toBe(1);
    expect(third.new_bytes).toBeGreaterThanOrEqual(edited.length);
    expect(third.new_bytes).toBeLessThan(edited.length + 16 * 1024); // the file plus three small trees
    const packsAfterThird = await listPacks(store);
    expect(packsAfterThird).toHaveLength(packsAfterFirst.length + 1);
    expect(packsAfterThird).toEqual(expect.arrayContaining(packsAfterFirst));

    // Change a few bytes in the middle of the big file: content-defined chunks around it are new, the rest reused.
    const big = await fs.readFile(join(src, 'random.bin'));
    big.write('a small edit', Math.floor(big.length / 2));
    await fs.writeFile(join(src, 'random.bin'), big);
    const fourth = await backup();
    expect(fourth.parent).toBe(third.snapshot_id);
    expect(fourth.new_bytes).toBeGreaterThan(0);
    expect(fourth.new_bytes).toBeLessThan(big.length * 0.75);

    const snaps = JSON.parse((await sinkiOk(['snapshots', '--json'], { store })).stdout) as SnapshotJson[];
    expect(snaps.map((s) => [s.id, s.parent])).toEqual([
      [first.snapshot_id, null],
      [second.snapshot_id, first.snapshot_id],
      [third.snapshot_id, second.snapshot_id],
      [fourth.snapshot_id, third.snapshot_id],
    ]);
    // The summary in words, as a person reads it.
    const text = await sinkiOk(['backup', src], { store });
    expect(text.stdout).toMatch(/^ {2}files: 0 new, 0 changed, 4 unchanged$/m);

    // Every snapshot still restores to what was backed up then.
    const target = join(work, 'restore-second');
    await sinkiOk(['restore', second.snapshot_id, target], { store });
    expect(await fs.readFile(join(target, 'src', 'docs', 'small.txt'), 'utf8')).toBe('version 1\n'.repeat(100));
    expect(bytesDigest(await fs.readFile(join(target, 'src', 'random.bin')))).toEqual(bytesDigest(pseudoRandomBytes('incremental', 3 * MiB)));
    const latest = join(work, 'restore-latest');
    await sinkiOk(['restore', 'latest', latest], { store });
    expect((await run('diff', ['-r', src, join(latest, 'src')])).code).toBe(0);
    expect((await sinkiOk(['check', '--read-data'], { store })).stdout).toMatch(/^no errors were found/);
  });

  it('--force re-reads every file but still stores nothing twice', async () => {
    const forced = jsonLine<Summary>((await sinkiOk(['backup', '--json', '--force', src], { store })).stdout, 'summary');
    expect(forced).toMatchObject({ parent: null, new_bytes: 0, packs_written: 0 });
  });
});
