/*
 * Every version of a file, by path: `sinki versions` and `sinki find` on the command line, and
 * /.versions/ in the live mount and in a snapshot mount (the remote mount's is in
 * test/remote/file-manager.test.ts). A version is one distinct content, named by the time of the
 * oldest snapshot holding it; deleted files keep theirs.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneErrorLine, sinki, sinkiOk } from '../helpers/cli.js';
import { cleanup, makeStore, mount, umount, type Store } from './harness.js';

interface Version {
  name: string;
  kind: string;
  snapshot_id: string;
  snapshots: number;
  size: number;
  target?: string;
}

let store: Store;
let src: string;
/** What a.txt held in each backup, in order. */
const contents = ['first\n', 'second\n', 'second\n', 'third, longer\n'];

const jsonLines = <T>(stdout: string): T[] =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

beforeAll(async () => {
  store = await makeStore('versions');
  src = join(store.work, 'src');
  await fs.mkdir(join(src, 'd'), { recursive: true });
  for (const [i, text] of contents.entries()) {
    await fs.writeFile(join(src, 'd', 'a.txt'), text);
    if (i < 2) await fs.writeFile(join(src, 'd', 'gone.txt'), 'deleted later\n');
    else await fs.rm(join(src, 'd', 'gone.txt'), { force: true });
    await fs.rm(join(src, 'link'), { force: true });
    await fs.symlink(`target-${Math.min(i, 1)}`, join(src, 'link'));
    await sinkiOk(['backup', src], { store: store.path });
    // Snapshot times are named to the second: one backup a second keeps the names apart.
    await new Promise((r) => setTimeout(r, 1100));
  }
}, 120_000);

afterAll(cleanup);

describe('sinki versions and find', () => {
  it('lists each distinct content once, oldest first, with the snapshots holding it; cat of each gives that content', async () => {
    const versions = jsonLines<Version>((await sinkiOk(['versions', 'src/d/a.txt', '--json'], { store: store.path })).stdout);
    expect(versions.map((v) => [v.kind, v.size, v.snapshots])).toEqual([
      ['file', 6, 1],
      ['file', 7, 2],
      ['file', 14, 1],
    ]);
    expect(new Set(versions.map((v) => v.name)).size).toBe(3);
    for (const [i, v] of versions.entries())
      expect((await sinkiOk(['cat', v.snapshot_id, 'src/d/a.txt'], { store: store.path })).stdout).toBe([contents[0], contents[1], contents[3]][i]);
    const links = jsonLines<Version>((await sinkiOk(['versions', '/src/link', '--json'], { store: store.path })).stdout);
    expect(links.map((v) => [v.kind, v.target, v.snapshots])).toEqual([
      ['symlink', 'target-0', 1],
      ['symlink', 'target-1', 3],
    ]);
    const text = (await sinkiOk(['versions', 'src/d/gone.txt'], { store: store.path })).stdout;
    expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ +[0-9a-f]{12} +14 B .* in 2 snapshots, to /);
  });

  it('a folder, a path no snapshot has, and no path: one line, distinct exit codes', async () => {
    expectOneErrorLine(await sinki(['versions', 'src/d'], { store: store.path }), 14, /src\/d: no snapshot holds a file or link there/);
    expectOneErrorLine(await sinki(['versions', 'src/nope.txt'], { store: store.path }), 14);
    expectOneErrorLine(await sinki(['versions', '/'], { store: store.path }), 2);
  });

  it('find matches names in every snapshot, deleted ones too; nothing found is exit 14', async () => {
    const found = jsonLines<{ path: string; kind: string; versions: number }>((await sinkiOk(['find', '*.txt', '--json'], { store: store.path })).stdout);
    expect(found.map((f) => [f.path, f.kind, f.versions])).toEqual([
      ['/src/d/a.txt', 'file', 3],
      ['/src/d/gone.txt', 'file', 1],
    ]);
    expect(jsonLines<{ path: string; kind: string }>((await sinkiOk(['find', 'd', '--json'], { store: store.path })).stdout)).toEqual([
      expect.objectContaining({ path: '/src/d', kind: 'dir', versions: 0 }),
    ]);
    const none = await sinki(['find', 'nothing-*'], { store: store.path });
    expect(none.code).toBe(14);
    expect(none.stdout).toBe('0 matches\n');
    expectOneErrorLine(await sinki(['find', 'src/*.txt'], { store: store.path }), 2, /matches names/);
  });
});

describe('/.versions in a mount', () => {
  it('the live mount shows every version as a read-only file, deleted files included, and a new snapshot adds one', async () => {
    const mnt = join(store.work, 'mnt');
    const m = await mount(store, mnt);
    try {
      // The live tree is empty (backups do not fill it); /.versions shows the snapshots' paths.
      expect((await fs.readdir(mnt)).sort()).toEqual(['.snapshots', '.versions']);
      expect((await fs.readdir(join(mnt, '.versions', 'src', 'd'))).sort()).toEqual(['a.txt', 'gone.txt']);
      const dir = join(mnt, '.versions', 'src', 'd', 'a.txt');
      const names = (await fs.readdir(dir)).sort();
      expect(await Promise.all(names.map((n) => fs.readFile(join(dir, n), 'utf8')))).toEqual([contents[0], contents[1], contents[3]]);
      const cli = jsonLines<Version>((await sinkiOk(['versions', 'src/d/a.txt', '--json'], { store: store.path })).stdout).map((v) => v.name);
      expect(names).toEqual(cli);
      expect(
        await fs.readFile(join(mnt, '.versions', 'src', 'd', 'gone.txt', (await fs.readdir(join(mnt, '.versions', 'src', 'd', 'gone.txt')))[0]!), 'utf8'),
      ).toBe('deleted later\n');
      expect(await fs.readlink(join(mnt, '.versions', 'src', 'link', (await fs.readdir(join(mnt, '.versions', 'src', 'link'))).sort()[1]!))).toBe('target-1');
      // Read-only throughout.
      await expect(fs.writeFile(join(dir, names[0]!), 'x')).rejects.toMatchObject({ code: 'EROFS' });
      await expect(fs.writeFile(join(mnt, '.versions', 'new.txt'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
      await expect(fs.rm(join(mnt, '.versions'), { recursive: true })).rejects.toMatchObject({ code: 'EROFS' });
      await expect(fs.mkdir(join(mnt, '.versions'))).rejects.toMatchObject({ code: 'EEXIST' });

      // The live tree changes and is snapshotted: its version shows up (the list is looked at every 2 s).
      await fs.mkdir(join(mnt, 'src', 'd'), { recursive: true });
      await fs.writeFile(join(mnt, 'src', 'd', 'a.txt'), 'fourth, from the mount\n');
      await sinkiOk(['snapshot'], { store: store.path });
      await new Promise((r) => setTimeout(r, 2200));
      const after = (await fs.readdir(dir)).sort();
      expect(after).toHaveLength(4);
      expect(await fs.readFile(join(dir, after[3]!), 'utf8')).toBe('fourth, from the mount\n');
    } finally {
      await umount(m);
    }
  }, 60_000);

  it('a mount of one snapshot has /.versions of the whole store', async () => {
    const mnt = join(store.work, 'snap-mnt');
    const first = jsonLines<Version>((await sinkiOk(['versions', 'src/d/a.txt', '--json'], { store: store.path })).stdout)[0]!;
    const m = await mount(store, mnt, ['--snapshot', first.snapshot_id.slice(0, 12)]);
    try {
      expect(await fs.readFile(join(mnt, 'src', 'd', 'a.txt'), 'utf8')).toBe(contents[0]);
      expect((await fs.readdir(join(mnt, '.versions', 'src', 'd', 'a.txt'))).length).toBeGreaterThanOrEqual(4);
    } finally {
      await umount(m);
    }
  }, 60_000);
});
