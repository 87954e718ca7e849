import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initStore, run, sinkiOk } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { fillLeaving, freeBytes, mountTmpfs, unmountTmpfsAll } from '../helpers/tmpfs.js';
import { packBytes, sha256, sha256File } from '../helpers/files.js';
import { cleanup, makeStore, MiB, mount, readLog, umount } from './harness.js';

/** Writes the whole file and fsyncs it: a commit of the mount. */
async function writeDurably(path: string, data: Buffer): Promise<void> {
  const h = await fs.open(path, 'w');
  await h.writeFile(data);
  await h.sync();
  await h.close();
}

/** A store on a 40 MiB tmpfs (1 MiB chunks and packs) mounted with quick commits: a disk that fills. */
async function mountOnSmallDisk(
  label: string,
): Promise<{ store: { path: string; work: string }; disk: string; mnt: string; m: Awaited<ReturnType<typeof mount>> }> {
  const work = await tempDir(label);
  const disk = join(work, 'disk');
  await mountTmpfs(disk, '40m');
  const store = { path: join(disk, 'store'), work };
  await initStore(store.path, ['--chunk-size', '1M', '--pack-size', '1M']);
  const mnt = join(work, 'mnt');
  const m = await mount(store, mnt, ['--commit-delay', '200ms', '--no-snapshot-on-unmount']);
  return { store, disk, mnt, m };
}

describe('space that frees itself', () => {
  afterAll(async () => {
    await unmountTmpfsAll();
    await cleanup();
  });

  it('rewriting a file over and over, and deleting another, keeps the store near its live size: while mounted and after unmount', async () => {
    const store = await makeStore('space', ['--chunk-size', '1M']);
    const mnt = join(store.work, 'mnt');
    const m = await mount(store, mnt, ['--commit-delay', '200ms', '--no-snapshot-on-unmount']);
    const live = 8 * MiB;
    const big = randomBytes(24 * MiB);
    await writeDurably(join(mnt, 'scratch.bin'), big);
    await fs.rm(join(mnt, 'scratch.bin'));
    let data = Buffer.alloc(0);
    for (let round = 0; round < 12; round++) {
      data = randomBytes(live);
      await writeDurably(join(mnt, 'db.bin'), data);
    }
    // 24 MiB deleted and 11 × 8 MiB overwritten: 120 MiB of garbage without freeing.
    expect(await sha256File(join(mnt, 'db.bin'))).toBe(sha256(data));
    const log = await readLog(mnt);
    expect(log).toMatch(/freed [\d.]+ MiB no longer used/);
    // The round after the last commit may still run: give it the time it takes.
    let mounted = await packBytes(store.path);
    for (let i = 0; i < 100 && mounted > 2 * live; i++) {
      await new Promise((r) => setTimeout(r, 100));
      mounted = await packBytes(store.path);
    }
    expect(mounted).toBeLessThanOrEqual(2 * live);
    await umount(m);
    expect(await packBytes(store.path)).toBeLessThanOrEqual(1.25 * live);
    const check = await sinkiOk(['check', '--read-data'], { store: store.path });
    expect(check.stdout + check.stderr).not.toMatch(/unreferenced|^error:/m);
    const again = await mount(store, mnt);
    expect(await sha256File(join(mnt, 'db.bin'))).toBe(sha256(data));
    await umount(again);
  });

  it('what a snapshot holds is kept, what only the live tree held is freed once it is gone', async () => {
    const store = await makeStore('space-snap', ['--chunk-size', '1M']);
    const mnt = join(store.work, 'mnt');
    const m = await mount(store, mnt, ['--commit-delay', '200ms', '--no-snapshot-on-unmount']);
    const kept = randomBytes(6 * MiB);
    await writeDurably(join(mnt, 'a.bin'), kept);
    await sinkiOk(['snapshot', '--tag', 'keep'], { store: store.path });
    for (let round = 0; round < 4; round++) await writeDurably(join(mnt, 'a.bin'), randomBytes(6 * MiB));
    await umount(m);
    // The snapshot's 6 MiB and the live 6 MiB stay; the three versions in between are gone.
    const bytes = await packBytes(store.path);
    expect(bytes).toBeGreaterThanOrEqual(12 * MiB);
    expect(bytes).toBeLessThanOrEqual(1.25 * 12 * MiB);
    const snap = (await sinkiOk(['snapshots', '--json'], { store: store.path })).stdout;
    const taken = (JSON.parse(snap) as Array<{ id: string; tags: string[]; summary: { files: number; dirs: number; bytes: number } | null }>).find((s) =>
      s.tags.includes('keep'),
    )!;
    // A snapshot the mount took says what it holds (sinki snapshots shows its size).
    expect(taken.summary).toMatchObject({ files: 1, dirs: 0, bytes: 6 * MiB });
    const id = taken.id;
    const target = join(store.work, 'restored');
    await sinkiOk(['restore', id, target], { store: store.path });
    const restored = (await run('find', [target, '-name', 'a.bin'])).stdout.trim();
    expect(await sha256File(restored)).toBe(sha256(kept));
    await sinkiOk(['check', '--read-data'], { store: store.path });
  });

  it('a file deleted while open stays readable through its descriptor while rounds free space around it', async () => {
    const store = await makeStore('space-open', ['--chunk-size', '1M']);
    const mnt = join(store.work, 'mnt');
    const m = await mount(store, mnt, ['--commit-delay', '200ms', '--cache-size', '1M']);
    const kept = randomBytes(6 * MiB);
    const h = await fs.open(join(mnt, 'tmpfile'), 'w+');
    await h.write(kept, 0, kept.length, 0);
    await h.sync();
    await fs.rm(join(mnt, 'tmpfile'));
    for (let round = 0; round < 4; round++) await writeDurably(join(mnt, 'churn.bin'), randomBytes(6 * MiB));
    await new Promise((r) => setTimeout(r, 1500));
    expect(await readLog(mnt)).toMatch(/freed [\d.]+ MiB no longer used/);
    // Past the kernel's page cache, so the read reaches the mount and the store.
    await fs.writeFile('/proc/sys/vm/drop_caches', '3');
    const back = Buffer.alloc(kept.length);
    await h.read(back, 0, back.length, 0);
    expect(sha256(back)).toBe(sha256(kept));
    await h.close();
    await umount(m);
    expect(await packBytes(store.path)).toBeLessThanOrEqual(1.25 * 6 * MiB);
    await sinkiOk(['check', '--read-data'], { store: store.path });
  });

  it('on a full disk, files deleted in the mount give their space back without unmounting', async () => {
    const { store, disk, mnt, m } = await mountOnSmallDisk('space-full');
    for (const name of ['a', 'b', 'c']) await writeDurably(join(mnt, `${name}.bin`), randomBytes(8 * MiB));
    // Nearly full: room for a commit of a few small files, not for another big file. A round the
    // writes started may still free space: top the filler up until the disk stays nearly full.
    let filler = '';
    for (let i = 0; i < 20 && (await freeBytes(disk)) >= MiB; i++) {
      filler = await fillLeaving(disk, 512 * 1024);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(await freeBytes(disk)).toBeLessThan(MiB);
    await fs.rm(join(mnt, 'a.bin'));
    await fs.rm(join(mnt, 'b.bin'));
    await writeDurably(join(mnt, 'note.txt'), Buffer.from('deleted two\n')); // the commit after which a round frees them
    let free = await freeBytes(disk);
    for (let i = 0; i < 100 && free < 12 * MiB; i++) {
      await new Promise((r) => setTimeout(r, 100));
      free = await freeBytes(disk);
    }
    expect(free).toBeGreaterThanOrEqual(12 * MiB);
    const fresh = randomBytes(8 * MiB);
    await writeDurably(join(mnt, 'd.bin'), fresh);
    await umount(m);
    await fs.rm(filler);
    await sinkiOk(['check', '--read-data'], { store: store.path });
    const again = await mount(store, mnt);
    expect(await sha256File(join(mnt, 'd.bin'))).toBe(sha256(fresh));
    expect((await fs.readdir(mnt)).sort()).toEqual(['.snapshots', '.versions', 'c.bin', 'd.bin', 'note.txt']);
    await umount(again);
  });

  it('a pack that a full disk kept from being written does not block later commits: deletes commit, space comes back, later writes land, nothing committed is lost', async () => {
    const { store, disk, mnt, m } = await mountOnSmallDisk('space-enospc');
    const c = randomBytes(8 * MiB);
    for (const [name, data] of [
      ['a.bin', randomBytes(8 * MiB)],
      ['b.bin', randomBytes(8 * MiB)],
      ['c.bin', c],
    ] as const)
      await writeDurably(join(mnt, name), data);
    let filler = '';
    for (let i = 0; i < 20 && (await freeBytes(disk)) >= 256 * 1024; i++) {
      filler = await fillLeaving(disk, 128 * 1024);
      await new Promise((r) => setTimeout(r, 300));
    }
    // 4 MiB more cannot be stored: a pack write fails (in a write, or in the fsync's commit).
    const big = randomBytes(4 * MiB);
    const failed = await writeDurably(join(mnt, 'big.bin'), big).then(
      () => null,
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect(failed).toBe('ENOSPC');
    // Deleting files commits (what is stored), and a round frees their 16 MiB without a remount.
    await fs.rm(join(mnt, 'a.bin'));
    await fs.rm(join(mnt, 'b.bin'));
    let free = await freeBytes(disk);
    for (let i = 0; i < 100 && free < 12 * MiB; i++) {
      await new Promise((r) => setTimeout(r, 100));
      free = await freeBytes(disk);
    }
    expect(free, await readLog(mnt)).toBeGreaterThanOrEqual(12 * MiB);
    expect(await readLog(mnt)).toMatch(/no space left on device.*: committing what is stored \(deletes included\)/i);
    // Writes land again, and whatever of big.bin the mount shows is what survives the remount.
    const fresh = randomBytes(4 * MiB);
    await writeDurably(join(mnt, 'd.bin'), fresh);
    const bigNow = await sha256File(join(mnt, 'big.bin'));
    await umount(m);
    await fs.rm(filler);
    await sinkiOk(['check', '--read-data'], { store: store.path });
    const again = await mount(store, mnt);
    expect((await fs.readdir(mnt)).sort()).toEqual(['.snapshots', '.versions', 'big.bin', 'c.bin', 'd.bin']);
    expect(await sha256File(join(mnt, 'c.bin'))).toBe(sha256(c));
    expect(await sha256File(join(mnt, 'd.bin'))).toBe(sha256(fresh));
    expect(await sha256File(join(mnt, 'big.bin'))).toBe(bigNow);
    await umount(again);
  });
});
