import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SinkiFilesystem } from '../../../src/fuse/filesystem.js';
import type { FsOps } from '../../../src/fuse/fuse-adapter.js';
import { closeInProcessStores, errnoOf, newInProcessFs, readAll, readFile, writeFile, type InProcessFs } from '../../helpers/in-process-fs.js';
import { removeTempDirs } from '../../helpers/temp.js';

/** Small chunks: a few KiB of data cross several chunk boundaries. */
const CS = 4096;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

let h: InProcessFs;
let fs: SinkiFilesystem;
/** The same filesystem as the kernel adapter calls it (with every argument). */
const ops = (): FsOps => fs;

beforeEach(async () => {
  h = await newInProcessFs({ chunkSize: CS });
  fs = h.fs;
});
afterEach(async () => {
  await closeInProcessStores();
  await removeTempDirs();
});

const names = async (path: string): Promise<string[]> =>
  (await fs.readdir(path))
    .map((e) => e.name)
    .filter((n) => n !== '.' && n !== '..')
    .sort();
const text = async (path: string): Promise<string> => (await readFile(fs, path)).toString();

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 2));

describe('files: create, write, read', () => {
  it('a file reads back what was written, in pieces of any size and across chunk boundaries', async () => {
    const data = randomBytes(3 * CS + 123);
    await writeFile(fs, '/f', data);
    expect((await fs.getattr('/f')).size).toBe(data.length);
    for (const piece of [1000, CS, CS + 1, 64 * 1024]) expect((await readFile(fs, '/f', piece)).equals(data)).toBe(true);
    const fd = await fs.open('/f', constants.O_RDONLY);
    const buf = Buffer.alloc(10);
    expect(await fs.read('/f', fd, buf, 10, CS - 5)).toBe(10);
    expect(buf.equals(data.subarray(CS - 5, CS + 5))).toBe(true);
    expect(await fs.read('/f', fd, buf, 10, data.length)).toBe(0);
    expect(await fs.read('/f', fd, buf, 10, data.length - 3)).toBe(3);
    await fs.release('/f', fd);
  });

  it('writes past the end leave a hole of zeros, which takes no blocks', async () => {
    const fd = await fs.create('/sparse', 0o644);
    await fs.write('/sparse', fd, Buffer.from('tail'), 4, 5 * CS);
    await fs.release('/sparse', fd);
    const a = await fs.getattr('/sparse');
    expect(a.size).toBe(5 * CS + 4);
    // Only the last chunk holds data: 4 bytes, one 512-byte unit.
    expect(a.blocks).toBe(1);
    const got = await readFile(fs, '/sparse');
    expect(got.subarray(0, 5 * CS).equals(Buffer.alloc(5 * CS))).toBe(true);
    expect(got.subarray(5 * CS).toString()).toBe('tail');
  });

  it('create on an existing name is EEXIST; open of a folder is EISDIR; a bad handle is EBADF', async () => {
    await writeFile(fs, '/f', 'x');
    await fs.mkdir('/d', 0o755);
    expect(await errnoOf(fs.create('/f', 0o644))).toBe('EEXIST');
    expect(await errnoOf(fs.create('/d', 0o644))).toBe('EEXIST');
    expect(await errnoOf(fs.open('/d', constants.O_RDONLY))).toBe('EISDIR');
    expect(await errnoOf(fs.open('/nope', constants.O_RDONLY))).toBe('ENOENT');
    expect(await errnoOf(fs.create('/nope/f', 0o644))).toBe('ENOENT');
    expect(await errnoOf(fs.create('/f/g', 0o644))).toBe('ENOTDIR');
    expect(await errnoOf(fs.read('/f', 999, Buffer.alloc(1), 1, 0))).toBe('EBADF');
    expect(fs.openHandles).toBe(0);
  });

  it('writes through a handle kept open across commits and a rename of its folder are all committed', async () => {
    await fs.mkdir('/d', 0o755);
    await fs.mkdir('/e', 0o755);
    const fd = await fs.create('/d/f', 0o644);
    await fs.write('/d/f', fd, Buffer.from('one'), 3, 0);
    await h.commit();
    await fs.write('/d/f', fd, Buffer.from('two'), 3, 3);
    await h.commit();
    expect(await readFile((await h.remount()).fs, '/d/f').then(String)).toBe('onetwo');
    // libfuse passes the handle's current path.
    await fs.rename('/d', '/e/moved');
    await h.commit();
    await fs.write('/e/moved/f', fd, Buffer.from('three'), 5, 6);
    await h.commit();
    await fs.release('/e/moved/f', fd);
    expect(await readFile((await h.remount()).fs, '/e/moved/f').then(String)).toBe('onetwothree');
  });

  it('an unlinked file stays readable and writable through its open handle, and is not committed', async () => {
    const data = randomBytes(2 * CS + 7);
    await writeFile(fs, '/gone', data);
    await h.commit();
    const fd = await fs.open('/gone', constants.O_RDWR);
    await fs.unlink('/gone');
    expect(await errnoOf(fs.getattr('/gone'))).toBe('ENOENT');
    expect(await names('/')).not.toContain('gone');
    expect((await readAll(fs, '/gone', fd)).equals(data)).toBe(true);
    await fs.write('/gone', fd, Buffer.from('STILL'), 5, CS - 2);
    data.write('STILL', CS - 2);
    expect((await readAll(fs, '/gone', fd, 1000)).equals(data)).toBe(true);
    // Its chunks count as in use while it is open (a freeing round keeps them).
    expect([...fs.openChunkIds()].length).toBeGreaterThan(0);
    await fs.release('/gone', fd);
    expect([...fs.openChunkIds()]).toEqual([]);
    await h.commit();
    expect(await names('/')).toEqual(['.snapshots']);
    expect(await (await h.remount()).fs.readdir('/').then((e) => e.map((x) => x.name))).not.toContain('gone');
  });
});

describe('truncate', () => {
  const pattern = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 1) % 251 || 1));

  for (const committed of [false, true]) {
    const when = committed ? 'sealed (committed) chunks' : 'dirty chunks';
    it(`shrinking inside a chunk, then growing, reads zeros past the cut (${when})`, async () => {
      const data = pattern(2 * CS + 500);
      await writeFile(fs, '/t', data);
      if (committed) await h.commit();
      await fs.truncate('/t', CS + 100);
      expect((await readFile(fs, '/t')).equals(data.subarray(0, CS + 100))).toBe(true);
      await fs.truncate('/t', 3 * CS);
      const grown = await readFile(fs, '/t');
      expect(grown.length).toBe(3 * CS);
      expect(grown.subarray(0, CS + 100).equals(data.subarray(0, CS + 100))).toBe(true);
      expect(grown.subarray(CS + 100).equals(Buffer.alloc(3 * CS - CS - 100))).toBe(true);
      await h.commit();
      expect((await readFile((await h.remount()).fs, '/t')).equals(grown)).toBe(true);
    });

    it(`shrinking to a chunk boundary and to 0, then writing again (${when})`, async () => {
      const data = pattern(4 * CS);
      await writeFile(fs, '/t', data);
      if (committed) await h.commit();
      await fs.truncate('/t', 2 * CS);
      expect((await readFile(fs, '/t')).equals(data.subarray(0, 2 * CS))).toBe(true);
      expect((await fs.getattr('/t')).blocks).toBe((2 * CS) / 512);
      await fs.truncate('/t', 0);
      expect((await fs.getattr('/t')).size).toBe(0);
      expect((await fs.getattr('/t')).blocks).toBe(0);
      expect((await readFile(fs, '/t')).length).toBe(0);
      await fs.truncate('/t', CS + 1);
      expect((await readFile(fs, '/t')).equals(Buffer.alloc(CS + 1))).toBe(true);
      expect((await fs.getattr('/t')).blocks).toBe(0);
      const fd = await fs.open('/t', constants.O_RDWR);
      await fs.write('/t', fd, Buffer.from('ab'), 2, CS - 1);
      await fs.release('/t', fd);
      const want = Buffer.alloc(CS + 1);
      want.write('ab', CS - 1);
      expect((await readFile(fs, '/t')).equals(want)).toBe(true);
      await h.commit();
      expect((await readFile((await h.remount()).fs, '/t')).equals(want)).toBe(true);
    });
  }

  it('growing a file whose last chunk is short keeps its data and adds zeros after it, across chunks', async () => {
    const data = pattern(CS + 10);
    await writeFile(fs, '/g', data);
    await h.commit();
    await fs.truncate('/g', 3 * CS + 5);
    const got = await readFile(fs, '/g', 777);
    expect(got.subarray(0, CS + 10).equals(data)).toBe(true);
    expect(got.subarray(CS + 10).equals(Buffer.alloc(2 * CS - 5))).toBe(true);
    // Chunk 0 and the grown chunk 1 hold data; chunks 2 and 3 are holes.
    expect((await fs.getattr('/g')).blocks).toBe((2 * CS) / 512);
  });

  it('shrinking reports the bytes dropped; truncate of a folder is EISDIR, of a missing name ENOENT', async () => {
    await writeFile(fs, '/s', pattern(1000));
    await fs.truncate('/s', 400);
    expect(h.released).toEqual([600]);
    await fs.mkdir('/d', 0o755);
    expect(await errnoOf(fs.truncate('/d', 0))).toBe('EISDIR');
    expect(await errnoOf(fs.truncate('/none', 0))).toBe('ENOENT');
  });
});

describe('rename', () => {
  it('a file over a file replaces it (its bytes count as released); the same name is a no-op', async () => {
    await writeFile(fs, '/a', 'AAAA');
    await writeFile(fs, '/b', 'bb');
    await fs.rename('/a', '/b');
    expect(await names('/')).toEqual(['.snapshots', 'b']);
    expect(await text('/b')).toBe('AAAA');
    expect(h.released).toEqual([2]);
    const ino = (await fs.getattr('/b')).ino;
    await fs.rename('/b', '/b');
    expect(await text('/b')).toBe('AAAA');
    expect((await fs.getattr('/b')).ino).toBe(ino);
    expect(h.released).toEqual([2]);
    await fs.mkdir('/d', 0o755);
    await writeFile(fs, '/d/in', 'i');
    await fs.rename('/d', '/d');
    expect(await names('/')).toEqual(['.snapshots', 'b', 'd']);
    expect(await text('/d/in')).toBe('i');
  });

  it('moves files and folders (with their contents) across folders', async () => {
    await fs.mkdir('/x', 0o755);
    await fs.mkdir('/x/sub', 0o755);
    await writeFile(fs, '/x/sub/f', 'deep');
    await fs.mkdir('/y', 0o755);
    // Committed first: the folder moved out of must be saved again, or a remount shows it twice.
    await h.commit();
    await fs.rename('/x/sub', '/y/moved');
    expect(await names('/x')).toEqual([]);
    expect(await text('/y/moved/f')).toBe('deep');
    await fs.rename('/y/moved/f', '/top');
    expect(await text('/top')).toBe('deep');
    await h.commit();
    const again = (await h.remount()).fs;
    expect((await again.readdir('/x')).map((e) => e.name)).toEqual(['.', '..']);
    expect(await readFile(again, '/top').then(String)).toBe('deep');
    expect((await again.readdir('/y/moved')).map((e) => e.name)).toEqual(['.', '..']);
  });

  it('a folder over an empty folder replaces it; over a non-empty one is ENOTEMPTY', async () => {
    await fs.mkdir('/src', 0o755);
    await writeFile(fs, '/src/in', 'i');
    await fs.mkdir('/empty', 0o755);
    await fs.mkdir('/full', 0o755);
    await writeFile(fs, '/full/keep', 'k');
    expect(await errnoOf(fs.rename('/src', '/full'))).toBe('ENOTEMPTY');
    expect(await text('/full/keep')).toBe('k');
    expect(await text('/src/in')).toBe('i');
    await fs.rename('/src', '/empty');
    expect(await names('/')).toEqual(['.snapshots', 'empty', 'full']);
    expect(await text('/empty/in')).toBe('i');
  });

  it('a folder over a stored non-empty folder (children not loaded yet) is ENOTEMPTY', async () => {
    await fs.mkdir('/src', 0o755);
    await fs.mkdir('/full', 0o755);
    await writeFile(fs, '/full/keep', 'k');
    await fs.mkdir('/empty', 0o755);
    await h.commit();
    const again = (await h.remount()).fs;
    expect(await errnoOf(again.rename('/src', '/full'))).toBe('ENOTEMPTY');
    expect(await errnoOf(again.rmdir('/full'))).toBe('ENOTEMPTY');
    await again.rename('/src', '/empty');
    expect((await again.readdir('/')).map((e) => e.name).sort()).toEqual(['.', '..', '.snapshots', 'empty', 'full']);
  });

  it('a file over a folder is EISDIR; a folder over a file is ENOTDIR; a folder into itself is EINVAL; a missing source ENOENT', async () => {
    await writeFile(fs, '/f', 'f');
    await fs.mkdir('/d', 0o755);
    await fs.mkdir('/d/e', 0o755);
    expect(await errnoOf(fs.rename('/f', '/d'))).toBe('EISDIR');
    expect(await errnoOf(fs.rename('/d', '/f'))).toBe('ENOTDIR');
    expect(await errnoOf(fs.rename('/d', '/d/inside'))).toBe('EINVAL');
    expect(await errnoOf(fs.rename('/d', '/d/e/deeper'))).toBe('EINVAL');
    expect(await errnoOf(fs.rename('/nope', '/other'))).toBe('ENOENT');
    expect(await errnoOf(fs.rename('/f', '/nope/f'))).toBe('ENOENT');
    expect(await names('/')).toEqual(['.snapshots', 'd', 'f']);
    expect(await names('/d')).toEqual(['e']);
  });
});

describe('unlink, rmdir, mkdir', () => {
  it('refuse what POSIX refuses', async () => {
    await writeFile(fs, '/f', 'f');
    await fs.mkdir('/d', 0o755);
    await fs.mkdir('/full', 0o755);
    await writeFile(fs, '/full/x', 'x');
    expect(await errnoOf(fs.unlink('/nope'))).toBe('ENOENT');
    expect(await errnoOf(fs.unlink('/d'))).toBe('EISDIR');
    expect(await errnoOf(fs.unlink('/f/x'))).toBe('ENOTDIR');
    expect(await errnoOf(fs.rmdir('/nope'))).toBe('ENOENT');
    expect(await errnoOf(fs.rmdir('/f'))).toBe('ENOTDIR');
    expect(await errnoOf(fs.rmdir('/full'))).toBe('ENOTEMPTY');
    expect(await errnoOf(fs.mkdir('/d', 0o755))).toBe('EEXIST');
    expect(await errnoOf(fs.mkdir('/f', 0o755))).toBe('EEXIST');
    expect(await errnoOf(ops().link('/f', '/hard'))).toBe('EPERM');
    expect(await names('/')).toEqual(['.snapshots', 'd', 'f', 'full']);
    await fs.unlink('/f');
    await fs.rmdir('/d');
    await fs.unlink('/full/x');
    await fs.rmdir('/full');
    expect(await names('/')).toEqual(['.snapshots']);
    expect(h.released).toEqual([1, 1]);
  });
});

describe('symlinks and names', () => {
  it('a symlink keeps its target text; readlink of anything else is EINVAL', async () => {
    const target = '../somewhere/ünïcödé';
    await fs.symlink(target, '/l');
    expect(await fs.readlink('/l')).toBe(target);
    const a = await fs.getattr('/l');
    expect(a.mode & S_IFMT).toBe(S_IFLNK);
    expect(a.size).toBe(Buffer.byteLength(target));
    expect(await errnoOf(fs.symlink('other', '/l'))).toBe('EEXIST');
    await writeFile(fs, '/f', 'f');
    expect(await errnoOf(fs.readlink('/f'))).toBe('EINVAL');
    expect(await errnoOf(fs.readlink('/'))).toBe('EINVAL');
    expect(await errnoOf(fs.open('/l', constants.O_RDONLY))).toBe('EINVAL');
    await h.commit();
    expect(await (await h.remount()).fs.readlink('/l')).toBe(target);
  });

  it('names over 255 bytes are ENAMETOOLONG, names and targets with U+FFFD (bytes not UTF-8) EILSEQ', async () => {
    await writeFile(fs, `/${'é'.repeat(127)}`, 'longest');
    expect(await errnoOf(fs.create(`/${'b'.repeat(256)}`, 0o644))).toBe('ENAMETOOLONG');
    expect(await errnoOf(fs.mkdir(`/${'é'.repeat(128)}`, 0o755))).toBe('ENAMETOOLONG');
    expect(await errnoOf(fs.symlink('t', `/${'c'.repeat(256)}`))).toBe('ENAMETOOLONG');
    expect(await errnoOf(fs.rename(`/${'é'.repeat(127)}`, `/${'d'.repeat(256)}`))).toBe('ENAMETOOLONG');
    expect(await errnoOf(fs.create('/caf\uFFFD', 0o644))).toBe('EILSEQ');
    expect(await errnoOf(fs.mkdir('/d\uFFFD', 0o755))).toBe('EILSEQ');
    expect(await errnoOf(fs.symlink('x', '/l\uFFFD'))).toBe('EILSEQ');
    expect(await errnoOf(fs.symlink('t\uFFFD', '/link'))).toBe('EILSEQ');
    expect(await errnoOf(fs.rename(`/${'é'.repeat(127)}`, '/r\uFFFD'))).toBe('EILSEQ');
    expect(await names('/')).toEqual(['.snapshots', 'é'.repeat(127)]);
  });
});

describe('metadata', () => {
  it('chmod, chown and utimens (nanoseconds) show in getattr, keep the type bits, and survive a remount', async () => {
    await writeFile(fs, '/f', 'f');
    await fs.mkdir('/d', 0o755);
    await fs.chmod('/f', 0o4751);
    await fs.chown('/f', 1234, 5678);
    await fs.chown('/f', -1, 91);
    await fs.chown('/f', 0xffffffff, 0xffffffff);
    const t = 1_500_000_000_123_456_789n;
    await fs.utimens('/f', 1n, t);
    await fs.utimens('/f', 2n, null);
    await fs.chmod('/d', 0o700);
    await fs.utimens('/d', null, t + 1n);
    const f = await fs.getattr('/f');
    expect(f.mode).toBe(S_IFREG | 0o4751);
    expect([f.uid, f.gid]).toEqual([1234, 91]);
    expect(f.mtimeNs).toBe(t);
    expect(f.ctimeNs).toBeGreaterThan(t);
    const d = await fs.getattr('/d');
    expect(d.mode).toBe(S_IFDIR | 0o700);
    expect(d.mtimeNs).toBe(t + 1n);
    await h.commit();
    const again = (await h.remount()).fs;
    const f2 = await again.getattr('/f');
    expect([f2.mode, f2.uid, f2.gid, f2.mtimeNs, f2.ctimeNs]).toEqual([f.mode, f.uid, f.gid, f.mtimeNs, f.ctimeNs]);
    const d2 = await again.getattr('/d');
    expect([d2.mode, d2.mtimeNs]).toEqual([d.mode, d.mtimeNs]);
  });

  it('getattr: sizes, blocks of data, nlink 2 + subfolders, inode numbers as readdir gives them', async () => {
    await fs.mkdir('/nl', 0o755);
    for (const s of ['a', 'b', 'c']) await fs.mkdir(`/nl/${s}`, 0o755);
    await writeFile(fs, '/nl/file', randomBytes(CS + 1));
    await fs.symlink('file', '/nl/link');
    const dir = await fs.getattr('/nl');
    expect(dir.nlink).toBe(5);
    expect(dir.size).toBe(4096);
    expect(dir.blocks).toBe(8);
    expect((await fs.getattr('/nl/a')).nlink).toBe(2);
    // The root counts .snapshots among its subfolders.
    expect((await fs.getattr('/')).nlink).toBe(4);
    const file = await fs.getattr('/nl/file');
    expect([file.size, file.blocks, file.nlink]).toEqual([CS + 1, Math.ceil((CS + 1) / 512), 1]);
    expect((await fs.getattr('/nl/link')).blocks).toBe(0);
    const entries = await fs.readdir('/nl');
    expect(entries.map((e) => e.name).sort()).toEqual(['.', '..', 'a', 'b', 'c', 'file', 'link']);
    for (const e of entries.filter((x) => !x.name.startsWith('.'))) {
      const a = await fs.getattr(`/nl/${e.name}`);
      expect(e.ino).toBe(a.ino);
      expect(e.type).toBe(a.mode & S_IFMT);
    }
    expect(entries.find((e) => e.name === '.')!.ino).toBe(dir.ino);
    expect(entries.find((e) => e.name === '..')!.ino).toBe((await fs.getattr('/')).ino);
    expect(await errnoOf(fs.readdir('/nl/file'))).toBe('ENOTDIR');
    // A rename keeps the number.
    await fs.rename('/nl/file', '/nl/renamed');
    expect((await fs.getattr('/nl/renamed')).ino).toBe(file.ino);
  });

  it('two filesystems in one process number alike: each mount has its own inode table', async () => {
    await fs.mkdir('/d', 0o755);
    await writeFile(fs, '/d/f', Buffer.from('x'));
    await h.commit();
    const other = (await h.remount()).fs;
    // Both hold the same paths at once; a table shared between them would give the second the next free numbers.
    for (const path of ['/', '/d', '/d/f', '/.snapshots']) expect((await other.getattr(path)).ino).toBe((await fs.getattr(path)).ino);
  });

  it('create and mkdir keep only the permission bits of the mode they are given, in getattr and in the stored tree', async () => {
    await fs.release('/f', await fs.create('/f', S_IFREG | 0o640));
    await fs.mkdir('/d', S_IFDIR | 0o1750);
    expect((await fs.getattr('/f')).mode).toBe(S_IFREG | 0o640);
    expect((await fs.getattr('/d')).mode).toBe(S_IFDIR | 0o1750);
    const stored = await h.repo.loadTree((await h.commit())!);
    expect(stored.nodes.map((n) => [n.name, n.mode])).toEqual([
      ['d', 0o1750],
      ['f', 0o640],
    ]);
  });

  it("creating, removing and renaming entries moves the folder's mtime and ctime; writing and truncating the file's", async () => {
    const old = 1_000_000_000_000_000_000n;
    const dirMoves = async (dir: string, change: () => Promise<unknown>): Promise<void> => {
      await fs.utimens(dir, null, old);
      const before = await fs.getattr(dir);
      await tick(); // times have millisecond resolution
      await change();
      const after = await fs.getattr(dir);
      expect(after.mtimeNs).toBeGreaterThan(old);
      expect(after.ctimeNs).toBeGreaterThan(before.ctimeNs);
    };
    await fs.mkdir('/d', 0o755);
    await fs.mkdir('/e', 0o755);
    await dirMoves('/d', async () => writeFile(fs, '/d/f', 'f'));
    await dirMoves('/d', () => fs.mkdir('/d/sub', 0o755));
    await dirMoves('/d', () => fs.symlink('f', '/d/l'));
    await dirMoves('/d', () => fs.unlink('/d/l'));
    await dirMoves('/d', () => fs.rmdir('/d/sub'));
    await dirMoves('/d', () => fs.rename('/d/f', '/e/f'));
    await dirMoves('/e', () => fs.rename('/e/f', '/e/g'));
    for (const change of [() => fs.truncate('/e/g', 10), async () => writeFile(fs, '/e/g', 'new')]) {
      await fs.utimens('/e/g', null, old);
      const before = await fs.getattr('/e/g');
      await tick();
      await change();
      const after = await fs.getattr('/e/g');
      expect(after.mtimeNs).toBeGreaterThan(old);
      expect(after.ctimeNs).toBeGreaterThan(before.ctimeNs);
    }
  });

  it('statfs reports the store disk with 255-byte names; access of a missing name is ENOENT', async () => {
    const s = await ops().statfs('/');
    expect(s.namemax).toBe(255);
    expect(s.blocks).toBeGreaterThan(0);
    expect(s.bavail).toBeLessThanOrEqual(s.blocks);
    expect(await errnoOf(fs.access('/none', constants.F_OK))).toBe('ENOENT');
    expect(await errnoOf(fs.access('/', constants.W_OK))).toBe('ok');
  });

  it('fsync commits: a fresh filesystem over the store sees the data', async () => {
    await writeFile(fs, '/synced', 'durable');
    await ops().fsync('/synced');
    expect(await readFile((await h.remount()).fs, '/synced').then(String)).toBe('durable');
  });
});

describe('/.snapshots', () => {
  it('is read-only (EROFS) and shows the committed tree of each snapshot', async () => {
    await fs.mkdir('/d', 0o755);
    await writeFile(fs, '/d/f', 'in the snapshot');
    await h.snapshot();
    await writeFile(fs, '/d/f', 'changed later');
    const [snap] = await names('/.snapshots');
    expect(snap).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
    const at = `/.snapshots/${snap}`;
    expect((await fs.readdir('/.snapshots')).find((e) => e.name === snap)!.type).toBe(S_IFDIR);
    expect((await fs.getattr('/.snapshots')).nlink).toBe(3);
    expect((await fs.getattr(at)).nlink).toBe(3);
    expect(await text(`${at}/d/f`)).toBe('in the snapshot');
    expect((await fs.getattr('/.snapshots')).mode & 0o7777).toBe(0o555);
    expect(await errnoOf(fs.create('/.snapshots/new', 0o644))).toBe('EROFS');
    expect(await errnoOf(fs.mkdir('/.snapshots', 0o755))).toBe('EROFS');
    expect(await errnoOf(fs.mkdir(`${at}/new`, 0o755))).toBe('EROFS');
    expect(await errnoOf(fs.create(`${at}/d/new`, 0o644))).toBe('EROFS');
    expect(await errnoOf(fs.open(`${at}/d/f`, constants.O_WRONLY))).toBe('EROFS');
    expect(await errnoOf(fs.open(`${at}/d/f`, constants.O_RDWR))).toBe('EROFS');
    expect(await errnoOf(fs.truncate(`${at}/d/f`, 0))).toBe('EROFS');
    expect(await errnoOf(fs.unlink(`${at}/d/f`))).toBe('EROFS');
    expect(await errnoOf(fs.rmdir(at))).toBe('EROFS');
    expect(await errnoOf(fs.rmdir('/.snapshots'))).toBe('EROFS');
    expect(await errnoOf(fs.rename(`${at}/d/f`, '/out'))).toBe('EROFS');
    expect(await errnoOf(fs.rename('/d/f', `${at}/in`))).toBe('EROFS');
    expect(await errnoOf(fs.rename('/d', '/.snapshots'))).toBe('EROFS');
    expect(await errnoOf(fs.rename('/.snapshots', '/moved'))).toBe('EROFS');
    expect(await errnoOf(fs.rename(at, '/moved'))).toBe('EROFS');
    expect(await errnoOf(fs.chmod(`${at}/d/f`, 0o777))).toBe('EROFS');
    expect(await errnoOf(fs.chown(`${at}/d`, 1, 1))).toBe('EROFS');
    expect(await errnoOf(fs.utimens(`${at}/d/f`, null, 1n))).toBe('EROFS');
    expect(await errnoOf(fs.symlink('x', `${at}/l`))).toBe('EROFS');
    expect(await errnoOf(fs.access(`${at}/d/f`, constants.W_OK))).toBe('EROFS');
    expect(await errnoOf(fs.access(`${at}/d/f`, constants.R_OK))).toBe('ok');
    expect(await errnoOf(fs.getattr('/.snapshots/not-a-snapshot'))).toBe('ENOENT');
    // A read-only handle writes nothing either.
    const fd = await fs.open(`${at}/d/f`, constants.O_RDONLY);
    expect(await errnoOf(fs.write(`${at}/d/f`, fd, Buffer.from('x'), 1, 0))).toBe('EROFS');
    await fs.release(`${at}/d/f`, fd);
    expect(await text(`${at}/d/f`)).toBe('in the snapshot');
    expect(await text('/d/f')).toBe('changed later');
  });
});

describe('remount without a kernel', () => {
  it('after a commit, a fresh filesystem over the store shows the same tree; what was not committed is gone', async () => {
    await fs.mkdir('/a', 0o750);
    await fs.mkdir('/a/b', 0o755);
    const big = randomBytes(5 * CS + 17);
    await writeFile(fs, '/a/b/big', big);
    await writeFile(fs, '/a/empty', '');
    await writeFile(fs, '/top.txt', 'top', 0o600);
    await fs.symlink('a/b/big', '/link');
    await fs.utimens('/top.txt', null, 1_700_000_000_000_000_001n);
    await h.commit();
    const tree = async (f: SinkiFilesystem): Promise<string[]> => {
      const out: string[] = [];
      const walk = async (dir: string): Promise<void> => {
        for (const e of await f.readdir(dir)) {
          if (e.name === '.' || e.name === '..' || (dir === '/' && e.name === '.snapshots')) continue;
          const p = `${dir === '/' ? '' : dir}/${e.name}`;
          const a = await f.getattr(p);
          const what = (a.mode & S_IFMT) === S_IFREG ? (await readFile(f, p)).toString('base64') : (a.mode & S_IFMT) === S_IFLNK ? await f.readlink(p) : '';
          out.push([p, a.mode.toString(8), a.uid, a.gid, a.size, a.blocks, a.nlink, a.mtimeNs, what].join(' '));
          if ((a.mode & S_IFMT) === S_IFDIR) await walk(p);
        }
      };
      await walk('/');
      return out.sort();
    };
    const before = await tree(fs);
    expect(before).toHaveLength(6);
    // Uncommitted: a remount (as after a crash) shows the last commit.
    await writeFile(fs, '/late', 'not committed');
    await fs.unlink('/top.txt');
    const again = await h.remount();
    expect(await tree(again.fs)).toEqual(before);
    // And the remounted tree is writable in turn.
    await writeFile(again.fs, '/a/b/new', 'n');
    await again.commit();
    expect(await readFile((await again.remount()).fs, '/a/b/new').then(String)).toBe('n');
  });
});
