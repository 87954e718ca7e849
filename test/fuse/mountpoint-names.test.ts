import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountAt, readMountTable } from '../../src/sys/mounts.js';
import { expectOneErrorLine, sinki, sinkiOk } from '../helpers/cli.js';
import { cleanup, isMounted, makeStore, mount, umount } from './harness.js';

// /proc/mounts writes a space, tab and backslash in a mountpoint as \040, \011 and \134: sinki must
// still find its mount there (to refuse a second one, to unmount it), and unmount without a shell.
describe('a mountpoint whose name holds a space, a tab and a backslash', () => {
  afterAll(cleanup);

  it('mounts, lists, refuses a second mount there, and `sinki umount` unmounts it', async () => {
    const store = await makeStore('odd-names');
    const mnt = join(store.work, 'odd name\twith\\backslash and $HOME');
    const m = await mount(store, mnt);
    expect(mountAt(await readMountTable(), mnt)?.fstype).toMatch(/^fuse/);

    await fs.writeFile(join(mnt, 'hello.txt'), 'hello\n');
    expect(await fs.readdir(mnt)).toContain('hello.txt');
    expect(await fs.readFile(join(mnt, 'hello.txt'), 'utf8')).toBe('hello\n');

    expectOneErrorLine(await sinki(['mount', mnt, '--background'], { store: store.path }), 2, /something is already mounted at /);

    const r = await umount(m);
    expect(r.stdout).toBe(`unmounted ${mnt}\n`);
    expect(await isMounted(mnt)).toBe(false);
    expect((await sinkiOk(['ls', 'latest'], { store: store.path })).stdout).toMatch(/hello\.txt/);
    expectOneErrorLine(await sinki(['umount', mnt]), 14, /nothing is mounted at /);
  });
});
