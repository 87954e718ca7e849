import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';
import { pseudoRandomBytes, sha256, sha256File } from '../helpers/files.js';
import { cleanup, expectSameTree, genDataset, listing, makeStore, MiB, mount, umount, type Mounted, type Store } from './harness.js';

/** Ordinary tools against a mount of a store with the default 4 MiB split size. */
describe('cp, diff, rsync and sha256 through the mount', () => {
  let store: Store;
  let src: string;
  let mnt: string;
  let m: Mounted;
  const big = pseudoRandomBytes('fuse-big', 20 * MiB + 12345);

  beforeAll(async () => {
    store = await makeStore('copy');
    src = join(store.work, 'src');
    mnt = join(store.work, 'mnt');
    await genDataset(src, '8M', 7);
    m = await mount(store, mnt);
  });

  afterAll(cleanup);

  it('cp -a copies a generated tree that diff -r finds identical (contents, modes, symlinks incl. the bin/X11 loop)', async () => {
    const cp = await run('cp', ['-a', src, join(mnt, 'cp')]);
    expect(cp.stderr).toBe('');
    expect(cp.code).toBe(0);
    expect(await fs.readlink(join(mnt, 'cp/bin/X11'))).toBe('.');
    await expectSameTree(src, join(mnt, 'cp'));
  });

  it('rsync -a --checksum twice: the second run transfers nothing', async () => {
    const stats = async (): Promise<string> => {
      const r = await run('rsync', ['-a', '--checksum', '--stats', `${src}/`, `${mnt}/rsync/`]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return r.stdout;
    };
    const files = (await listing(src)).filter((l) => l.split('\t')[1] === 'f').length;
    expect(await stats()).toMatch(new RegExp(`Number of regular files transferred: ${files}\\b`));
    const second = await stats();
    expect(second).toMatch(/Number of regular files transferred: 0\b/);
    expect(second).toMatch(/Total transferred file size: 0 bytes/);
    await expectSameTree(src, join(mnt, 'rsync'));
  });

  it('a file of several chunks reads back with the same SHA-256, also after unmount and remount', async () => {
    // .zip is on the no-compress list: xz on 20 MiB of random bytes would only cost time here.
    const local = join(store.work, 'big.zip');
    await fs.writeFile(local, big);
    expect((await run('cp', [local, join(mnt, 'big.zip')])).code).toBe(0);
    expect(await sha256File(join(mnt, 'big.zip'))).toBe(sha256(big));
    // Reads that straddle the 4 MiB chunk boundaries.
    const fh = await fs.open(join(mnt, 'big.zip'));
    for (const at of [4 * MiB - 7, 8 * MiB - 65536, 20 * MiB - 1]) {
      const part = Buffer.alloc(200_000);
      const { bytesRead } = await fh.read(part, 0, part.length, at);
      expect(part.subarray(0, bytesRead).equals(big.subarray(at, at + part.length))).toBe(true);
    }
    await fh.close();
  });

  it('after unmount and remount the tree, the rsync copy and the big file are the same', async () => {
    await umount(m);
    m = await mount(store, mnt);
    await expectSameTree(src, join(mnt, 'cp'));
    await expectSameTree(src, join(mnt, 'rsync'));
    expect(await sha256File(join(mnt, 'big.zip'))).toBe(sha256(big));
    const r = await run('sha256sum', [join(mnt, 'big.zip')]);
    expect(r.stdout.split(' ')[0]).toBe(sha256(big));
    await umount(m);
  });

  // Needs the fuse-native built by native-deps/build-fuse-native-patched.sh: 2.2.6 hands the
  // access time to JavaScript twice (utimens), so the shipped module records the atime as mtime,
  // and cuts every time to milliseconds.
  it('cp -a keeps modification times to the nanosecond', async () => {
    m = await mount(store, mnt);
    expect(await listing(join(mnt, 'cp'), { mtimes: true })).toEqual(await listing(src, { mtimes: true }));
  });
});
