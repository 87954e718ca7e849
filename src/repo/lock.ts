import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isSinkiError, SinkiError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import { procStat, processAlive } from '../sys/process.js';
import { lockPath, LOCKS_DIR } from './layout.js';

export interface LockRecord {
  host: string;
  pid: number;
  time: string;
  exclusive: boolean;
  purpose: string;
  /** When the holder process started (Linux: clock ticks after boot), so that a reused pid is not taken for the holder. */
  started?: string;
  /**
   * 'live-writer': a read-write mount of the live tree (refs/head). Two of them exclude each other
   * (never a silent last-writer-wins on refs/head); each is shared towards everything else.
   */
  role?: 'live-writer';
}

export interface LockOptions {
  /** A lock this process already holds, which does not conflict (upgrading shared to exclusive). */
  besides?: StoreLock;
  role?: LockRecord['role'];
}

/** A lock not refreshed for this long is stale even if its process may be alive elsewhere. */
export const LOCK_STALE_MS = 30 * 60 * 1000;
const REFRESH_MS = 5 * 60 * 1000;
/**
 * A holder commits only while its last refresh is younger than this: others take a lock for stale
 * only after LOCK_STALE_MS, so a commit checked against this bound cannot race a prune that ignored it.
 */
const HELD_MS = LOCK_STALE_MS / 2;

export async function isStale(lock: LockRecord, now = Date.now(), host = hostname()): Promise<boolean> {
  if (now - Date.parse(lock.time) > LOCK_STALE_MS) return true;
  if (lock.host !== host) return false;
  if (!processAlive(lock.pid)) return true;
  // The pid of a killed holder is soon given to some other process: then it is not the holder.
  const proc = await procStat(lock.pid);
  if (!proc) return false;
  return proc.state === 'Z' || (lock.started !== undefined && proc.started !== lock.started);
}

/** EROFS, raw or as the cause of the backend's SinkiError. */
function onReadOnlyFs(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } } | null;
  return e?.code === 'EROFS' || e?.cause?.code === 'EROFS';
}

export async function readLocks(backend: Backend): Promise<Array<{ id: string; lock: LockRecord | null }>> {
  const out: Array<{ id: string; lock: LockRecord | null }> = [];
  for (const id of await backend.list(LOCKS_DIR)) {
    try {
      out.push({ id, lock: JSON.parse((await backend.read(lockPath(id))).toString()) as LockRecord });
    } catch {
      out.push({ id, lock: null });
    }
  }
  return out;
}

function conflicts(mine: { exclusive: boolean; role?: LockRecord['role'] }, other: LockRecord): boolean {
  return mine.exclusive || other.exclusive || (mine.role !== undefined && mine.role === other.role);
}

function describeHolder(lock: LockRecord): string {
  const role = lock.role === 'live-writer' ? ', read-write on the live tree' : '';
  return `store is locked by ${lock.purpose}${role} (pid ${lock.pid} on ${lock.host} since ${lock.time})`;
}

/**
 * Shared locks coexist; an exclusive lock excludes everything; two live writers exclude each other.
 * Stale locks are ignored (and cleared by `sinki unlock`). A holder that loses its lock (removed by
 * `sinki unlock --all`, or not refreshed in time, say across a suspend) stops: `ensureHeld` throws
 * before anything is committed.
 */
export class StoreLock {
  private timer: NodeJS.Timeout | null = null;
  private lastRefreshMs = Date.now();
  private lost: SinkiError | null = null;
  /** asOneCommit() sections running, and whether the lock was verified in the current one. */
  private commits = 0;
  private verifiedInCommit = false;
  private constructor(
    private readonly backend: Backend,
    /** null: no lock file was written (read-only store). */
    readonly id: string | null,
    private readonly record: LockRecord,
  ) {}

  static async acquire(backend: Backend, exclusive: boolean, purpose: string, options: LockOptions = {}): Promise<StoreLock> {
    const id = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const started = (await procStat(process.pid))?.started;
    const record: LockRecord = {
      host: hostname(),
      pid: process.pid,
      time: new Date().toISOString(),
      exclusive,
      purpose,
      ...(started ? { started } : {}),
      ...(options.role ? { role: options.role } : {}),
    };
    const conflict = async (): Promise<void> => {
      for (const { id: other, lock } of await readLocks(backend)) {
        if (other === id || other === options.besides?.id || !lock || (await isStale(lock))) continue;
        if (conflicts(record, lock)) {
          throw new SinkiError('LOCKED', `${describeHolder(lock)}; if that process is gone, run "sinki unlock"`);
        }
      }
    };
    if (!backend.writable) {
      // A remote store is read here, never changed: readers need no lock file on it.
      if (exclusive) throw new SinkiError('USAGE', `cannot ${purpose}: ${backend.location} is read-only here`);
      return new StoreLock(backend, null, record);
    }
    await conflict();
    try {
      await backend.write(lockPath(id), Buffer.from(JSON.stringify(record)));
    } catch (err) {
      if (!onReadOnlyFs(err)) throw err;
      // Nobody can change a store on a read-only file system, so readers need no lock there.
      if (!exclusive && !options.role) return new StoreLock(backend, null, record);
      throw new SinkiError('IO', `cannot ${purpose}: the store is on a read-only file system`);
    }
    const lock = new StoreLock(backend, id, record);
    try {
      await conflict(); // someone may have raced us between the check and the write
    } catch (err) {
      await lock.release();
      throw err;
    }
    lock.timer = setInterval(() => void lock.refresh().catch(() => undefined), REFRESH_MS);
    lock.timer.unref();
    return lock;
  }

  /** Rewrites the lock's time; finds out first whether it is still ours. */
  async refresh(): Promise<void> {
    if (this.id === null || this.lost) return;
    await this.verify();
    this.record.time = new Date().toISOString();
    await this.backend.write(lockPath(this.id), Buffer.from(JSON.stringify(this.record)));
    this.lastRefreshMs = Date.now();
  }

  private async verify(): Promise<void> {
    if (this.id === null || this.lost) return;
    const since = Date.now() - this.lastRefreshMs;
    if (since > LOCK_STALE_MS) {
      this.lose(`it was not refreshed for ${Math.round(since / 60_000)} minutes (was the machine suspended?), so others may have taken it for stale`);
    }
    const bytes = await this.backend.read(lockPath(this.id)).catch((err: unknown) => {
      if (isSinkiError(err, 'NOT_FOUND') || (err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    });
    let mine = false;
    try {
      const seen = bytes ? (JSON.parse(bytes.toString()) as LockRecord) : null;
      mine = seen !== null && seen.pid === this.record.pid && seen.host === this.record.host;
    } catch {
      mine = false;
    }
    if (!mine) this.lose('its lock file was removed or replaced (by "sinki unlock --all"?)');
  }

  private lose(why: string): never {
    this.lost = new SinkiError('LOCKED', `${this.record.purpose} lost its lock on the store: ${why}; nothing more is committed`);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    throw this.lost;
  }

  /**
   * Throws LOCKED unless this process still holds its lock and refreshed it recently enough that no
   * other process can have taken it for stale: call before anything becomes visible to others.
   */
  async ensureHeld(): Promise<void> {
    if (this.id === null) return;
    if (this.lost) throw this.lost;
    if (this.commits > 0 && this.verifiedInCommit) return;
    if (Date.now() - this.lastRefreshMs > HELD_MS) await this.refresh();
    else await this.verify();
    if (this.commits > 0) this.verifiedInCommit = true;
  }

  /**
   * Runs `fn` as one commit: ensureHeld reads the lock file before its first write only, not before
   * each of the index segment, refs/head and generation files that a mount's commit writes.
   */
  async asOneCommit<T>(fn: () => Promise<T>): Promise<T> {
    this.commits += 1;
    try {
      return await fn();
    } finally {
      this.commits -= 1;
      if (this.commits === 0) this.verifiedInCommit = false;
    }
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.id !== null) await this.backend.remove(lockPath(this.id));
  }
}

/** Removes stale locks (or all, with `all`); returns how many went. */
export async function clearLocks(backend: Backend, all: boolean): Promise<number> {
  let n = 0;
  for (const { id, lock } of await readLocks(backend)) {
    if (all || !lock || (await isStale(lock))) {
      await backend.remove(lockPath(id));
      n += 1;
    }
  }
  return n;
}
