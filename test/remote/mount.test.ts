/*
 * A read-only mount of a store on a WebDAV remote: one large file among other data reads back
 * correctly while the remote sends only about that file's packed bytes (measured at the WebDAV
 * server: /proc/PID/io wchar), and the mount refuses writes with EROFS.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesBelow, bytesWritten, childPids, isAlive, MiB, randomData, RemoteLab, sha256, type Served } from './harness.js';

const LARGE = 20 * MiB;
let lab: RemoteLab;
let webdav: Served;
let mnt: string;
let mountPid: number;
let storeBytes: number;
let cacheDir: string;

beforeAll(async () => {
  lab = await RemoteLab.create('mount');
  webdav = await lab.webdav('w');
  const store = await lab.store('store');
  const src = await lab.dir('src');
  // Sorted around the large file, so its first and last packs hold other files' blobs too.
  await fs.writeFile(join(src, 'a-before.jpg'), randomData('before', 10 * MiB));
  await fs.writeFile(join(src, 'large.mp4'), randomData('large', LARGE));
  await fs.writeFile(join(src, 'z-after.jpg'), randomData('after', 10 * MiB));
  await lab.sinkiOk(['backup', src], { store });
  await lab.sinkiOk(['push', 'w:store'], { store });
  storeBytes = await bytesBelow(join(webdav.dir, 'store'));
  cacheDir = await lab.dir('range-cache');
  mnt = join(lab.root, 'mnt');
  mountPid = await lab.mount('rclone:w:store', mnt, { globals: ['--cache-dir', cacheDir], flags: ['--cache-size', '8M'] });
}, 120_000);

afterAll(async () => {
  await lab?.close();
});

describe('a mount of a remote store', () => {
  it('reads one large file correctly, fetching little more than its packed size', async () => {
    const [snapshot] = await fs.readdir(join(mnt, '.snapshots'));
    const file = join(mnt, '.snapshots', snapshot!, 'src', 'large.mp4');
    const before = bytesWritten(webdav.pid);
    const data = await fs.readFile(file);
    const sent = bytesWritten(webdav.pid) - before;
    expect({ length: data.length, sha256: sha256(data) }).toEqual({ length: LARGE, sha256: sha256(randomData('large', LARGE)) });
    expect(storeBytes).toBeGreaterThan(40 * MiB);
    expect(sent).toBeGreaterThan(LARGE);
    expect(sent).toBeLessThanOrEqual(1.1 * LARGE);
    // The ciphertext cache holds exactly the ranges fetched (plus what opening the store read).
    const cached = await bytesBelow(cacheDir);
    expect(cached).toBeGreaterThan(LARGE);
    expect(cached).toBeLessThanOrEqual(1.1 * LARGE);
  });

  it('reads it again from the local cache, not the remote', async () => {
    const [snapshot] = await fs.readdir(join(mnt, '.snapshots'));
    const file = join(mnt, '.snapshots', snapshot!, 'src', 'large.mp4');
    const before = bytesWritten(webdav.pid);
    expect(sha256(await fs.readFile(file))).toBe(sha256(randomData('large', LARGE)));
    expect(bytesWritten(webdav.pid) - before).toBeLessThan(1 * MiB);
  });

  it('refuses writes with EROFS', async () => {
    const [snapshot] = await fs.readdir(join(mnt, '.snapshots'));
    const code = (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => 'ok',
        (e: NodeJS.ErrnoException) => e.code ?? String(e),
      );
    expect(await code(fs.writeFile(join(mnt, 'new.txt'), 'x'))).toBe('EROFS');
    expect(await code(fs.mkdir(join(mnt, 'dir')))).toBe('EROFS');
    expect(await code(fs.writeFile(join(mnt, '.snapshots', snapshot!, 'src', 'large.mp4'), 'x'))).toBe('EROFS');
  });

  it('stops its rclone server when unmounted', async () => {
    const servers = childPids(mountPid);
    expect(servers.length).toBeGreaterThan(0);
    await lab.umount(mnt);
    for (const pid of servers) expect(isAlive(pid)).toBe(false);
  });
});
