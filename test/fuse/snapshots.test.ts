import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, sinkiOk } from '../helpers/cli.js';
import { cleanup, errCode, listing, makeStore, mount, umount, type Mounted, type Store } from './harness.js';

interface SnapshotJson {
  id: string;
  time: string;
  tags: string[];
}

describe('snapshots of the live tree, /.snapshots and read-only mounts', () => {
  let store: Store;
  let mnt: string;
  let m: Mounted;
  let tagged: SnapshotJson;
  let snapDir: string;
  const at = (...p: string[]): string => join(mnt, ...p);

  const snapshots = async (): Promise<SnapshotJson[]> => JSON.parse((await sinkiOk(['snapshots', '--json'], { store: store.path })).stdout) as SnapshotJson[];

  beforeAll(async () => {
    store = await makeStore('snap', ['--chunk-size', '64K']);
    mnt = join(store.work, 'mnt');
    m = await mount(store, mnt);
    await fs.mkdir(at('docs/old'), { recursive: true });
    await fs.writeFile(at('docs/a.txt'), 'version 1\n');
    await fs.writeFile(at('docs/old/b.txt'), 'to be deleted\n');
    await fs.writeFile(at('big.bin'), Buffer.alloc(200_000, 1));
    await fs.symlink('docs/a.txt', at('link'));
  });

  afterAll(cleanup);

  it('`sinki snapshot --tag x` while mounted saves a snapshot of what the mount shows', async () => {
    const r = await sinkiOk(['snapshot', '--tag', 'x'], { store: store.path });
    expect(r.stdout).toMatch(/^snapshot [0-9a-f]{12} saved \(taken by the running mount\)$/m);
    const all = await snapshots();
    expect(all).toHaveLength(1);
    tagged = all[0]!;
    expect(tagged.tags).toEqual(['x']);
    expect(r.stdout).toContain(tagged.id.slice(0, 12));
    const names = await fs.readdir(at('.snapshots'));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
    snapDir = at('.snapshots', names[0]!);
    expect(await listing(snapDir)).toEqual(await listing(mnt));
  });

  it('/.snapshots/<time>/ keeps what was there at snapshot time after the live tree changes', async () => {
    await fs.writeFile(at('docs/a.txt'), 'version 2, longer\n');
    await fs.rm(at('docs/old'), { recursive: true });
    await fs.truncate(at('big.bin'), 10);
    await fs.writeFile(at('docs/new.txt'), 'new');
    expect(await fs.readFile(join(snapDir, 'docs/a.txt'), 'utf8')).toBe('version 1\n');
    expect(await fs.readFile(join(snapDir, 'docs/old/b.txt'), 'utf8')).toBe('to be deleted\n');
    expect((await fs.readFile(join(snapDir, 'big.bin'))).equals(Buffer.alloc(200_000, 1))).toBe(true);
    expect(await fs.readlink(join(snapDir, 'link'))).toBe('docs/a.txt');
    expect(await errCode(fs.stat(join(snapDir, 'docs/new.txt')))).toBe('ENOENT');
    expect(await fs.readFile(at('docs/a.txt'), 'utf8')).toBe('version 2, longer\n');
    expect(await errCode(fs.stat(at('docs/old')))).toBe('ENOENT');
  });

  it('writing, creating, deleting, renaming or changing anything under /.snapshots fails with EROFS', async () => {
    const s = (p: string): string => join(snapDir, p);
    const attempts: Record<string, () => Promise<unknown>> = {
      'open for writing': () => fs.open(s('docs/a.txt'), 'r+'),
      'create a file': () => fs.writeFile(s('docs/c.txt'), 'x'),
      truncate: () => fs.truncate(s('docs/a.txt'), 0),
      unlink: () => fs.unlink(s('docs/a.txt')),
      mkdir: () => fs.mkdir(s('docs/d')),
      rmdir: () => fs.rmdir(s('docs/old')),
      'rename inside': () => fs.rename(s('docs/a.txt'), s('docs/z.txt')),
      'rename out of it': () => fs.rename(s('docs/a.txt'), at('stolen.txt')),
      'rename into it': () => fs.rename(at('docs/new.txt'), s('docs/new.txt')),
      symlink: () => fs.symlink('x', s('l2')),
      chmod: () => fs.chmod(s('docs/a.txt'), 0o777),
      utimes: () => fs.utimes(s('docs/a.txt'), new Date(), new Date()),
      'mkdir in /.snapshots': () => fs.mkdir(at('.snapshots', 'mine')),
      'rmdir a snapshot': () => fs.rmdir(snapDir),
      'remove /.snapshots': () => fs.rmdir(at('.snapshots')),
      'rename /.snapshots': () => fs.rename(at('.snapshots'), at('snaps')),
    };
    const codes: Record<string, string> = {};
    for (const [what, attempt] of Object.entries(attempts)) codes[what] = await errCode(attempt());
    expect(codes).toEqual(Object.fromEntries(Object.keys(attempts).map((k) => [k, 'EROFS'])));
    const rm = await run('rm', ['-rf', snapDir]);
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toMatch(/Read-only file system/);
    expect(await fs.readFile(join(snapDir, 'docs/a.txt'), 'utf8')).toBe('version 1\n');
  });

  it('a --read-only mount reads the live tree and refuses writes with EROFS', async () => {
    const live = await listing(mnt);
    await umount(m); // commits, and takes a snapshot at unmount
    expect(await snapshots()).toHaveLength(2);
    m = await mount(store, mnt, ['--read-only']);
    expect(await listing(mnt)).toEqual(live);
    expect(await fs.readFile(at('docs/a.txt'), 'utf8')).toBe('version 2, longer\n');
    expect(await errCode(fs.writeFile(at('docs/a.txt'), 'x'))).toBe('EROFS');
    expect(await errCode(fs.writeFile(at('fresh'), 'x'))).toBe('EROFS');
    expect(await errCode(fs.unlink(at('docs/a.txt')))).toBe('EROFS');
    expect(await errCode(fs.mkdir(at('dir')))).toBe('EROFS');
    expect(await errCode(fs.chmod(at('docs/a.txt'), 0o600))).toBe('EROFS');
    await umount(m);
  });

  it('--snapshot ID and --snapshot latest mount one snapshot read-only', async () => {
    m = await mount(store, mnt, ['--snapshot', tagged.id.slice(0, 8)]);
    expect(await fs.readFile(at('docs/old/b.txt'), 'utf8')).toBe('to be deleted\n');
    expect((await fs.readFile(at('big.bin'))).length).toBe(200_000);
    expect(await errCode(fs.writeFile(at('docs/a.txt'), 'x'))).toBe('EROFS');
    expect(await errCode(fs.writeFile(at('new'), 'x'))).toBe('EROFS');
    await umount(m);

    m = await mount(store, mnt, ['--snapshot', 'latest']);
    expect(await fs.readFile(at('docs/a.txt'), 'utf8')).toBe('version 2, longer\n');
    expect(await fs.readFile(at('big.bin'))).toEqual(Buffer.alloc(10, 1));
    expect(await errCode(fs.stat(at('docs/old')))).toBe('ENOENT');
    expect(await errCode(fs.rm(at('docs/a.txt')))).toBe('EROFS');
    expect(await errCode(fs.truncate(at('big.bin'), 0))).toBe('EROFS');
    await umount(m);
  });
});
