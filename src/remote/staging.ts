import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isStale, LOCK_STALE_MS } from '../repo/lock.js';
import { procStat } from '../sys/process.js';

/**
 * Names of a push's temp folders: its frozen metadata inside the store and its staging folder on the
 * remote (sinki never lists `.tmp-` names). The name says who made it — a tag of the host, the pid
 * and that process's start time — so that a later push can tell a folder of a push that died
 * (SIGKILL, power loss) from one of a push still running beside it, and clear only the former.
 */
export const STAGING_PREFIX = '.tmp-push-';

export interface StagingOwner {
  /** First 8 hex digits of the SHA-256 of the host name: the remote learns no host name. */
  host: string;
  pid: number;
  /** Start time of the process (Linux: clock ticks after boot, /proc/PID/stat field 22); "0" where unknown. */
  started: string;
}

const NAME = /^\.tmp-push-([0-9a-f]{8})-(\d+)-(\d+)-[0-9a-f]+$/;

export function hostTag(host: string = hostname()): string {
  return createHash('sha256').update(host).digest('hex').slice(0, 8);
}

export function stagingName(owner: StagingOwner, random: string = randomBytes(4).toString('hex')): string {
  return `${STAGING_PREFIX}${owner.host}-${owner.pid}-${owner.started}-${random}`;
}

/** The owner a staging name records; null for other names (older sinki versions named them by a random number alone). */
export function parseStagingName(name: string): StagingOwner | null {
  const m = NAME.exec(name);
  return m ? { host: m[1]!, pid: Number(m[2]), started: m[3]! } : null;
}

/** This process as the owner of a push. */
export async function currentOwner(): Promise<StagingOwner> {
  return { host: hostTag(), pid: process.pid, started: (await procStat(process.pid))?.started ?? '0' };
}

/**
 * Whether the push that made this folder is gone: true only for a folder of this host whose process
 * has ended (or whose pid now belongs to another process). A folder of another host, or one with an
 * older name, is never known to be stale: null.
 */
export async function ownerGone(name: string, host: string = hostname()): Promise<boolean | null> {
  const owner = parseStagingName(name);
  if (!owner || owner.host !== hostTag(host)) return null;
  // A lock record with the current time: only the process test decides (a push may run for hours).
  return isStale(
    { host, pid: owner.pid, time: new Date().toISOString(), exclusive: false, purpose: 'push', ...(owner.started !== '0' ? { started: owner.started } : {}) },
    Date.now(),
    host,
  );
}

/**
 * Removes the frozen-metadata folders that killed pushes left in the store. Folders named the old
 * way are removed once they are older than a stale lock (no push took that long to freeze and send
 * its metadata without refreshing its lock). Returns the names removed.
 */
export async function removeStaleLocalStaging(storePath: string): Promise<string[]> {
  const removed: string[] = [];
  const names = await fs.readdir(storePath).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(STAGING_PREFIX))) {
    const path = join(storePath, name);
    let gone = await ownerGone(name);
    if (gone === null && !parseStagingName(name)) {
      const st = await fs.stat(path).catch(() => null);
      gone = st !== null && Date.now() - st.mtimeMs > LOCK_STALE_MS;
    }
    if (!gone) continue;
    // A read-only store (nobody writes it meanwhile) keeps what it has.
    if (
      await fs.rm(path, { recursive: true, force: true }).then(
        () => true,
        () => false,
      )
    )
      removed.push(name);
  }
  return removed;
}
