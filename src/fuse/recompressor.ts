import type { Recompressing } from '../repo/interfaces.js';

export interface RecompressorOptions {
  /** Start this long after the last read or write through the mount. */
  idleMs: number;
  /** Makes the recompressed copies durable (packs and index), under the mount's commit lock. */
  flush: () => Promise<void>;
  log: (line: string) => void;
  /** Below this much free space where the store lives, chunks are compressed before they are stored. */
  minFreeBytes: number;
}

/**
 * Chunks the mount stored raw because the compressor was busy (Repository.queueBlobOrDefer) are
 * compressed again once the mount is left alone for a moment (no reads or writes), into new packs.
 * Their raw copies are reclaimed at unmount, or by `sinki prune`. Unmount does not wait for the
 * queue: what is left is saved as a backlog (backlog.ts) for the next mount or `sinki compact`; a
 * chunk still raw when the process dies stays raw (correct, only larger).
 */
export class Recompressor {
  private readonly queue = new Set<string>();
  private lastUse = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private cancelled = false;
  /** Rounds are held off while the mount frees space (hold()). */
  private held = 0;
  recompressed = 0;
  /** False while the store's disk is nearly full: raw copies would need room that compressed ones do not. */
  deferAllowed = true;

  constructor(
    private readonly repo: Recompressing,
    private readonly options: RecompressorOptions,
  ) {}

  /** Called periodically: deferring stops while the store's disk has less than minFreeBytes free. */
  async checkRoom(): Promise<void> {
    const free = await this.repo.backend.freeBytes().catch(() => null);
    const allowed = free === null || free >= this.options.minFreeBytes;
    if (allowed !== this.deferAllowed) {
      this.options.log(
        allowed
          ? 'the store has room again: chunks may be stored uncompressed while the compressor is busy'
          : `less than ${Math.round(this.options.minFreeBytes / 2 ** 30)} GiB free where the store lives: every chunk is compressed before it is stored`,
      );
    }
    this.deferAllowed = allowed;
  }

  get waiting(): number {
    return this.queue.size;
  }

  /** The chunks still to compress. */
  get queued(): string[] {
    return [...this.queue];
  }

  add(id: string): void {
    this.queue.add(id);
    this.usedNow();
  }

  /** Reads and writes through the mount come first: any of them postpones (or ends) the round. */
  usedNow(): void {
    this.lastUse = Date.now();
    if (this.queue.size > 0 && !this.timer && !this.running && !this.cancelled && this.held === 0) {
      this.timer = setTimeout(() => this.onTimer(), this.options.idleMs);
      this.timer.unref();
    }
  }

  private onTimer(): void {
    this.timer = null;
    const quietFor = Date.now() - this.lastUse;
    if (quietFor < this.options.idleMs) {
      this.timer = setTimeout(() => this.onTimer(), this.options.idleMs - quietFor);
      this.timer.unref();
      return;
    }
    this.running = this.run(true)
      .catch((err: Error) => this.options.log(`recompression paused: ${err.message}`))
      .finally(() => {
        this.running = null;
        this.usedNow();
      });
  }

  /** Works through the queue; when `untilUse`, stops as soon as the mount is used again. */
  private async run(untilUse: boolean): Promise<void> {
    const started = this.lastUse;
    let queued = 0;
    for (const id of [...this.queue]) {
      if (this.cancelled || this.held > 0 || (untilUse && this.lastUse !== started)) break;
      this.queue.delete(id);
      // A chunk still in the open pack is not raw on disk yet: try it again next round. One that is
      // gone altogether (freed as unused) is dropped.
      if (await this.repo.recompressBlob(id)) queued += 1;
      else if (this.repo.isQueued(id)) this.queue.add(id);
    }
    if (queued > 0) {
      await this.options.flush();
      this.recompressed += queued;
    }
  }

  cancel(): void {
    this.cancelled = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Runs `fn` with no round running (one in progress ends after its current chunk first). */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    this.held += 1;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      await this.running;
      return await fn();
    } finally {
      this.held -= 1;
      this.usedNow();
    }
  }

  /** At unmount: no new round; the one running ends after its current chunk. */
  async stop(): Promise<void> {
    this.cancel();
    await this.running;
  }
}
