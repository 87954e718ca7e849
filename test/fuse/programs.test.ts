import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, sinkiOk, type RunOptions, type RunResult } from '../helpers/cli.js';
import { pseudoRandomBytes } from '../helpers/files.js';
import {
  cleanup,
  expectSameTree,
  genDataset,
  isMounted,
  KiB,
  listing,
  makeStore,
  MiB,
  mount,
  umount,
  waitFor,
  waitForExit,
  type Mounted,
  type Store,
} from './harness.js';

/** The programs people run on a folder, run on the mount: what they write reads back, survives a remount and a crash. */

async function ok(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout.slice(0, 2000)}`);
  return r;
}

/** Runs `what`, printing how long it took (a measurement for the record, never asserted). */
async function timed<T>(label: string, what: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const result = await what();
  console.log(`timing: ${label}: ${((Date.now() - start) / 1000).toFixed(2)} s`);
  return result;
}

async function remount(store: Store, m: Mounted): Promise<Mounted> {
  await umount(m);
  return mount(store, m.mnt);
}

/** kill -9 of the mount process; `sinki umount` clears the stale mount it leaves. */
async function crash(m: Mounted): Promise<void> {
  process.kill(m.pid, 'SIGKILL');
  await waitForExit(m.pid);
  await sinkiOk(['umount', m.mnt]);
  expect(await isMounted(m.mnt)).toBe(false);
}

/** A program started in the background, with its stdout as it comes. */
function start(cmd: string, args: readonly string[], input = ''): { child: ChildProcess; stdout: () => string; exited: Promise<number | null> } {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(input);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => out, exited };
}

afterAll(cleanup);

describe('rsync into the mount', () => {
  it('rsync -a twice: the second run itemizes nothing, nor does a third after a remount', async () => {
    const store = await makeStore('rsync');
    const src = join(store.work, 'src');
    await genDataset(src, '2M', 11);
    await fs.writeFile(join(src, 'empty'), '');
    await ok('truncate', ['-s', '3M', join(src, 'holes')]);
    await fs.symlink('empty', join(src, 'link'));
    await ok('touch', ['-h', '-d', '2001-02-03 04:05:06.123456789', join(src, 'link'), join(src, 'empty')]);
    let m = await mount(store, join(store.work, 'mnt'));
    const rsync = (): Promise<RunResult> => ok('rsync', ['-a', '--itemize-changes', `${src}/`, `${m.mnt}/dst/`]);

    const first = await timed('rsync -a of a 2 MB generated tree into the mount', rsync);
    expect(first.stdout).toMatch(/^>f\+{9} empty$/m);
    expect((await rsync()).stdout).toBe('');
    m = await remount(store, m);
    expect((await rsync()).stdout).toBe('');
    await expectSameTree(src, join(m.mnt, 'dst'));
    expect(await listing(join(m.mnt, 'dst'), { mtimes: true })).toEqual(await listing(src, { mtimes: true }));
    await umount(m);
  });
});

describe('rsync of what a tree cannot hold', () => {
  it('a FIFO: rsync -a exits 23 naming it (mknod gives ENOSYS) and copies the rest', async () => {
    const store = await makeStore('rsync-fifo');
    const src = join(store.work, 'src');
    await fs.mkdir(src);
    await fs.writeFile(join(src, 'file'), 'data\n');
    await ok('mkfifo', [join(src, 'pipe')]);
    const m = await mount(store, join(store.work, 'mnt'));
    const r = await run('rsync', ['-a', `${src}/`, `${m.mnt}/dst/`]);
    expect(r.code).toBe(23);
    expect(r.stderr).toMatch(/mknod ".*\/dst\/pipe" failed: Function not implemented/);
    expect(await fs.readFile(join(m.mnt, 'dst/file'), 'utf8')).toBe('data\n');
    await umount(m);
  });
});

describe('git in the mount', () => {
  const gitEnv = (home: string): Record<string, string> => ({
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'A U Thor',
    GIT_AUTHOR_EMAIL: 'author@example.com',
    GIT_COMMITTER_NAME: 'A U Thor',
    GIT_COMMITTER_EMAIL: 'author@example.com',
  });

  it('init, commit, clone inside and from outside, gc, fsck --full clean; after a remount no file is seen as changed', async () => {
    const store = await makeStore('git');
    const env = gitEnv(store.work);
    const git = (cwd: string, ...args: string[]): Promise<RunResult> => ok('git', args, { cwd, env });
    let m = await mount(store, join(store.work, 'mnt'));
    const repo = join(m.mnt, 'repo');

    await genDataset(repo, '1M', 12);
    const files = (await listing(repo)).filter((l) => l.split('\t')[1] === 'f').length;
    await git(m.mnt, 'init', '-q', '-b', 'main', 'repo');
    await timed(`git add + commit of ${files} files in the mount`, async () => {
      await git(repo, 'add', '-A');
      await git(repo, 'commit', '-q', '-m', 'first');
    });
    const cloned = await timed(`git clone of ${files} files within the mount`, () => git(m.mnt, 'clone', '-q', 'repo', 'clone'));
    expect(cloned.stderr).toBe('');

    // A repository outside the mount, cloned into it.
    const outside = join(store.work, 'outside');
    await fs.mkdir(outside);
    await git(outside, 'init', '-q', '-b', 'main');
    for (let d = 0; d < 20; d++) {
      await fs.mkdir(join(outside, `d${d}`));
      for (let i = 0; i < 50; i++) await fs.writeFile(join(outside, `d${d}`, `f${i}.txt`), `file ${d} ${i}\n`.repeat(i * 5));
    }
    await git(outside, 'add', '-A');
    await git(outside, 'commit', '-q', '-m', 'outside');
    await timed('git clone of a 1000-file repository from outside into the mount', () => git(m.mnt, 'clone', '-q', outside, 'from-outside'));

    // More history: changes, a rename, a delete, a binary file; then gc packs and prunes loose objects.
    for (let i = 0; i < 3; i++) {
      await fs.appendFile(join(repo, 'README.md'), `change ${i}\n`);
      await fs.writeFile(join(repo, `blob${i}.bin`), pseudoRandomBytes(`git-${i}`, 100 * KiB));
      if (i === 1) await git(repo, 'mv', 'blob0.bin', 'renamed.bin');
      if (i === 2) await git(repo, 'rm', '-q', 'renamed.bin');
      await git(repo, 'add', '-A');
      await git(repo, 'commit', '-q', '-m', `change ${i}`);
    }
    await git(join(m.mnt, 'clone'), 'pull', '-q', '--ff-only');
    await timed('git gc --prune=now in the mount', () => git(repo, 'gc', '-q', '--prune=now'));
    expect((await fs.readdir(join(repo, '.git/objects/pack'))).filter((n) => n.endsWith('.pack'))).toHaveLength(1);

    const repos = [repo, join(m.mnt, 'clone'), join(m.mnt, 'from-outside')];
    for (const r of repos) {
      const fsck = await git(r, 'fsck', '--full', '--strict');
      expect({ r, out: fsck.stdout + fsck.stderr }).toEqual({ r, out: '' });
      expect((await git(r, 'status', '--porcelain')).stdout).toBe('');
    }
    expect((await git(join(m.mnt, 'clone'), 'log', '--oneline')).stdout.split('\n').filter(Boolean)).toHaveLength(4);

    m = await remount(store, m);
    for (const r of repos) {
      // diff-files compares the index's stat data with the files as they are, without refreshing:
      // a file listed there has a different size, time or inode number than git recorded.
      expect({ r, changed: (await git(r, 'diff-files', '--name-only')).stdout }).toEqual({ r, changed: '' });
      expect((await git(r, 'status', '--porcelain')).stdout).toBe('');
      expect((await git(r, 'fsck', '--full')).stderr).toBe('');
    }
    await umount(m);
  });
});

/**
 * SQL churn, the same every time: inserts, updates and deletes in transactions; each transaction
 * also records its number in `marks`, so a database missing a committed transaction shows a gap.
 */
function churnSql(firstTx: number, transactions: number): string {
  let state = firstTx * 7919 + 1;
  const rand = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
  const out: string[] = [];
  for (let tx = firstTx; tx < firstTx + transactions; tx++) {
    out.push('BEGIN;');
    for (let j = 0; j < 15; j++) {
      const r = rand(100);
      if (r < 60) out.push(`INSERT INTO t(v, n) VALUES ('${'v'.repeat(10 + rand(400))}-${tx}-${j}', ${rand(1000)});`);
      else if (r < 85) out.push(`UPDATE t SET v = v || '${tx}', n = n + 1 WHERE n % 13 = ${rand(13)};`);
      else out.push(`DELETE FROM t WHERE n % 97 = ${rand(97)};`);
    }
    out.push(`INSERT INTO marks VALUES (${tx});`, 'COMMIT;');
  }
  return out.join('\n');
}

const SCHEMA =
  'PRAGMA journal_mode=WAL;\nCREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);\nCREATE INDEX IF NOT EXISTS tn ON t(n);\nCREATE TABLE IF NOT EXISTS marks(tx INTEGER PRIMARY KEY);\n';

describe('sqlite3 in the mount', () => {
  it('a WAL database under churn: integrity_check ok after a remount; after kill -9 every transaction committed before an fsync is there', async () => {
    const store = await makeStore('sqlite');
    // Only fsyncs commit (and the unmount): what survives the crash is what sqlite made durable.
    const flags = ['--commit-delay', '60s'];
    let m = await mount(store, join(store.work, 'mnt'), flags);
    const db = join(m.mnt, 'app.db');
    const model = join(store.work, 'model.db');
    const sqlite = (file: string, sql: string): Promise<RunResult> => ok('sqlite3', ['-bail', file], { input: sql });
    const query = async (file: string, sql: string): Promise<string> => (await ok('sqlite3', [file, sql])).stdout.trim();

    // 200 transactions, 3400 statements; synchronous=NORMAL: the WAL is fsynced at checkpoints only.
    const part1 = `${SCHEMA}PRAGMA synchronous=NORMAL;\n${churnSql(0, 200)}`;
    expect(part1.split('\n').length).toBeGreaterThan(3000);
    await timed('sqlite3: 200 transactions (3400 statements) in WAL mode in the mount', () => sqlite(db, part1));
    await sqlite(model, part1);
    expect(await query(db, 'PRAGMA journal_mode')).toBe('wal');

    await umount(m);
    m = await mount(store, m.mnt, flags);
    expect(await query(db, 'PRAGMA integrity_check')).toBe('ok');
    expect((await ok('sqlite3', [db, '.dump'])).stdout).toBe((await ok('sqlite3', [model, '.dump'])).stdout);

    // With synchronous=FULL every commit fsyncs the WAL: once sqlite3 exits, all of it is durable.
    await timed('sqlite3: 20 transactions with synchronous=FULL (an fsync each)', () => sqlite(db, `PRAGMA synchronous=FULL;\n${churnSql(200, 20)}`));
    // More churn, never fsynced, cut short by the crash.
    const unsynced = start('sqlite3', ['-bail', db], `PRAGMA synchronous=OFF;\n${churnSql(220, 400)}`);
    await waitFor('the unsynced churn to commit something', async () => Number(await query(db, 'SELECT max(tx) FROM marks')) > 230, 30_000);
    await crash(m);
    await unsynced.exited;

    m = await mount(store, m.mnt);
    expect(await query(db, 'PRAGMA integrity_check')).toBe('ok');
    const [count, max] = (await query(db, 'SELECT count(*), max(tx) FROM marks')).split('|').map(Number);
    expect(max).toBeGreaterThanOrEqual(219);
    expect(count).toBe(max! + 1); // no transaction lost before the last one that survived
    await umount(m);
  });
});

/** write name.tmp, fsync, rename over name, fsync the folder; prints each version once saved. */
const ATOMIC_SAVES = `
const fs = require('node:fs');
const [dir, count] = process.argv.slice(1);
for (let v = 1; v <= Number(count); v++) {
  const fd = fs.openSync(dir + '/doc.tmp', 'w');
  fs.writeSync(fd, Buffer.alloc(150000 + v * 1000, 'v' + v + ';'));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(dir + '/doc.tmp', dir + '/doc');
  const dirFd = fs.openSync(dir, 'r');
  fs.fsyncSync(dirFd);
  fs.closeSync(dirFd);
  console.log(v);
}`;

describe('editors saving in the mount', () => {
  it('atomic saves cut by kill -9: the file is one whole saved version, at least the last one reported saved', async () => {
    const store = await makeStore('atomic-save');
    let m = await mount(store, join(store.work, 'mnt'), ['--commit-delay', '60s']);
    const dir = join(m.mnt, 'docs');
    await fs.mkdir(dir);
    const saver = start(process.execPath, ['-e', ATOMIC_SAVES, dir, '1000']);
    const saved = (): number => Number(saver.stdout().trim().split('\n').at(-1) ?? 0);
    await waitFor('five saves', () => saved() >= 5, 60_000);
    await crash(m);
    await saver.exited;
    const lastReported = saved();

    m = await mount(store, m.mnt);
    const doc = await fs.readFile(join(dir, 'doc'));
    const version = Number(/^v(\d+);/.exec(doc.toString('latin1', 0, 12))?.[1]);
    expect(version).toBeGreaterThanOrEqual(lastReported);
    expect(doc.equals(Buffer.alloc(150000 + version * 1000, `v${version};`))).toBe(true);
    await umount(m);
  });

  it('vim with backup, backupcopy=no: the old file becomes the backup, the new one keeps its mode, both after a remount', async () => {
    const store = await makeStore('vim');
    let m = await mount(store, join(store.work, 'mnt'));
    const file = join(m.mnt, 'notes.txt');
    await fs.writeFile(file, 'old line\n', { mode: 0o640 });
    await fs.chmod(file, 0o640);
    // backupskip is emptied: its default skips files under /tmp, where the tests mount.
    const settings = 'set nocompatible backup writebackup backupcopy=no backupskip= backupdir=. fsync';
    await ok('vim', ['-Nu', 'NONE', '-i', 'NONE', '-n', '-es', '-c', settings, '-c', '%s/old/new/', '-c', 'wq', file]);
    m = await remount(store, m);
    expect(await fs.readFile(file, 'utf8')).toBe('new line\n');
    expect(await fs.readFile(`${file}~`, 'utf8')).toBe('old line\n');
    expect((await fs.stat(file)).mode & 0o7777).toBe(0o640);
    await umount(m);
  });
});

describe('cp -a into the mount and back out', () => {
  it('symlinks, empty files, holes, modes and nanosecond times: diff -r and find find both copies equal, also after a remount', async () => {
    const store = await makeStore('cp-a');
    const src = join(store.work, 'src');
    const at = (...p: string[]): string => join(src, ...p);
    await fs.mkdir(at('dir/empty-dir'), { recursive: true });
    await fs.writeFile(at('dir/text'), 'some text\n');
    await fs.writeFile(at('zero'), '');
    await fs.writeFile(at('dir/also-empty'), '');
    await ok('truncate', ['-s', '9M', at('all-hole')]);
    const holes = await fs.open(at('holes'), 'w');
    await holes.write(pseudoRandomBytes('cp-holes', 100 * KiB), 0, 100 * KiB, 5 * MiB);
    await holes.truncate(12 * MiB);
    await holes.close();
    await fs.symlink('dir/text', at('rel-link'));
    await fs.symlink('/nonexistent/target', at('dangling'));
    await fs.symlink('dir', at('dir-link'));
    for (const [name, mode] of [
      ['dir/text', 0o600],
      ['zero', 0o444],
      ['holes', 0o755],
      ['dir/also-empty', 0o4755],
    ] as const)
      await fs.chmod(at(name), mode);
    await fs.chmod(at('dir/empty-dir'), 0o1777);
    await ok('touch', ['-d', '1999-12-31 23:59:59.987654321', at('dir/text'), at('holes')]);
    await ok('touch', ['-h', '-d', '2010-06-07 08:09:10.000000001', at('rel-link'), at('dangling')]);
    await ok('touch', ['-d', '2005-05-05 05:05:05.5', at('dir/empty-dir'), at('dir')]);

    let m = await mount(store, join(store.work, 'mnt'));
    const copy = join(m.mnt, 'copy');
    await timed('cp -a of a 30 MB (mostly holes) tree into the mount', () => ok('cp', ['-a', src, copy]));
    await expectSameTree(src, copy);
    expect(await listing(copy, { mtimes: true })).toEqual(await listing(src, { mtimes: true }));

    m = await remount(store, m);
    await expectSameTree(src, copy);
    expect(await listing(copy, { mtimes: true })).toEqual(await listing(src, { mtimes: true }));
    const back = join(store.work, 'back');
    await ok('cp', ['-a', copy, back]);
    expect(await listing(back, { mtimes: true })).toEqual(await listing(src, { mtimes: true }));
    await expectSameTree(src, back);
    // Holes stay holes after the remount (commits store them as zero blobs): du counts nothing for
    // them, and cp, seeing st_blocks below the size, writes holes out of the mount too.
    expect((await fs.stat(join(copy, 'all-hole'))).blocks).toBe(0);
    expect((await fs.stat(join(back, 'all-hole'))).blocks).toBe(0);
    expect((await fs.stat(join(copy, 'holes'))).blocks).toBe((4 * MiB) / 512); // the one chunk written
    await umount(m);
  });
});
