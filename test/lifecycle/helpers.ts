/*
 * Shared by the lifecycle tests: stores with known contents, manifests to compare restores with,
 * byte-level damage, and mounts that are always unmounted (and their processes gone) afterwards.
 */
import { promises as fs, existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { mountAt, readMountTableSync } from '../../src/sys/mounts.js';
import { run, sinki, type RunResult } from '../helpers/cli.js';
import { diffManifests, isAlive, manifestOf } from '../../scripts/lib/crash-rounds.mjs';

export { diffManifests, isAlive, manifestOf };
export type Manifest = Map<string, string>;

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const isRoot = process.getuid?.() === 0;
export const hasFuse = isRoot && existsSync('/dev/fuse');

export function isMounted(mnt: string): boolean {
  return mountAt(readMountTableSync(), mnt) !== undefined;
}

export async function waitFor(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Mountpoints and mount processes this test file started; `unmountAll` clears them. */
const mounts = new Map<string, number>();

export async function mountStore(store: string, mnt: string, flags: readonly string[] = []): Promise<number> {
  await fs.mkdir(mnt, { recursive: true });
  const r = await sinki(['mount', mnt, '--background', ...flags], { store });
  const pid = Number(/\(pid (\d+),/.exec(r.stdout)?.[1]);
  if (pid) mounts.set(resolve(mnt), pid);
  if (r.code !== 0 || !pid) {
    const log = await fs.readFile(join(dirname(resolve(mnt)), `.${basename(mnt)}.sinki-mount.log`), 'utf8').catch(() => '');
    throw new Error(`sinki mount exited ${r.code}: ${r.stderr}\n${log.slice(-2000)}`);
  }
  return pid;
}

/** `sinki umount`; waits until the mount process is gone. */
export async function unmountStore(mnt: string): Promise<RunResult> {
  const r = await sinki(['umount', mnt]);
  const pid = mounts.get(resolve(mnt));
  if (pid) await waitFor(`mount process ${pid} to exit`, () => !isAlive(pid));
  if (!isMounted(mnt)) mounts.delete(resolve(mnt));
  return r;
}

/** For afterAll: every mount this file made is gone (umount, then fusermount -uz) and its process too (by pid). */
export async function unmountAll(): Promise<void> {
  for (const [mnt, pid] of mounts) {
    if (isMounted(mnt)) await Promise.race([sinki(['umount', mnt]), new Promise((r) => setTimeout(r, 20_000))]);
    if (isMounted(mnt)) await run('fusermount', ['-uz', mnt]);
    if (isAlive(pid)) {
      process.kill(pid, 'SIGTERM');
      await waitFor(`mount process ${pid}`, () => !isAlive(pid), 5000).catch(() => (isAlive(pid) ? process.kill(pid, 'SIGKILL') : undefined));
    }
    mounts.delete(mnt);
  }
}

/** Snapshot ids and times, oldest first. */
export async function snapshotList(store: string): Promise<Array<{ id: string; time: string; paths: string[]; tags: string[] }>> {
  const r = await sinki(['snapshots', '--json'], { store });
  if (r.code !== 0) throw new Error(`sinki snapshots exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Array<{ id: string; time: string; paths: string[]; tags: string[] }>;
}

/**
 * Restores one snapshot into a fresh folder and compares it with its manifest. Where the store is
 * damaged, a file may be missing, but a file that is there must be exactly right: the lines returned
 * name every wrong or unexpected entry.
 */
export async function restoreAndCompare(
  store: string,
  id: string,
  manifest: Manifest,
  target: string,
  opts: { allowMissing: boolean; password?: string },
): Promise<{ result: RunResult; problems: string[] }> {
  const result = await sinki(['restore', id, target], { store, ...(opts.password ? { password: opts.password } : {}) });
  const actual = existsSync(target) ? manifestOf(target) : new Map<string, string>();
  const problems = diffManifests(manifest, actual).filter((line: string) => !(opts.allowMissing && line.startsWith('missing ')));
  return { result, problems: problems.map((p: string) => `snapshot ${id.slice(0, 12)}: ${p}`) };
}

/** Damage a file: flip the bits of one byte. */
export async function flipByte(file: string, at: number): Promise<void> {
  const bytes = await fs.readFile(file);
  const i = ((at % bytes.length) + bytes.length) % bytes.length;
  bytes[i] = bytes[i]! ^ 0xff;
  await fs.writeFile(file, bytes);
}

export async function truncateTo(file: string, length: number): Promise<void> {
  await fs.truncate(file, Math.max(0, Math.floor(length)));
}

/** Exchanges the contents of two files (each keeps its name). */
export async function swapContents(a: string, b: string): Promise<void> {
  const [x, y] = await Promise.all([fs.readFile(a), fs.readFile(b)]);
  await fs.writeFile(a, y);
  await fs.writeFile(b, x);
}

/** Names of the pack files in a store (temp files of a write in progress are not packs). */
export async function packIds(store: string): Promise<string[]> {
  const out: string[] = [];
  for (const dir of await fs.readdir(join(store, 'packs')).catch(() => [])) {
    for (const name of await fs.readdir(join(store, 'packs', dir)).catch(() => [])) if (/^[0-9a-f]{64}$/.test(name)) out.push(name);
  }
  return out.sort();
}

/** Store size in bytes (what `du -sb` says), for "prune frees space". */
export async function storeBytes(store: string): Promise<number> {
  const r = await run('du', ['-sb', store]);
  return Number(r.stdout.split('\t')[0]);
}

/** Lines of stderr that break the error contract: a stack trace or an "unexpected error". */
export function contractBreaches(r: RunResult, what: string): string[] {
  const out: string[] = [];
  if (/unexpected error/.test(r.stderr)) out.push(`${what}: ${r.stderr.trim().split('\n')[0]}`);
  if (/^\s+at /m.test(r.stderr)) out.push(`${what}: stack trace on stderr`);
  return out;
}
