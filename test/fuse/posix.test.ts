import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, sinkiOk } from '../helpers/cli.js';
import { cleanup, errCode, listing, makeStore, mount, umount, type Mounted, type Store } from './harness.js';

describe('POSIX semantics of the live tree', () => {
  let store: Store;
  let mnt: string;
  let m: Mounted;
  const at = (...p: string[]): string => join(mnt, ...p);

  beforeAll(async () => {
    store = await makeStore('posix', ['--chunk-size', '64K']);
    mnt = join(store.work, 'mnt');
    m = await mount(store, mnt);
  });

  afterAll(cleanup);

  it('rename replaces an existing file, moves files and directories within and across directories', async () => {
    await fs.mkdir(at('r/a/sub'), { recursive: true });
    await fs.mkdir(at('r/b'));
    await fs.writeFile(at('r/old'), 'old contents');
    await fs.writeFile(at('r/new'), 'new contents');
    await fs.rename(at('r/new'), at('r/old'));
    expect(await fs.readFile(at('r/old'), 'utf8')).toBe('new contents');
    expect(await errCode(fs.stat(at('r/new')))).toBe('ENOENT');

    await fs.writeFile(at('r/a/sub/deep.txt'), 'deep');
    await fs.rename(at('r/a'), at('r/a2'));
    await fs.rename(at('r/a2'), at('r/b/a3'));
    await fs.rename(at('r/old'), at('r/b/a3/sub/moved.txt'));
    expect(await fs.readFile(at('r/b/a3/sub/deep.txt'), 'utf8')).toBe('deep');
    expect(await fs.readFile(at('r/b/a3/sub/moved.txt'), 'utf8')).toBe('new contents');
    expect((await fs.readdir(at('r'))).sort()).toEqual(['b']);
    expect(await errCode(fs.rename(at('r/b'), at('r/b/a3/inside')))).toBe('EINVAL');
  });

  it('rename onto directories: non-empty → ENOTEMPTY, empty → replaced, file onto dir → EISDIR, dir onto file → ENOTDIR', async () => {
    await fs.mkdir(at('rd/src/x'), { recursive: true });
    await fs.mkdir(at('rd/full/y'), { recursive: true });
    await fs.mkdir(at('rd/empty'));
    await fs.writeFile(at('rd/file'), 'f');
    expect(await errCode(fs.rename(at('rd/src'), at('rd/full')))).toBe('ENOTEMPTY');
    expect(await errCode(fs.rename(at('rd/file'), at('rd/empty')))).toBe('EISDIR');
    expect(await errCode(fs.rename(at('rd/src'), at('rd/file')))).toBe('ENOTDIR');
    await fs.rename(at('rd/src'), at('rd/empty'));
    expect((await fs.readdir(at('rd'))).sort()).toEqual(['empty', 'file', 'full']);
    expect(await fs.readdir(at('rd/empty'))).toEqual(['x']);
  });

  it('rmdir, unlink and mkdir refuse what POSIX refuses', async () => {
    await fs.mkdir(at('e/full'), { recursive: true });
    await fs.writeFile(at('e/full/f'), 'x');
    expect(await errCode(fs.rmdir(at('e/full')))).toBe('ENOTEMPTY');
    expect(await errCode(fs.rmdir(at('e/full/f')))).toBe('ENOTDIR');
    expect(['EISDIR', 'EPERM']).toContain(await errCode(fs.unlink(at('e/full'))));
    expect(await errCode(fs.mkdir(at('e/full')))).toBe('EEXIST');
    expect(await errCode(fs.mkdir(at('e/missing/child')))).toBe('ENOENT');
    expect(await errCode(fs.writeFile(at('e/full/f/under-a-file'), 'x'))).toBe('ENOTDIR');
    expect(await errCode(fs.open(at('e/full/f'), 'wx'))).toBe('EEXIST');
    await fs.unlink(at('e/full/f'));
    await fs.rmdir(at('e/full'));
    expect(await fs.readdir(at('e'))).toEqual([]);
  });

  it('hard links are refused with EPERM (documented: one name per tree entry)', async () => {
    await fs.writeFile(at('hl-src'), 'x');
    expect(await errCode(fs.link(at('hl-src'), at('hl-dst')))).toBe('EPERM');
    expect(await errCode(fs.stat(at('hl-dst')))).toBe('ENOENT');
  });

  it('symlinks keep their target text; readlink, lstat and following them work', async () => {
    await fs.mkdir(at('ln'));
    await fs.writeFile(at('ln/target.txt'), 'pointed at');
    await fs.symlink('target.txt', at('ln/rel'));
    await fs.symlink('../no/such/thing', at('ln/dangling'));
    await fs.symlink('.', at('ln/loop'));
    expect(await fs.readlink(at('ln/rel'))).toBe('target.txt');
    expect(await fs.readlink(at('ln/dangling'))).toBe('../no/such/thing');
    expect((await fs.lstat(at('ln/rel'))).isSymbolicLink()).toBe(true);
    expect((await fs.lstat(at('ln/rel'))).size).toBe('target.txt'.length);
    expect(await fs.readFile(at('ln/rel'), 'utf8')).toBe('pointed at');
    expect(await fs.readFile(at('ln/loop/loop/target.txt'), 'utf8')).toBe('pointed at');
    expect(await errCode(fs.readFile(at('ln/dangling')))).toBe('ENOENT');
    expect(await errCode(fs.symlink('x', at('ln/rel')))).toBe('EEXIST');
    expect(await errCode(fs.readlink(at('ln/target.txt')))).toBe('EINVAL');
  });

  it('chmod, chown and utimes show in stat', async () => {
    await fs.writeFile(at('meta'), 'm');
    await fs.chmod(at('meta'), 0o4751);
    expect((await fs.stat(at('meta'))).mode & 0o7777).toBe(0o4751);
    await fs.chown(at('meta'), 1234, 5678);
    const owned = await fs.stat(at('meta'));
    expect([owned.uid, owned.gid]).toEqual([1234, 5678]);
    await fs.mkdir(at('meta-dir'), 0o700);
    expect((await fs.stat(at('meta-dir'))).mode & 0o777).toBe(0o700);
    // Equal atime and mtime (as `touch -d` sets them): see the .fails test below for different ones.
    const when = new Date('2001-02-03T04:05:06.789Z');
    await fs.utimes(at('meta'), when, when);
    expect((await fs.stat(at('meta'))).mtimeMs).toBe(when.getTime());
    const touched = await run('touch', ['-h', '-d', '2010-01-01T00:00:00Z', at('ln/rel')]);
    expect(touched.code).toBe(0);
    expect((await fs.lstat(at('ln/rel'))).mtimeMs).toBe(Date.parse('2010-01-01T00:00:00Z'));
    const before = Date.now();
    expect((await run('touch', [at('meta')])).code).toBe(0);
    expect((await fs.stat(at('meta'))).mtimeMs).toBeGreaterThanOrEqual(before - 1000);
  });

  // Needs the patched fuse-native (native-deps/build-fuse-native-patched.sh): 2.2.6 passes the atime where the mtime belongs.
  it('utimes with different atime and mtime keeps the mtime; touch -a leaves the mtime alone', async () => {
    await fs.writeFile(at('times'), 't');
    await fs.utimes(at('times'), new Date('2020-01-01T00:00:00Z'), new Date('2001-01-01T00:00:00Z'));
    expect((await fs.stat(at('times'))).mtimeMs).toBe(Date.parse('2001-01-01T00:00:00Z'));
    expect((await run('touch', ['-a', at('times')])).code).toBe(0);
    expect((await fs.stat(at('times'))).mtimeMs).toBe(Date.parse('2001-01-01T00:00:00Z'));
  });

  // Regression: fuse-native hands names to JavaScript as UTF-8 with U+FFFD for other bytes, so
  // "caf\xe9" and "caf\xe8" (Latin-1) became one entry and the second silently overwrote the first.
  it('UTF-8 names work; names and symlink targets that are not UTF-8 are refused with EILSEQ, over-long names with ENAMETOOLONG', async () => {
    await fs.mkdir(at('names'));
    const unicode = '€ ünïcödé 日本 🙂';
    await fs.writeFile(at('names', unicode), 'u');
    expect(await fs.readdir(at('names'))).toEqual([unicode]);
    const latin1 = (name: string): Buffer => Buffer.concat([Buffer.from(`${at('names')}/`), Buffer.from(name, 'latin1')]);
    expect(await errCode(fs.writeFile(latin1('caf\xe9'), 'e acute'))).toBe('EILSEQ');
    expect(await errCode(fs.writeFile(latin1('caf\xe8'), 'e grave'))).toBe('EILSEQ');
    expect(await errCode(fs.mkdir(latin1('d\xe9')))).toBe('EILSEQ');
    expect(await errCode(fs.symlink('x', latin1('l\xe9')))).toBe('EILSEQ');
    expect(await errCode(fs.symlink(Buffer.from('t\xe9', 'latin1'), at('names', 'link')))).toBe('EILSEQ');
    expect(await errCode(fs.rename(at('names', unicode), latin1('r\xe9')))).toBe('EILSEQ');
    // NAME_MAX is 255 bytes, as statfs says (FUSE itself lets up to 1024 through).
    await fs.writeFile(at('names', 'é'.repeat(127)), 'longest');
    expect(await errCode(fs.writeFile(at('names', 'b'.repeat(256)), 'x'))).toBe('ENAMETOOLONG');
    expect(await errCode(fs.mkdir(at('names', 'é'.repeat(128))))).toBe('ENAMETOOLONG');
    expect((await fs.readdir(at('names'))).sort()).toEqual([unicode, 'é'.repeat(127)].sort());
  });

  it('statfs works (df)', async () => {
    const s = await fs.statfs(mnt);
    expect(s.bsize).toBeGreaterThan(0);
    expect(s.blocks).toBeGreaterThan(0);
    const df = await run('df', ['-P', mnt]);
    expect(df.code).toBe(0);
    expect(df.stdout).toContain(mnt);
  });

  it('truncate and ftruncate grow with zeros and shrink, across chunk boundaries; O_APPEND appends', async () => {
    const file = at('trunc.bin');
    const data = Buffer.alloc(150_000, 0x5a);
    await fs.writeFile(file, data);
    await fs.truncate(file, 70_000);
    expect((await fs.readFile(file)).equals(data.subarray(0, 70_000))).toBe(true);
    await fs.truncate(file, 200_000);
    const grown = await fs.readFile(file);
    expect(grown.length).toBe(200_000);
    expect(grown.subarray(0, 70_000).equals(data.subarray(0, 70_000))).toBe(true);
    expect(grown.subarray(70_000).equals(Buffer.alloc(130_000))).toBe(true);
    const fh = await fs.open(file, 'r+');
    await fh.truncate(65_536);
    expect((await fh.stat()).size).toBe(65_536);
    await fh.truncate(0);
    await fh.write('after', 0);
    await fh.close();
    expect(await fs.readFile(file, 'utf8')).toBe('after');
    await fs.appendFile(file, '+more');
    await fs.appendFile(file, '+again');
    expect(await fs.readFile(file, 'utf8')).toBe('after+more+again');
    await fs.writeFile(file, 'short'); // O_TRUNC
    expect(await fs.readFile(file, 'utf8')).toBe('short');
  });

  it('an unlinked file stays readable and writable through an open descriptor', async () => {
    await fs.writeFile(at('gone'), 'still here');
    const fh = await fs.open(at('gone'), 'r+');
    await fs.unlink(at('gone'));
    expect(await errCode(fs.stat(at('gone')))).toBe('ENOENT');
    await fh.write('STILL', 0);
    const buf = Buffer.alloc(10);
    await fh.read(buf, 0, 10, 0);
    expect(buf.toString()).toBe('STILL here');
    // libfuse keeps it under a hidden name while it is open; commits and snapshots leave that out.
    expect((await fs.readdir(mnt)).some((n) => n.startsWith('.fuse_hidden'))).toBe(true);
    await sinkiOk(['snapshot'], { store: store.path });
    expect((await sinkiOk(['ls', 'latest'], { store: store.path })).stdout).not.toMatch(/fuse_hidden|gone/);
    await fh.close();
  });

  it('after unmount and remount every name, type, mode, owner, size and symlink is as it was', async () => {
    const before = await listing(mnt);
    const withTimes = (await listing(mnt, { mtimes: true })).filter((l) => l.startsWith('meta\t'));
    await umount(m);
    m = await mount(store, mnt);
    expect(await listing(mnt)).toEqual(before);
    expect((await listing(mnt, { mtimes: true })).filter((l) => l.startsWith('meta\t'))).toEqual(withTimes);
    expect(await fs.readFile(at('r/b/a3/sub/moved.txt'), 'utf8')).toBe('new contents');
    expect(await fs.readFile(at('trunc.bin'), 'utf8')).toBe('short');
    await umount(m);
  });
});
