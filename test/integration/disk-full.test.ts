import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneErrorLine, initStore, run, sinki, sinkiOk } from '../helpers/cli.js';
import { bytesDigest, pseudoRandomBytes, walk } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;

/** A 6 MiB tmpfs as the store's disk (needs root); always unmounted in afterAll. */
describe.skipIf(!isRoot)('a full disk', () => {
  let work: string;
  let mountPoint: string;
  let mounted = false;
  let store: string;
  let src: string;
  const early = pseudoRandomBytes('fits', 512 * 1024);

  beforeAll(async () => {
    work = await tempDir('disk-full');
    mountPoint = join(work, 'small-disk');
    await fs.mkdir(mountPoint);
    const m = await run('mount', ['-t', 'tmpfs', '-o', 'size=6m,mode=0700', 'tmpfs', mountPoint]);
    if (m.code !== 0) throw new Error(`cannot mount a tmpfs (the test needs root with CAP_SYS_ADMIN): ${m.stderr}`);
    mounted = true;
    store = join(mountPoint, 'store');
    src = join(work, 'src');
    await fs.mkdir(src);
    // small packs, so that some of them land before the disk fills up
    await initStore(store, ['--pack-size', '1M']);
    await fs.writeFile(join(src, 'early.bin'), early);
    await sinkiOk(['backup', src], { store });
  });

  afterAll(async () => {
    if (mounted) {
      const u = await run('umount', [mountPoint]);
      if (u.code !== 0) await run('umount', ['-l', mountPoint]);
    }
    await removeTempDirs();
  });

  it('backup exits 16 with one line about space; the store still opens, checks clean and restores the earlier snapshot', async () => {
    // ~20 MiB that does not compress (no-compress extension: xz is skipped, which keeps the test fast)
    const big = join(src, 'big.zip');
    const handle = await fs.open(big, 'w');
    for (let i = 0; i < 20; i++) await handle.write(pseudoRandomBytes(`big-${i}`, MiB));
    await handle.close();

    const full = await sinki(['backup', src], { store });
    expectOneErrorLine(full, 16, /no space left on device/);

    // Nothing half-written is left where sinki could trip over it, and the lock is gone.
    const leftovers = (await walk(store)).map((e) => e.rel).filter((p) => /(^|\/)\.tmp-/.test(p));
    expect(leftovers).toEqual([]);
    expect(await fs.readdir(join(store, 'locks'))).toEqual([]);

    const snaps = JSON.parse((await sinkiOk(['snapshots', '--json'], { store })).stdout) as unknown[];
    expect(snaps).toHaveLength(1);

    for (const args of [['check'], ['check', '--read-data']]) {
      const check = await sinki(args, { store });
      expect({ code: check.code, stdout: check.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^no errors were found/) });
      expect(check.stderr).not.toMatch(/^error:/m);
    }

    const target = join(work, 'restored');
    await sinkiOk(['restore', 'latest', target], { store });
    expect((await walk(target)).map((e) => e.rel)).toEqual(['src', 'src/early.bin']);
    expect(bytesDigest(await fs.readFile(join(target, 'src', 'early.bin')))).toEqual(bytesDigest(early));
  });
});
