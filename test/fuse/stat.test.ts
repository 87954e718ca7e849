import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, sinkiOk, type RunResult } from '../helpers/cli.js';
import { pseudoRandomBytes } from '../helpers/files.js';
import { cleanup, KiB, makeStore, MiB, mount, readLog, umount, type Mounted, type Store } from './harness.js';

async function ok(cmd: string, args: readonly string[], cwd?: string): Promise<RunResult> {
  const r = await run(cmd, args, cwd ? { cwd } : {});
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

const statField = async (format: string, path: string): Promise<string> => (await ok('stat', ['-c', format, path])).stdout.trim();

/** What tar, du, find, ls, scandir, touch, mv and df read from stat, statfs and readdir. */
describe('stat and readdir facts of the mount', () => {
  let store: Store;
  let mnt: string;
  let m: Mounted;
  const at = (...p: string[]): string => join(mnt, ...p);

  beforeAll(async () => {
    store = await makeStore('stat', ['--chunk-size', '64K']);
    mnt = join(store.work, 'mnt');
    m = await mount(store, mnt);
  });

  afterAll(cleanup);

  it('tar c/x round trip with and without --sparse: cmp finds every file equal (st_blocks 0 made --sparse archive zeros)', async () => {
    await fs.mkdir(at('tar'));
    await fs.writeFile(at('tar/data.bin'), pseudoRandomBytes('tar-data', 300 * KiB + 7));
    await fs.writeFile(at('tar/small.txt'), 'a line\n');
    await fs.writeFile(at('tar/empty'), '');
    // A hole, 100 KiB of data at 5 MiB, and a hole up to 10 MiB.
    const sparse = await fs.open(at('tar/sparse.bin'), 'w');
    await sparse.write(pseudoRandomBytes('tar-sparse', 100 * KiB), 0, 100 * KiB, 5 * MiB);
    await sparse.truncate(10 * MiB);
    await sparse.close();
    for (const sparseFlag of [[], ['--sparse']]) {
      const out = join(store.work, `untar${sparseFlag.join('')}`);
      const archive = `${out}.tar`;
      await fs.mkdir(out);
      await ok('tar', ['-cf', archive, ...sparseFlag, '-C', mnt, 'tar']);
      await ok('tar', ['-xf', archive, ...sparseFlag, '-C', out]);
      for (const name of ['data.bin', 'small.txt', 'empty', 'sparse.bin']) {
        const cmp = await run('cmp', [at('tar', name), join(out, 'tar', name)]);
        expect({ name, sparseFlag, code: cmp.code, out: cmp.stdout + cmp.stderr }).toEqual({ name, sparseFlag, code: 0, out: '' });
      }
    }
  });

  it('du -sk counts the data (ceil(size/512) blocks), holes count nothing; st_blksize is 128 KiB', async () => {
    await fs.mkdir(at('du'));
    await fs.writeFile(at('du/one-mib'), pseudoRandomBytes('du', MiB));
    expect(await statField('%b %B %o', at('du/one-mib'))).toBe(`${MiB / 512} 512 ${128 * KiB}`);
    await fs.writeFile(at('du/odd'), 'x'.repeat(513));
    expect(await statField('%b', at('du/odd'))).toBe('2');
    const du = Number((await ok('du', ['-sk', at('du/one-mib')])).stdout.split('\t')[0]);
    expect(du).toBe(1024);
    // A 10 MiB file with 100 KiB written at 5 MiB: the two 64 KiB chunks written hold data.
    const sparseDu = Number((await ok('du', ['-sk', at('tar/sparse.bin')])).stdout.split('\t')[0]);
    expect(sparseDu).toBe(128);
    expect(Number((await ok('du', ['-sk', at('du')])).stdout.split('\t')[0])).toBeGreaterThanOrEqual(1024);
  });

  it('ls -i and find -inum give the numbers stat gives; a name keeps its number across stat, rename and a snapshot', async () => {
    await fs.mkdir(at('ino/sub'), { recursive: true });
    await fs.writeFile(at('ino/file'), 'x');
    await fs.symlink('file', at('ino/link'));
    const statIno = async (p: string): Promise<number> => Number(await statField('%i', p));
    const lsI = (await ok('ls', ['-1ia', at('ino')])).stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/) as [string, string]);
    expect(lsI.map(([, name]) => name).sort()).toEqual(['.', '..', 'file', 'link', 'sub']);
    for (const [num, name] of lsI) expect({ name, ino: Number(num) }).toEqual({ name, ino: await statIno(join(at('ino'), name)) });
    const numbers = lsI.filter(([, n]) => n !== '..').map(([num]) => num);
    expect(new Set(numbers).size).toBe(numbers.length);

    // ls may stat for -i; scandir's inode() is readdir's d_ino as it came.
    const scandir = 'import os, sys\nfor e in os.scandir(sys.argv[1]): print(e.name, e.inode(), os.lstat(e.path).st_ino)';
    const dIno = (await ok('python3', ['-c', scandir, at('ino')])).stdout.trim().split('\n').sort();
    expect(dIno.map((l) => l.split(' ')[0])).toEqual(['file', 'link', 'sub']);
    for (const l of dIno) expect(l.split(' ')[1]).toBe(l.split(' ')[2]);

    const fileIno = await statIno(at('ino/file'));
    expect(fileIno).not.toBe(4294967295);
    expect((await ok('find', [mnt, '-inum', String(fileIno)])).stdout.trim()).toBe(at('ino/file'));
    const subIno = await statIno(at('ino/sub'));
    expect((await ok('find', [mnt, '-inum', String(subIno)])).stdout.trim()).toBe(at('ino/sub'));

    await fs.rename(at('ino/file'), at('ino/sub/moved'));
    expect(await statIno(at('ino/sub/moved'))).toBe(fileIno);
    await sinkiOk(['snapshot'], { store: store.path });
    expect(await statIno(at('ino/sub/moved'))).toBe(fileIno);
    expect(await statIno(at('ino/sub'))).toBe(subIno);
  });

  it('a folder with 3 subfolders (and a file) has nlink 5, live and in /.snapshots; /.snapshots has 2 + one per snapshot', async () => {
    for (const d of ['a', 'b', 'c']) await fs.mkdir(at('nl', d), { recursive: true });
    await fs.writeFile(at('nl/file'), 'x');
    await fs.mkdir(at('nl/a/deeper'));
    expect(await statField('%h', at('nl'))).toBe('5');
    expect(await statField('%h', at('nl/a'))).toBe('3');
    expect(await statField('%h', at('nl/b'))).toBe('2');
    expect(await statField('%h', at('nl/file'))).toBe('1');
    await fs.rmdir(at('nl/c'));
    expect(await statField('%h', at('nl'))).toBe('4');
    await fs.mkdir(at('nl/c'));

    await sinkiOk(['snapshot'], { store: store.path });
    const snaps = await fs.readdir(at('.snapshots'));
    expect(await statField('%h', at('.snapshots'))).toBe(String(2 + snaps.length));
    const snap = at('.snapshots', snaps.sort().at(-1)!);
    expect(await statField('%h', join(snap, 'nl'))).toBe('5');
    const rootSubdirs = (await fs.readdir(snap, { withFileTypes: true })).filter((e) => e.isDirectory()).length;
    expect(await statField('%h', snap)).toBe(String(2 + rootSubdirs));
    const liveRootSubdirs = (await fs.readdir(mnt, { withFileTypes: true })).filter((e) => e.isDirectory()).length;
    expect(await statField('%h', mnt)).toBe(String(2 + liveRootSubdirs));
    // find trusts nlink to know when a folder has no more subfolders to visit.
    expect((await ok('find', [at('nl'), '-type', 'd'])).stdout.split('\n').filter(Boolean).sort()).toEqual(
      ['', '/a', '/a/deeper', '/b', '/c'].map((s) => at('nl') + s),
    );
    // Subfolders moved out, and in over an empty one (the count follows each folder's entries).
    await fs.mkdir(at('nl2'));
    await fs.rename(at('nl/b'), at('nl2/b'));
    expect([await statField('%h', at('nl')), await statField('%h', at('nl2'))]).toEqual(['4', '3']);
    await fs.rename(at('nl2/b'), at('nl/c'));
    expect([await statField('%h', at('nl')), await statField('%h', at('nl2'))]).toEqual(['4', '2']);
  });

  it('readdir gives each entry its type: Python scandir asks for no stat of any entry (strace)', async () => {
    await fs.mkdir(at('dt'));
    for (let i = 0; i < 10; i++) await fs.writeFile(at('dt', `f${i}`), 'x');
    for (let i = 0; i < 5; i++) await fs.mkdir(at('dt', `d${i}`));
    await fs.symlink('f0', at('dt/link'));
    const script = [
      'import os, sys',
      'kinds = {"dir": 0, "file": 0, "link": 0}',
      'for e in os.scandir(sys.argv[1]):',
      '    if e.is_symlink(): kinds["link"] += 1',
      '    elif e.is_dir(follow_symlinks=False): kinds["dir"] += 1',
      '    elif e.is_file(follow_symlinks=False): kinds["file"] += 1',
      'print(kinds["dir"], kinds["file"], kinds["link"])',
    ].join('\n');
    const trace = join(store.work, 'scandir.strace');
    const r = await ok('strace', ['-f', '-o', trace, '-e', 'trace=%stat,%lstat,%fstat,statx', 'python3', '-c', script, at('dt')]);
    expect(r.stdout.trim()).toBe('5 10 1');
    const stats = (await fs.readFile(trace, 'utf8')).split('\n').filter((l) => l.includes(`${at('dt')}/`));
    expect(stats).toEqual([]);
  });

  it('touch -d @1500000000.123456789 reads back .123456789, also after utimensat, a remount and in /.snapshots', async () => {
    await fs.mkdir(at('ns'));
    await fs.writeFile(at('ns/touched'), 'x');
    await ok('touch', ['-d', '@1500000000.123456789', at('ns/touched')]);
    expect(await statField('%.9Y', at('ns/touched'))).toBe('1500000000.123456789');
    // utimensat with a different atime: the mtime keeps all nine digits.
    await ok('python3', ['-c', 'import os,sys; os.utime(sys.argv[1], ns=(1_000_000_000_987_654_321, 1_600_000_000_000_000_001))', at('ns/touched')]);
    expect(await statField('%.9Y', at('ns/touched'))).toBe('1600000000.000000001');
    await ok('touch', ['-d', '@1500000000.123456789', at('ns/touched')]);
    await fs.mkdir(at('ns/dir'));
    await ok('touch', ['-h', '-d', '@1400000000.000000999', at('ns/dir')]);

    await umount(m);
    m = await mount(store, mnt);
    expect(await statField('%.9Y', at('ns/touched'))).toBe('1500000000.123456789');
    expect(await statField('%.9Y', at('ns/dir'))).toBe('1400000000.000000999');
    const snaps = (await fs.readdir(at('.snapshots'))).sort();
    const snap = at('.snapshots', snaps.at(-1)!); // taken at unmount
    expect(await statField('%.9Y', join(snap, 'ns/touched'))).toBe('1500000000.123456789');
    // find reads mtimes from stat; readdir's stats must not disagree with it.
    expect((await ok('find', [at('ns'), '-name', 'touched', '-printf', '%T@'])).stdout).toBe('1500000000.1234567890');
  });

  it('mv -n onto an existing name keeps the target (the kernel answers EEXIST); onto a free name it moves (coreutils falls back from EINVAL)', async () => {
    await fs.mkdir(at('mv'));
    await fs.writeFile(at('mv/src'), 'source');
    await fs.writeFile(at('mv/dst'), 'target');
    await run('mv', ['-n', at('mv/src'), at('mv/dst')]);
    expect(await fs.readFile(at('mv/dst'), 'utf8')).toBe('target');
    expect(await fs.readFile(at('mv/src'), 'utf8')).toBe('source');
    await ok('mv', ['-n', at('mv/src'), at('mv/free')]);
    expect(await fs.readFile(at('mv/free'), 'utf8')).toBe('source');
    expect((await fs.readdir(at('mv'))).sort()).toEqual(['dst', 'free']);
    await run('cp', ['-n', at('mv/free'), at('mv/dst')]);
    expect(await fs.readFile(at('mv/dst'), 'utf8')).toBe('target');

    // What renameat2(RENAME_NOREPLACE) itself answers under libfuse 2.9 (protocol 7.19).
    const renameat2 = [
      'import ctypes, os, sys',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'r = libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 1)',
      'print("ok" if r == 0 else os.strerror(ctypes.get_errno()))',
    ].join('\n');
    expect((await ok('python3', ['-c', renameat2, at('mv/free'), at('mv/dst')])).stdout.trim()).toBe('File exists');
    expect((await ok('python3', ['-c', renameat2, at('mv/free'), at('mv/other')])).stdout.trim()).toBe('Invalid argument');
    expect(await fs.readFile(at('mv/dst'), 'utf8')).toBe('target');
  });

  it('with the shipped fuse-native (--no-patched-fuse-native): blocks, nlink, inode numbers and d_type still right, times whole milliseconds, and the log says so', async () => {
    await umount(m);
    m = await mount(store, mnt, ['--no-patched-fuse-native']);
    try {
      expect(await readLog(mnt)).toMatch(/the patched fuse-native is not used \(--no-patched-fuse-native\): mtimes set by cp -a/);
      await fs.mkdir(at('shipped/a/b'), { recursive: true });
      await fs.writeFile(at('shipped/data'), pseudoRandomBytes('shipped', 4096));
      expect(await statField('%b %o %h', at('shipped/data'))).toBe(`8 ${128 * KiB} 1`);
      expect(await statField('%h', at('shipped'))).toBe('3');
      const scandir = 'import os, sys\nfor e in os.scandir(sys.argv[1]): print(e.name, e.inode() == os.lstat(e.path).st_ino, e.is_dir(follow_symlinks=False))';
      expect((await ok('python3', ['-c', scandir, at('shipped')])).stdout.trim().split('\n').sort()).toEqual(['a True True', 'data True False']);
      await ok('touch', ['-d', '@1500000000.123456789', at('shipped/data')]);
      expect(await statField('%.9Y', at('shipped/data'))).toBe('1500000000.123000000');
      // A time stored with nanoseconds shows cut to the millisecond; the store keeps all nine digits.
      expect(await statField('%.9Y', at('ns/touched'))).toBe('1500000000.123000000');
    } finally {
      await umount(m);
      m = await mount(store, mnt);
    }
    expect(await statField('%.9Y', at('ns/touched'))).toBe('1500000000.123456789');
  });

  it('df of the mount shows the store disk: same size, free space within 1%', async () => {
    const df = async (p: string): Promise<number[]> => {
      const lines = (await ok('df', ['-k', '--output=size,avail', p])).stdout.trim().split('\n');
      return lines[1]!.trim().split(/\s+/).map(Number);
    };
    const [mntSize, mntAvail] = await df(mnt);
    const [diskSize, diskAvail] = await df(store.path);
    expect(mntSize).toBe(diskSize);
    expect(Math.abs(mntAvail! - diskAvail!)).toBeLessThan(diskSize! / 100);
    expect(mntAvail).toBeGreaterThan(0);
  });
});
