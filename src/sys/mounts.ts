import { promises as fs, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The mount table of this process's mount namespace, as the kernel writes it (one line per mount, like /proc/mounts). */
const MOUNT_TABLE = '/proc/self/mounts';

export interface MountEntry {
  source: string;
  mountpoint: string;
  fstype: string;
  options: string;
}

/** The kernel writes a space, tab, newline and backslash in a field as \040, \011, \012 and \134. */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Parses the text of /proc/mounts (or /proc/self/mounts): one entry per line, fields unescaped. */
export function parseMountTable(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [source, mountpoint, fstype, options] = line.split(' ');
    if (source === undefined || mountpoint === undefined || fstype === undefined) continue;
    entries.push({
      source: unescapeMountField(source),
      mountpoint: unescapeMountField(mountpoint),
      fstype: unescapeMountField(fstype),
      options: options ?? '',
    });
  }
  return entries;
}

/** The mount table (empty where there is no /proc). */
export async function readMountTable(): Promise<MountEntry[]> {
  return parseMountTable(await fs.readFile(MOUNT_TABLE, 'utf8').catch(() => ''));
}

/** The mount table, read synchronously: for tests and scripts, never for code the mount can reach. */
export function readMountTableSync(): MountEntry[] {
  try {
    return parseMountTable(readFileSync(MOUNT_TABLE, 'utf8'));
  } catch {
    return [];
  }
}

/** The entry mounted at `path` (the last one, when mounts are stacked there), or undefined. */
export function mountAt(table: readonly MountEntry[], path: string): MountEntry | undefined {
  const abs = resolve(path);
  return table.filter((e) => e.mountpoint === abs).at(-1);
}

/** Whether anything is mounted at the path. */
export async function isMountPoint(path: string): Promise<boolean> {
  return mountAt(await readMountTable(), path) !== undefined;
}

/** True while a FUSE file system is mounted at the path. */
export async function fuseMountedAt(path: string): Promise<boolean> {
  return /^fuse/.test(mountAt(await readMountTable(), path)?.fstype ?? '');
}
