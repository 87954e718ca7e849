import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, sinki } from '../helpers/cli.js';
import { cleanup, forgetMount, isMounted, KiB, makeStore, mount, mountLog, readLog, umount, waitForExit, type Store } from './harness.js';

/** Self-reported memory of a process, in bytes. */
async function rssBytes(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * KiB;
}

const SMALL_FILES = `
const fs = require('node:fs');
const [dir, count, prefix] = [process.argv[1], Number(process.argv[2]), process.argv[3]];
const data = Buffer.alloc(1000, prefix);
for (let i = 0; i < count; i++) { data.writeUInt32LE(i); fs.writeFileSync(dir + '/' + prefix + i, data); }`;

describe('sinki mount and umount on the command line', () => {
  let store: Store;

  beforeAll(async () => {
    store = await makeStore('cli');
  });

  afterAll(cleanup);

  it('a mountpoint given with a trailing slash mounts, and the --background log goes beside it', async () => {
    const mnt = join(store.work, 'slash');
    const m = await mount(store, `${mnt}/`);
    expect(m.stdout).toContain(`log ${mountLog(mnt)}`);
    expect((await fs.readdir(mnt)).sort()).toEqual(['.snapshots', '.versions']);
    await umount(m);
    expect(await fs.readdir(mnt)).toEqual([]);
  });

  it("unmounted from outside (fusermount -u, a file manager's eject): the mount process commits, snapshots and exits", async () => {
    const mnt = join(store.work, 'outside');
    const m = await mount(store, mnt);
    await fs.writeFile(join(mnt, 'written-before-eject.txt'), 'kept\n');
    expect((await run('fusermount', ['-u', mnt])).code).toBe(0);
    await waitForExit(m.pid);
    forgetMount(m);
    expect(await readLog(mnt)).toMatch(/unmounted from outside; committing and exiting/);
    const ls = await sinki(['ls', 'latest'], { store: store.path });
    expect(ls.stdout).toContain('/written-before-eject.txt');
  });

  it('a non-empty mountpoint is refused with a clear usage error, and left as it was', async () => {
    const mnt = join(store.work, 'full');
    await fs.mkdir(mnt);
    await fs.writeFile(join(mnt, 'mine.txt'), 'x');
    for (const bg of [[], ['--background']]) {
      const r = await sinki(['mount', mnt, ...bg], { store: store.path });
      expect({ code: r.code, stderr: r.stderr.trim() }).toEqual({ code: 2, stderr: expect.stringMatching(/^sinki: mountpoint .*full is not empty$/) });
      expect(await isMounted(mnt)).toBe(false);
      expect(await fs.readdir(mnt)).toEqual(['mine.txt']);
    }
  });

  it('a second mount of the same folder or the same store read-write is refused', async () => {
    const mnt = join(store.work, 'once');
    const other = join(store.work, 'twice');
    await fs.mkdir(other);
    const m = await mount(store, mnt);
    const same = await sinki(['mount', mnt, '--background'], { store: store.path });
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/already mounted at/);
    const again = await sinki(['mount', other, '--background'], { store: store.path });
    expect(again.code).toBe(11);
    expect(again.stderr).toMatch(
      new RegExp(
        `^sinki: store is locked by mount, read-write on the live tree \\(pid ${m.pid} on ${hostname()} since [^)]*\\); if that process is gone, run "sinki unlock"\n$`,
      ),
    );
    expect(await isMounted(other)).toBe(false);
    await umount(m);
    expect((await sinki(['umount', mnt])).stderr).toMatch(/nothing is mounted at/);
  });

  // Regression: a sealed short chunk was a view of its whole chunk-size buffer (4 MiB), so each
  // small file pinned 4 MiB in the chunk cache and the packer's pending map (800 files: ~900 MB).
  it('many small files keep the mount process small', async () => {
    const mnt = join(store.work, 'small');
    const m = await mount(store, mnt, ['--write-buffer', '8M', '--commit-delay', '100ms']);
    await fs.mkdir(join(mnt, 'many'));
    for (const batch of ['a', 'b', 'c', 'd']) {
      const r = await run(process.execPath, ['-e', SMALL_FILES, join(mnt, 'many'), '200', batch]);
      expect(r.stderr).toBe('');
      await new Promise((res) => setTimeout(res, 300)); // let a commit run in between
    }
    expect(await rssBytes(m.pid)).toBeLessThan(400 * 1024 * KiB);
    expect((await fs.readdir(join(mnt, 'many'))).length).toBe(800);
    await umount(m);
  });
});
