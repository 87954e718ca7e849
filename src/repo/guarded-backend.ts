import type { Backend } from '../backend/backend.js';
import { LOCKS_DIR, maxObjectBytes, PACKS_DIR } from './layout.js';

/** What a writer must still hold before it makes anything visible to other processes. */
export interface HeldGuard {
  ensureHeld(): Promise<void>;
}

/**
 * The store's view of a backend, for commands that hold a lock:
 * - it asks the lock before every write that others act on (index segments, snapshots, refs, keys,
 *   SHA256SUMS) and before every removal: a writer whose lock was lost stops before it commits.
 *   Packs are written unchecked: a pack nothing names is only unused space;
 * - every whole-object read is capped by the object's kind (layout.ts maxObjectBytes): a planted
 *   huge file is refused as damage before it is buffered.
 */
export class GuardedBackend implements Backend {
  private guard: HeldGuard | null = null;

  constructor(private readonly inner: Backend) {}

  get location(): string {
    return this.inner.location;
  }

  get writable(): boolean {
    return this.inner.writable;
  }

  /** From now on, commits need `guard` held. */
  attach(guard: HeldGuard): void {
    this.guard = guard;
  }

  private async check(path: string): Promise<void> {
    if (this.guard && !path.startsWith(`${LOCKS_DIR}/`)) await this.guard.ensureHeld();
  }

  read(path: string, maxBytes = maxObjectBytes(path)): Promise<Buffer> {
    return this.inner.read(path, maxBytes);
  }

  readRange(path: string, offset: number, length: number): Promise<Buffer> {
    return this.inner.readRange(path, offset, length);
  }

  async write(path: string, data: Buffer | readonly Buffer[]): Promise<void> {
    if (!path.startsWith(`${PACKS_DIR}/`)) await this.check(path);
    return this.inner.write(path, data);
  }

  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }

  size(path: string): Promise<number | null> {
    return this.inner.size(path);
  }

  async remove(path: string): Promise<void> {
    await this.check(path);
    return this.inner.remove(path);
  }

  freeBytes(): Promise<number | null> {
    return this.inner.freeBytes();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
