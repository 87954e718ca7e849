/*
 * Real mounts for the FUSE tests: a store, `sinki mount --background`, and a cleanup that always
 * leaves nothing mounted and no mount process running, even when a test failed half-way.
 */
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { expect } from 'vitest';
import { isMountPoint } from '../../src/sys/mounts.js';
import { CLI, initStore, run, sinki, sinkiOk, type RunResult } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Mountpoints this test file mounted (cleared on a clean unmount) and mount processes it started. */
const mounted = new Set<string>();
const pids = new Set<number>();

export interface Store {
  path: string;
  /** A folder next to the store for sources, mountpoints and models (not on the mount). */
  work: string;
}

export async function makeStore(label: string, initArgs: readonly string[] = []): Promise<Store> {
  const work = await tempDir(`fuse-${label}`);
  const path = join(work, 'store');
  await initStore(path, initArgs);
  return { path, work };
}

export function isMounted(mnt: string): Promise<boolean> {
  return isMountPoint(mnt);
}

/** Where `sinki mount --background` writes the mount process's log. */
export function mountLog(mnt: string): string {
  return join(dirname(resolve(mnt)), `.${basename(mnt)}.sinki-mount.log`);
}

export interface Mounted {
  mnt: string;
  pid: number;
  /** The --background output. */
  stdout: string;
}

/** `sinki mount MNT --background` plus flags; fails the test unless it mounted. */
export async function mount(store: Store, mnt: string, flags: readonly string[] = []): Promise<Mounted> {
  await fs.mkdir(mnt, { recursive: true }).catch(() => undefined);
  const r = await sinki(['mount', mnt, '--background', ...flags], { store: store.path });
  const pid = Number(/\(pid (\d+),/.exec(r.stdout)?.[1]);
  if (pid) pids.add(pid);
  if (r.code !== 0 || !pid) throw new Error(`sinki mount exited ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout}\nlog: ${await readLog(mnt)}`);
  mounted.add(resolve(mnt));
  expect(await isMounted(mnt)).toBe(true);
  return { mnt, pid, stdout: r.stdout };
}

/** `sinki umount MNT`; fails the test unless the mount is gone and its process has exited. */
export async function umount(m: Mounted): Promise<RunResult> {
  const r = await sinkiOk(['umount', m.mnt]);
  expect(await isMounted(m.mnt)).toBe(false);
  await waitForExit(m.pid);
  mounted.delete(resolve(m.mnt));
  pids.delete(m.pid);
  return r;
}

/**
 * A mount made by other means (mount(8) and the mount.fuse.sinki helper): its process is found by
 * its command line, and cleanup() unmounts it and stops that process like the others.
 */
export function trackMount(mnt: string): Mounted {
  const abs = resolve(mnt);
  const pid = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .find((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv.includes(CLI) && argv.includes('mount') && argv.some((a) => a && resolve(a) === abs);
      } catch {
        return false;
      }
    });
  if (!pid) throw new Error(`no sinki mount process for ${mnt}`);
  mounted.add(abs);
  pids.add(pid);
  return { mnt, pid, stdout: '' };
}

/** For a mount that ended without `sinki umount` (its process has exited): nothing left to clean up. */
export function forgetMount(m: Mounted): void {
  mounted.delete(resolve(m.mnt));
  pids.delete(m.pid);
}

export async function readLog(mnt: string): Promise<string> {
  return fs.readFile(mountLog(mnt), 'utf8').catch(() => '(no log)');
}

/**
 * Some thread of the process still runs. A zombie does not count (init reaps the detached mount
 * process, sometimes seconds later), but a zombie main thread whose FUSE threads are still
 * exiting does: until they are gone the kernel connection is not yet torn down.
 */
export function isAlive(pid: number): boolean {
  const running = (tid: string): boolean => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false; // the thread is gone
    }
  };
  try {
    return readdirSync(`/proc/${pid}/task`).some(running);
  } catch {
    return false;
  }
}

/** Still our `sinki mount` (guards against a recycled pid). */
function isMountProcess(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(CLI) && argv.includes('mount');
  } catch {
    return false;
  }
}

export async function waitFor(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function waitForExit(pid: number, timeoutMs = 15_000): Promise<void> {
  return waitFor(`mount process ${pid} to exit`, () => !isAlive(pid), timeoutMs);
}

/**
 * For afterEach/afterAll: unmount whatever this file left mounted (`sinki umount`, then
 * `fusermount -uz`), stop the mount processes it started (by pid only), remove its temp folders.
 */
export async function cleanup(): Promise<void> {
  for (const mnt of [...mounted]) {
    if (await isMounted(mnt)) await Promise.race([sinki(['umount', mnt]), new Promise((r) => setTimeout(r, 20_000))]);
    if (await isMounted(mnt)) await run('fusermount', ['-uz', mnt]);
    mounted.delete(mnt);
  }
  for (const pid of [...pids]) {
    if (isAlive(pid) && isMountProcess(pid)) {
      process.kill(pid, 'SIGTERM');
      await waitForExit(pid, 5000).catch(() => (isAlive(pid) ? process.kill(pid, 'SIGKILL') : undefined));
    }
    pids.delete(pid);
  }
  await removeTempDirs();
}

/** Errno code of a failing call (or 'ok'), for compact assertions on POSIX errors. */
export async function errCode(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (err: NodeJS.ErrnoException) => err.code ?? String(err),
  );
}

/**
 * `find -printf` over a tree: path, type, permission bits, size (files), symlink target, uid, gid
 * and, with `mtimes`, the mtime to the nanosecond (what the mount keeps with the patched
 * fuse-native). One sorted line each; a mount's /.snapshots and /.versions are left out.
 */
export async function listing(root: string, opts: { mtimes?: boolean } = {}): Promise<string[]> {
  const format = `%P\t%y\t%m\t%s\t%l\t%U\t%G${opts.mtimes ? '\t%T@' : ''}\n`;
  const r = await run('find', ['.', '-mindepth', '1', '(', '-path', './.snapshots', '-o', '-path', './.versions', ')', '-prune', '-o', '-printf', format], {
    cwd: root,
  });
  if (r.code !== 0) throw new Error(`find in ${root} failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = line.split('\t');
      if (f[1] !== 'f') f[3] = '-'; // directory and symlink sizes differ between filesystems
      return f.join('\t');
    })
    .sort();
}

/** `diff -r --no-dereference`: contents and symlink targets; fails the test with the diff output. */
export async function expectSameTree(a: string, b: string): Promise<void> {
  const r = await run('diff', ['-r', '--no-dereference', a, b]);
  expect({ code: r.code, out: (r.stdout + r.stderr).slice(0, 4000) }).toEqual({ code: 0, out: '' });
  expect(await listing(b)).toEqual(await listing(a));
}

export async function genDataset(dir: string, size: string, seed: number): Promise<void> {
  const r = await run(process.execPath, [new URL('../../scripts/gen-dataset.mjs', import.meta.url).pathname, dir, '--size', size, '--seed', String(seed)]);
  if (r.code !== 0) throw new Error(`gen-dataset failed: ${r.stderr}`);
}
