import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalBackend } from '../../src/backend/local.js';
import { GuardedBackend } from '../../src/repo/guarded-backend.js';
import { StoreLock } from '../../src/repo/lock.js';
import { expectOneErrorLine, initStore, run, sinki, sinkiOk } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const HEX64 = 'ab'.repeat(32);

describe('locks come before the index, and a writer that lost its lock commits nothing', () => {
  let work: string;
  let store: string;
  let src: string;

  const writeLock = async (name: string, record: Record<string, unknown>): Promise<void> => {
    await fs.mkdir(join(store, 'locks'), { recursive: true, mode: 0o700 });
    await fs.writeFile(join(store, 'locks', name), JSON.stringify(record), { mode: 0o600 });
  };

  beforeAll(async () => {
    work = await tempDir('sec-locks');
    store = join(work, 'store');
    src = join(work, 'src');
    await fs.mkdir(src);
    await fs.writeFile(join(src, 'a.txt'), 'first\n');
    await initStore(store);
    await sinkiOk(['backup', src], { store });
  });

  afterEach(async () => {
    vi.useRealTimers();
    await fs.rm(join(store, 'locks'), { recursive: true, force: true });
  });

  afterAll(removeTempDirs);

  it('the index is read only under the lock: with an exclusive holder, a damaged index segment is not even read (exit 11, not 13)', async () => {
    const planted = join(store, 'index', HEX64);
    await fs.writeFile(planted, 'not an index segment');
    try {
      await writeLock('prune-lock', { host: hostname(), pid: process.pid, time: new Date().toISOString(), exclusive: true, purpose: 'prune' });
      expectOneErrorLine(await sinki(['backup', src], { store }), 11, /locked by prune/);
      await fs.rm(join(store, 'locks', 'prune-lock'));
      // The same command once the store is free reads the index and finds the damage.
      expectOneErrorLine(await sinki(['backup', src], { store }), 13, /index\/ab/);
    } finally {
      await fs.rm(planted);
    }
  });

  it('a lock removed under a writer ("sinki unlock --all") stops its next commit with LOCKED; packs alone may still land', async () => {
    const raw = new LocalBackend(store);
    const lock = await StoreLock.acquire(raw, false, 'backup');
    const guarded = new GuardedBackend(raw);
    guarded.attach(lock);
    await guarded.write(`snapshots/${HEX64}`, Buffer.from('x'));
    await fs.rm(join(store, 'snapshots', HEX64));
    expect((await sinkiOk(['unlock', '--all'], { store })).stdout).toBe('removed 1 lock\n');
    await expect(guarded.write(`snapshots/${HEX64}`, Buffer.from('x'))).rejects.toThrow(/backup lost its lock on the store: its lock file was removed/);
    await expect(guarded.write('refs/head', Buffer.from('x'))).rejects.toMatchObject({ code: 'LOCKED' });
    await expect(guarded.remove(`index/${HEX64}`)).rejects.toMatchObject({ code: 'LOCKED' });
    await guarded.write(`packs/ab/${HEX64}`, Buffer.from('p'));
    await fs.rm(join(store, 'packs', 'ab', HEX64));
    await expect(fs.readdir(join(store, 'snapshots'))).resolves.not.toContain(HEX64);
    await lock.release();
  });

  it('one commit (a mount writing index, refs/head and generation) reads its lock file once; the next commit asks again', async () => {
    const raw = new LocalBackend(store);
    const lock = await StoreLock.acquire(raw, false, 'mount');
    let lockReads = 0;
    const counting = Object.create(raw) as LocalBackend;
    counting.read = (path: string, max?: number) => {
      if (path.startsWith('locks/')) lockReads += 1;
      return raw.read(path, max);
    };
    const guarded = new GuardedBackend(raw);
    const counted = await StoreLock.acquire(counting, false, 'mount: counted', { besides: lock });
    guarded.attach(counted);
    lockReads = 0; // acquiring read every lock
    try {
      await counted.asOneCommit(async () => {
        await guarded.write(`snapshots/${HEX64}`, Buffer.from('x'));
        await guarded.write('refs/head', Buffer.from('x'));
        await guarded.remove(`snapshots/${HEX64}`);
      });
      expect(lockReads).toBe(1);
      await guarded.write('refs/head', Buffer.from('y'));
      expect(lockReads).toBe(2);
      // The next commit still notices a lock that went meanwhile.
      expect((await sinkiOk(['unlock', '--all'], { store })).stdout).toBe('removed 2 locks\n');
      await expect(counted.asOneCommit(() => guarded.write('refs/head', Buffer.from('z')))).rejects.toMatchObject({ code: 'LOCKED' });
    } finally {
      await fs.rm(join(store, 'refs', 'head'), { force: true });
      await fs.rm(join(store, 'snapshots', HEX64), { force: true });
    }
  });

  it('a lock not refreshed for longer than the stale age (a suspended machine) is lost even if its file is still there', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const raw = new LocalBackend(store);
    const lock = await StoreLock.acquire(raw, false, 'backup');
    await lock.ensureHeld();
    vi.setSystemTime(Date.now() + 31 * 60_000);
    await expect(lock.ensureHeld()).rejects.toThrow(/not refreshed for 31 minutes/);
    await lock.release();
    expect(await fs.readdir(join(store, 'locks'))).toEqual([]);
  });

  it('a lock refreshed in time stays held past the refresh period', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const lock = await StoreLock.acquire(new LocalBackend(store), false, 'backup');
    vi.setSystemTime(Date.now() + 20 * 60_000);
    await lock.ensureHeld(); // refreshes: older than half the stale age
    vi.setSystemTime(Date.now() + 20 * 60_000);
    await lock.ensureHeld();
    await lock.release();
  });

  it('a read-write mount held by another host sharing the store folder is refused (exit 11 naming host and pid); backups go on', async () => {
    await writeLock('peer-mount', { host: 'nas-peer', pid: 4242, time: new Date().toISOString(), exclusive: false, purpose: 'mount', role: 'live-writer' });
    const mnt = join(work, 'mnt');
    await fs.mkdir(mnt, { recursive: true });
    expectOneErrorLine(
      await sinki(['mount', mnt], { store }),
      11,
      /^sinki: store is locked by mount, read-write on the live tree \(pid 4242 on nas-peer since /,
    );
    expect(await fs.readdir(join(store, 'locks'))).toEqual(['peer-mount']);
    await sinkiOk(['backup', src], { store });
  });

  it('backups and forget --prune started together, round after round: each finishes or is refused (11), and the store checks clean', async () => {
    let prunes = 0;
    for (let round = 0; round < 8; round++) {
      await fs.writeFile(join(src, `round-${round}.txt`), `round ${round}\n`.repeat(1000 + round));
      if (round % 2 === 1) await fs.rm(join(src, `round-${round - 1}.txt`));
      const [backup, prune] = await Promise.all([sinki(['backup', src], { store }), sinki(['forget', '--keep-last', '2', '--prune'], { store })]);
      for (const r of [backup, prune]) {
        if (r.code !== 0) expectOneErrorLine(r, 11, /locked by/);
      }
      if (prune.code === 0) prunes += 1;
    }
    // The race was run: some prunes got the store (and deleted what no snapshot kept) beside backups.
    expect(prunes).toBeGreaterThan(0);
    await sinkiOk(['backup', src], { store });
    await sinkiOk(['check', '--read-data'], { store });
    const out = join(work, 'restored');
    await sinkiOk(['restore', 'latest', out], { store });
    expect(await run('diff', ['-r', src, join(out, 'src')])).toMatchObject({ code: 0, stdout: '' });
  });
});
