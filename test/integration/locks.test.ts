import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectOneErrorLine, FAST_KDF, initStore, run, sinki, sinkiOk } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

/** The pid of a process that has exited (pids are not reused that quickly). */
async function deadPid(): Promise<number> {
  const r = await run('sh', ['-c', 'echo $$']);
  return Number(r.stdout.trim());
}

describe('store locks', () => {
  let work: string;
  let store: string;
  let src: string;
  let locks: string;

  const writeLock = async (name: string, record: Record<string, unknown>): Promise<void> => {
    await fs.mkdir(locks, { recursive: true, mode: 0o700 });
    await fs.writeFile(join(locks, name), JSON.stringify(record), { mode: 0o600 });
  };

  beforeAll(async () => {
    work = await tempDir('locks');
    store = join(work, 'store');
    src = join(work, 'src');
    locks = join(store, 'locks');
    await fs.mkdir(src);
    await fs.writeFile(join(src, 'f.txt'), 'locked in\n');
    await initStore(store);
  });

  beforeEach(async () => {
    await fs.rm(locks, { recursive: true, force: true });
  });

  afterAll(removeTempDirs);

  it('a stale lock (its process on this host is gone) does not block a backup, and sinki unlock removes it', async () => {
    const pid = await deadPid();
    expect(() => process.kill(pid, 0)).toThrow();
    await writeLock('stale-lock', { host: hostname(), pid, time: new Date().toISOString(), exclusive: true, purpose: 'test' });
    await sinkiOk(['backup', src], { store });
    expect(await fs.readdir(locks)).toEqual(['stale-lock']); // backup released only its own lock
    const u = await sinkiOk(['unlock'], { store });
    expect(u.stdout).toBe('removed 1 lock\n');
    expect(await fs.readdir(locks)).toEqual([]);
  });

  it('a lock older than 30 minutes counts as stale even from another host', async () => {
    await writeLock('old-lock', { host: 'some-other-host', pid: 1, time: new Date(Date.now() - 31 * 60_000).toISOString(), exclusive: true, purpose: 'test' });
    await sinkiOk(['backup', src], { store });
  });

  it('a live exclusive lock makes backup exit 11 with one line; unlock keeps it, unlock --all removes it', async () => {
    await writeLock('live-lock', { host: hostname(), pid: process.pid, time: new Date().toISOString(), exclusive: true, purpose: 'test' });
    const before = await fs.readdir(join(store, 'snapshots'));
    expectOneErrorLine(await sinki(['backup', src], { store }), 11, new RegExp(`locked by test \\(pid ${process.pid} on ${hostname()}`));
    expectOneErrorLine(await sinki(['ls', 'latest'], { store }), 11);
    expect(await fs.readdir(join(store, 'snapshots'))).toEqual(before);
    expect(await fs.readdir(locks)).toEqual(['live-lock']); // the refused command left no lock of its own

    expect((await sinkiOk(['unlock'], { store })).stdout).toBe('removed 0 locks\n');
    expect(await fs.readdir(locks)).toEqual(['live-lock']);
    expect((await sinkiOk(['unlock', '--all'], { store })).stdout).toBe('removed 1 lock\n');
    await sinkiOk(['backup', src], { store });
  });

  it('a live shared lock lets a backup run but keeps out exclusive commands (exit 11)', async () => {
    await writeLock('shared-lock', { host: hostname(), pid: process.pid, time: new Date().toISOString(), exclusive: false, purpose: 'test' });
    await sinkiOk(['backup', src], { store });
    expectOneErrorLine(await sinki(['key', 'passwd', ...FAST_KDF], { store, env: { SINKI_NEW_PASSWORD: 'never used' } }), 11, /locked by test/);
    // the password did not change
    await sinkiOk(['ls', 'latest'], { store });
  });

  it('unlock refuses a folder that is not a store (exit 10) and deletes nothing there', async () => {
    const notAStore = join(work, 'not-a-store');
    await fs.mkdir(join(notAStore, 'locks'), { recursive: true });
    await fs.writeFile(join(notAStore, 'locks', 'precious'), 'not a lock');
    expectOneErrorLine(await sinki(['unlock', '--all'], { store: notAStore }), 10, /is not a sinki store/);
    expect(await fs.readFile(join(notAStore, 'locks', 'precious'), 'utf8')).toBe('not a lock');
    expectOneErrorLine(await sinki(['unlock'], { store: join(work, 'nothing-here') }), 10, /is not a sinki store/);
  });

  it('two backups at once (both hold shared locks) both succeed and the store checks clean', async () => {
    const other = join(work, 'other-src');
    await fs.mkdir(other, { recursive: true });
    await fs.writeFile(join(other, 'g.txt'), 'the other source\n'.repeat(1000));
    const [a, b] = await Promise.all([sinki(['backup', src], { store }), sinki(['backup', other], { store })]);
    expect([a.code, b.code, a.stderr + b.stderr]).toEqual([0, 0, '']);
    const snaps = JSON.parse((await sinkiOk(['snapshots', '--json'], { store })).stdout) as Array<{ paths: string[] }>;
    expect(snaps.filter((s) => s.paths[0] === other)).toHaveLength(1);
    expect((await sinkiOk(['check', '--read-data'], { store })).stdout).toMatch(/^no errors were found/);
  });

  // A read-only copy (a mounted backup disk, an offsite mirror) must still be readable: readers take no lock there.
  it.skipIf(process.getuid?.() !== 0)('a store on a read-only file system: ls, cat, restore and check work; backup and passwd fail with one line', async () => {
    await sinkiOk(['backup', src], { store });
    const ro = join(work, 'read-only-view');
    await fs.mkdir(ro);
    expect((await run('mount', ['--bind', store, ro])).code).toBe(0);
    try {
      expect((await run('mount', ['-o', 'remount,bind,ro', ro])).code).toBe(0);
      expect((await sinkiOk(['ls', 'latest'], { store: ro })).stdout).toBe('/src\n/src/f.txt\n');
      expect((await sinkiOk(['cat', 'latest', 'src/f.txt'], { store: ro })).stdout).toBe('locked in\n');
      expect((await sinkiOk(['check', '--read-data'], { store: ro })).stdout).toMatch(/^no errors were found/);
      const target = join(work, 'from-read-only');
      await sinkiOk(['restore', 'latest', target], { store: ro });
      expect(await fs.readFile(join(target, 'src', 'f.txt'), 'utf8')).toBe('locked in\n');
      await fs.writeFile(join(src, 'new.txt'), 'cannot be saved here\n');
      expectOneErrorLine(await sinki(['backup', src], { store: ro }), 1, /read-only file system/);
      expectOneErrorLine(await sinki(['key', 'passwd', ...FAST_KDF], { store: ro, env: { SINKI_NEW_PASSWORD: 'x' } }), 1, /read-only file system/);
    } finally {
      await fs.rm(join(src, 'new.txt'), { force: true });
      const u = await run('umount', [ro]);
      if (u.code !== 0) await run('umount', ['-l', ro]);
    }
    expect(await fs.readdir(locks)).toEqual([]);
  });

  it('a normal command leaves no lock behind', async () => {
    await sinkiOk(['backup', src], { store });
    await sinkiOk(['check'], { store });
    expect(await fs.readdir(locks)).toEqual([]);
  });
});
