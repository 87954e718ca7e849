import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { run } from './cli.js';

/** Small disks for full-disk tests: tmpfs mounts (root with CAP_SYS_ADMIN), unmounted by unmountTmpfsAll(). */
const mounted: string[] = [];

export async function mountTmpfs(dir: string, size: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const m = await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  if (m.code !== 0) throw new Error(`cannot mount a tmpfs (needs root with CAP_SYS_ADMIN): ${m.stderr}`);
  mounted.push(dir);
}

/** For afterAll: every tmpfs this test file mounted, newest first (lazily if busy). */
export async function unmountTmpfsAll(): Promise<void> {
  for (const dir of mounted.splice(0).reverse()) {
    if ((await run('umount', [dir])).code !== 0) await run('umount', ['-l', dir]);
  }
}

export async function freeBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * Fills the file system of `dir` until only about `leave` bytes are free, appending to `dir/filler`
 * (called again, it tops the filler up); returns the filler's path.
 */
export async function fillLeaving(dir: string, leave: number): Promise<string> {
  const filler = join(dir, 'filler');
  const handle = await fs.open(filler, 'a');
  try {
    let free = await freeBytes(dir);
    while (free > leave) {
      const n = Math.min(free - leave, 1024 * 1024);
      await handle.write(Buffer.alloc(n, 0x5a));
      free = await freeBytes(dir);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await handle.close();
  }
  return filler;
}
