import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneErrorLine, initStore, lsEntries, run, sinki, sinkiOk } from '../helpers/cli.js';
import { pseudoRandomBytes } from '../helpers/files.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const isRoot = process.getuid?.() === 0;

/*
 * The rule: an error reading a source is a warning (the entry is left out, the backup goes on and
 * exits 3); an error from the store ends the backup. Files up to 256 KiB and larger ones are read by
 * different code (whole and synchronously, or in pieces), so both are tried.
 * Source errors mid-read on a large file: test/fuse/source-read-errors.test.ts.
 */
describe('errors during a backup: the source is a warning, the store is fatal', () => {
  let work: string;
  /** Read-only bind mounts this file made; always unmounted in afterAll. */
  const binds: string[] = [];

  beforeAll(async () => {
    work = await tempDir('read-errors');
  });

  afterAll(async () => {
    for (const dir of binds) if ((await run('umount', [dir])).code !== 0) await run('umount', ['-l', dir]);
    await removeTempDirs();
  });

  it('a source whose read fails (/proc/self/mem: EIO at offset 0) is a warning naming it; the other source is saved; exit 3', async () => {
    const store = join(work, 'store-proc');
    await initStore(store);
    const fine = join(work, 'fine');
    await fs.mkdir(fine);
    await fs.writeFile(join(fine, 'a.txt'), 'still here\n');

    const r = await sinki(['backup', fine, '/proc/self/mem'], { store });
    expect(r.code).toBe(3);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^sinki: warning: \/proc\/self\/mem: cannot read: EIO/),
      expect.stringMatching(/^sinki: 1 entries could not be read/),
    ]);
    const paths = lsEntries((await sinkiOk(['ls', 'latest', '--json'], { store })).stdout).map((e) => e.path);
    expect(paths.sort()).toEqual(['/fine', '/fine/a.txt']);
  });

  /** A store whose packs/00 … packs/ff are files, not folders: every pack write fails (EEXIST), an error the backend passes on as it is. */
  async function storeThatCannotWritePacks(name: string): Promise<string> {
    const store = join(work, name);
    await initStore(store, ['--pack-size', '1M']);
    await fs.mkdir(join(store, 'packs'), { recursive: true });
    for (let i = 0; i < 256; i++) await fs.writeFile(join(store, 'packs', i.toString(16).padStart(2, '0')), '');
    return store;
  }

  /** A store whose packs/ folder is a read-only bind mount (needs root): every pack write fails with EROFS. */
  async function storeWithReadOnlyPacks(name: string): Promise<string> {
    const store = join(work, name);
    await initStore(store, ['--pack-size', '1M']);
    const packs = join(store, 'packs');
    await fs.mkdir(packs, { recursive: true });
    const bind = await run('mount', ['--bind', packs, packs]);
    if (bind.code !== 0) throw new Error(`mount --bind failed (the test needs root with CAP_SYS_ADMIN): ${bind.stderr}`);
    binds.push(packs);
    const ro = await run('mount', ['-o', 'remount,bind,ro', packs]);
    if (ro.code !== 0) throw new Error(`remount read-only failed: ${ro.stderr}`);
    return store;
  }

  const cases = [
    // .zip: not compressed, so the 1 MiB packs fill (and are written) while the backup runs
    { what: 'small files (read whole)', files: Array.from({ length: 16 }, (_, i) => ({ name: `small-${i}.zip`, size: 100 * KiB })) },
    { what: 'a large file (read in pieces)', files: [{ name: 'large.zip', size: 4 * MiB }] },
  ];
  for (const { what, files } of cases) {
    const src = `src-${files.length}`;
    const makeSource = async (): Promise<string> => {
      const dir = join(work, src);
      await fs.mkdir(dir, { recursive: true });
      for (const f of files) await fs.writeFile(join(dir, f.name), pseudoRandomBytes(f.name, f.size));
      return dir;
    };

    it(`a store that cannot write its packs (EEXIST) ends a backup of ${what}: exit 1, one line, no warning, no snapshot`, async () => {
      const store = await storeThatCannotWritePacks(`store-eexist-${files.length}`);
      const r = await sinki(['backup', await makeSource()], { store });
      expectOneErrorLine(r, 1, /EEXIST/);
      expect(r.stdout).toBe('');
      expect(await fs.readdir(join(store, 'snapshots')).catch(() => [])).toEqual([]);
    });

    it.skipIf(!isRoot)(`a store whose packs folder is read-only ends a backup of ${what}: exit 1, one line, no warning, no snapshot`, async () => {
      const store = await storeWithReadOnlyPacks(`store-ro-${files.length}`);
      const r = await sinki(['backup', await makeSource()], { store });
      expectOneErrorLine(r, 1, /read-only file system/);
      expect(r.stdout).toBe('');
      expect(await fs.readdir(join(store, 'snapshots')).catch(() => [])).toEqual([]);
    });
  }
});
