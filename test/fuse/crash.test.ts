import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, sinki, sinkiOk } from '../helpers/cli.js';
import { listPacks, pseudoRandomBytes, sha256, sha256File } from '../helpers/files.js';
import { cleanup, errCode, isMounted, makeStore, MiB, mount, readLog, umount, waitFor, waitForExit } from './harness.js';

/** Copies each [from, to] and fsyncs the copy, like an application that wants its data durable. */
const FSYNC_WRITER = `
const fs = require('node:fs');
for (const [from, to] of JSON.parse(process.argv[1])) {
  const fd = fs.openSync(to, 'w');
  fs.writeSync(fd, fs.readFileSync(from));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}`;

/** The atomic save: write a temp file, fsync it, rename it over the target, fsync the directory. */
const ATOMIC_SAVE = `
const fs = require('node:fs');
const [dir, name, text] = process.argv.slice(1);
const fd = fs.openSync(dir + '/' + name + '.tmp', 'w');
fs.writeSync(fd, text);
fs.fsyncSync(fd);
fs.closeSync(fd);
fs.renameSync(dir + '/' + name + '.tmp', dir + '/' + name);
const dirFd = fs.openSync(dir, 'r');
fs.fsyncSync(dirFd);
fs.closeSync(dirFd);`;

describe('kill -9 of the mount process', () => {
  afterAll(cleanup);

  it('keeps every fsynced file; the stale mountpoint is cleared by the next mount; check finds no errors', async () => {
    const store = await makeStore('crash', ['--chunk-size', '64K', '--pack-size', '1M']);
    const mnt = join(store.work, 'mnt');
    const m = await mount(store, mnt, ['--commit-delay', '60s']);

    const files = new Map<string, Buffer>([
      ['synced/one.bin', pseudoRandomBytes('crash-1', 150_000)],
      ['synced/two.txt', Buffer.from('fsynced text\n'.repeat(5000))],
      ['synced/empty', Buffer.alloc(0)],
    ]);
    await fs.mkdir(join(mnt, 'synced'));
    const pairs: Array<[string, string]> = [];
    for (const [path, data] of files) {
      const local = join(store.work, path.replace('/', '-'));
      await fs.writeFile(local, data);
      pairs.push([local, join(mnt, path)]);
    }
    const w = await run(process.execPath, ['-e', FSYNC_WRITER, JSON.stringify(pairs)]);
    expect(w.stderr).toBe('');
    expect(w.code).toBe(0);
    const ddData = pseudoRandomBytes('crash-dd', 300_000);
    await fs.writeFile(join(store.work, 'dd-src'), ddData);
    expect((await run('dd', [`if=${join(store.work, 'dd-src')}`, `of=${join(mnt, 'synced/dd.bin')}`, 'bs=64k', 'conv=fsync', 'status=none'])).code).toBe(0);
    files.set('synced/dd.bin', ddData);
    // Regression: fsync of a directory was answered by the kernel (no fsyncdir op), so the rename
    // was lost in the crash and config.tmp came back instead.
    const save = await run(process.execPath, ['-e', ATOMIC_SAVE, join(mnt, 'synced'), 'config', 'saved atomically']);
    expect(save.stderr).toBe('');
    files.set('synced/config', Buffer.from('saved atomically'));

    // Unsynced data big enough to fill packs: they reach the disk, the index never names them.
    const packsBefore = (await listPacks(store.path)).length;
    const fh = await fs.open(join(mnt, 'unsynced.zip'), 'w');
    await fh.write(pseudoRandomBytes('crash-unsynced', 3 * MiB));
    await waitFor('a pack written for the unsynced file', async () => (await listPacks(store.path)).length > packsBefore);

    process.kill(m.pid, 'SIGKILL');
    await waitForExit(m.pid);
    await fh.close().catch(() => undefined);
    expect(await errCode(fs.stat(mnt))).toBe('ENOTCONN');
    expect(await isMounted(mnt)).toBe(true);

    const again = await mount(store, mnt);
    expect(await readLog(mnt)).toMatch(/found a stale mount at .*mnt \(its process died\); clearing it/);
    for (const [path, data] of files) expect(await sha256File(join(mnt, path)), path).toBe(sha256(data));
    expect((await fs.readdir(join(mnt, 'synced'))).sort()).toEqual(['config', 'dd.bin', 'empty', 'one.bin', 'two.txt']);
    await umount(again);

    const check = await sinki(['check', '--read-data'], { store: store.path });
    expect(check.stdout).toMatch(/^no errors were found \(.*unreferenced \(garbage for prune\)/m);
    expect(check.stderr).toMatch(/^note: pack [0-9a-f]{64}: not in the index/m);
    expect(check.stderr).not.toMatch(/error|damaged|missing/i);
    expect(check.code).toBe(0);
  });

  it('`sinki umount` clears a stale mount too, with a message saying so', async () => {
    const store = await makeStore('crash-umount');
    const mnt = join(store.work, 'mnt');
    const m = await mount(store, mnt);
    process.kill(m.pid, 'SIGKILL');
    await waitForExit(m.pid);
    expect(await errCode(fs.stat(mnt))).toBe('ENOTCONN');
    const r = await sinkiOk(['umount', mnt]);
    expect(r.stdout).toMatch(/cleared the stale mount at .*\(its process had died/);
    expect(await isMounted(mnt)).toBe(false);
    expect(await fs.readdir(mnt)).toEqual([]);
  });
});
