import { promises as fs } from 'node:fs';
import type { Command } from 'commander';
import { mountpointSocketPath, sendControl } from '../fuse/control.js';
import { readMountTable } from '../sys/mounts.js';
import { action } from './action.js';
import { printJson } from './output.js';

/** One sinki mount of this machine, as `sinki mounts` reports it. */
export interface MountStatus {
  mountpoint: string;
  /** The kernel's view: ro or rw. */
  read_only: boolean;
  /** answering: its process replied; stale: the process is gone (ENOTCONN); silent: no reply (another user's, or busy). */
  state: 'answering' | 'stale' | 'silent';
  pid: number | null;
  /** Bytes written through the mount, by write size (what the mount's status reports). */
  write_sizes: Record<string, number> | null;
}

async function statusOf(controlDir: string, mountpoint: string, options: string): Promise<MountStatus> {
  const readOnly = options.split(',').includes('ro');
  const stale = await fs.stat(mountpoint).then(
    () => false,
    (err: NodeJS.ErrnoException) => err.code === 'ENOTCONN',
  );
  if (stale) return { mountpoint, read_only: readOnly, state: 'stale', pid: null, write_sizes: null };
  const reply = await sendControl(mountpointSocketPath(controlDir, mountpoint), { op: 'status' }, 2000).catch(() => null);
  if (!reply?.ok) return { mountpoint, read_only: readOnly, state: 'silent', pid: null, write_sizes: null };
  const r = reply.result as { pid?: number; writeSizes?: Record<string, number> };
  return { mountpoint, read_only: readOnly, state: 'answering', pid: r.pid ?? null, write_sizes: r.writeSizes ?? null };
}

export function registerMounts(program: Command): void {
  program
    .command('mounts')
    .description(
      'list the sinki mounts of this machine: read-only or read-write, and whether each mount process answers (else stale: clear it with "sinki umount")',
    )
    .option('--json', 'print as JSON')
    .action(
      action(async (ctx, flags: { json?: boolean }) => {
        const entries = (await readMountTable()).filter((e) => e.fstype === 'fuse.sinki');
        const all = await Promise.all(entries.map((e) => statusOf(ctx.controlDir(), e.mountpoint, e.options)));
        if (flags.json) return printJson(all);
        if (all.length === 0) process.stdout.write('no sinki mounts\n');
        for (const m of all) {
          const how =
            m.state === 'answering'
              ? `pid ${m.pid}`
              : m.state === 'stale'
                ? 'stale: its process is gone; clear it with "sinki umount"'
                : "not answering (another user's mount, or busy)";
          process.stdout.write(`${m.mountpoint}  ${m.read_only ? 'ro' : 'rw'}  ${how}\n`);
        }
      }),
    );
}
