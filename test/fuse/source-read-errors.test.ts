import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initStore, lsEntries, sinki, sinkiOk } from '../helpers/cli.js';
import { listPacks, pseudoRandomBytes } from '../helpers/files.js';
import { cleanup, errCode, makeStore, mount, MiB, umount, type Mounted, type Store } from './harness.js';

/*
 * Sources that fail part-way through, for real: a sinki mount of a store with a damaged pack answers
 * EIO for the damaged chunks. Backing that mount up must warn about each file it cannot read, keep
 * the rest, and exit 3 — for a small file (read whole) and a large one that fails after its first
 * MiB (read in pieces). Store errors: test/integration/read-errors.test.ts.
 */
describe('backing up files that fail mid-read (a mount of a damaged store)', () => {
  let damaged: Store;
  let mnt: string;
  let m: Mounted;
  const small = pseudoRandomBytes('small', 100_000);
  const large = pseudoRandomBytes('large', 4 * MiB);

  beforeAll(async () => {
    damaged = await makeStore('source-errors', ['--chunk-size', '1M']);
    mnt = join(damaged.work, 'mnt');
    // One mount session per state; `at` is a byte to flip in each pack it added that is that long
    // (its data packs: a small store's mount writes a pack per chunk; null: leave them whole).
    // .zip is not compressed, so a file's chunks fill most of their pack.
    const session = async (write: () => Promise<void>, at: number | null): Promise<void> => {
      const before = await listPacks(damaged.path).catch(() => [] as string[]);
      m = await mount(damaged, mnt, ['--no-snapshot-on-unmount']);
      await write();
      await umount(m);
      const added = (await listPacks(damaged.path)).filter((p) => !before.includes(p));
      expect(added.length).toBeGreaterThan(0);
      if (at === null) return;
      let flipped = 0;
      for (const pack of added) {
        const file = join(damaged.path, pack);
        const bytes = await fs.readFile(file);
        if (bytes.length <= at) continue;
        bytes[at] = bytes[at]! ^ 0x01;
        await fs.chmod(file, 0o600);
        await fs.writeFile(file, bytes);
        flipped += 1;
      }
      expect(flipped).toBeGreaterThan(0);
    };
    await session(() => fs.writeFile(join(mnt, 'small.zip'), small), 50_000);
    // large.zip's first MiB (one whole chunk) in a sound pack, the other 3 MiB appended into a damaged one.
    await session(async () => {
      await fs.writeFile(join(mnt, 'large.zip'), large.subarray(0, MiB));
      await fs.writeFile(join(mnt, 'fine.txt'), 'unharmed\n');
    }, null);
    await session(() => fs.appendFile(join(mnt, 'large.zip'), large.subarray(MiB)), 500_000);
    m = await mount(damaged, mnt);
  });

  afterAll(cleanup);

  it('the mount fails small.zip at once and large.zip only past its first MiB', async () => {
    expect(await errCode(fs.readFile(join(mnt, 'small.zip')))).toBe('EIO');
    const fh = await fs.open(join(mnt, 'large.zip'));
    const head = Buffer.alloc(MiB);
    expect((await fh.read(head, 0, MiB, 0)).bytesRead).toBe(MiB);
    expect(head.equals(large.subarray(0, MiB))).toBe(true);
    await fh.close();
    expect(await errCode(fs.readFile(join(mnt, 'large.zip')))).toBe('EIO');
  });

  it('backup warns about each, saves the rest and exits 3', async () => {
    const store = join(damaged.work, 'backup-store');
    await initStore(store);
    const r = await sinki(['backup', mnt, '--exclude', '.snapshots', '--exclude', '.versions'], { store });
    expect(r.code).toBe(3);
    expect(r.stderr.trimEnd().split('\n').sort()).toEqual([
      expect.stringMatching(/^sinki: 2 entries could not be read/),
      `sinki: warning: ${join(mnt, 'large.zip')}: read failed: EIO: i/o error, read`,
      `sinki: warning: ${join(mnt, 'small.zip')}: cannot read: EIO: i/o error, read`,
    ]);
    const files = lsEntries((await sinkiOk(['ls', 'latest', '--json'], { store })).stdout).filter((e) => e.type === 'file');
    expect(files.map((e) => e.path)).toEqual(['/mnt/fine.txt']);
    await umount(m);
  });
});
