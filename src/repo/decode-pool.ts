import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SinkiError, type ErrorCode } from '../errors.js';

/** Set once per worker: what every blob's check needs. */
export interface DecodeWorkerData {
  cipher: string;
  idKey: Uint8Array;
  idsOfHashes: boolean;
  xzEngine: string;
}

/** One sealed blob to open, decode and check. `sealed` moves to the worker (transferred). */
export interface DecodeJob {
  seq: number;
  sealed: ArrayBuffer;
  sealedOffset: number;
  sealedLength: number;
  key: Uint8Array;
  aad: Uint8Array;
  plainLength: number;
  id: string;
  what: string;
}

export type DecodeReply = { seq: number; plain: ArrayBuffer; length: number } | { seq: number; error: { message: string; code: ErrorCode } };

const WORKER_FILE = fileURLToPath(new URL('./decode-worker.js', import.meta.url));

/**
 * Worker threads that open, decode and verify blobs (AES-GCM, xz, the id's HMAC) so that a restore's
 * main thread only reads packs and writes files. Buffers cross without copies where they own their
 * memory. Workers are unref'd: an idle pool never keeps the process alive.
 */
export class DecodePool {
  private readonly workers: Array<{ worker: Worker; busy: number }> = [];
  private started = false;
  private readonly waiting = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void; worker: number }>();
  private seq = 0;
  private failure: Error | null = null;

  /** null when the worker file is not built (tests that run the TypeScript sources): decode on this thread. */
  static create(data: DecodeWorkerData, size = Math.max(1, availableParallelism())): DecodePool | null {
    if (!existsSync(WORKER_FILE)) return null;
    return new DecodePool(data, size);
  }

  private constructor(
    private readonly data: DecodeWorkerData,
    private readonly size: number,
  ) {}

  /** Workers start with the first blob: a restore that fails before reading any costs none. */
  private start(): void {
    this.started = true;
    const { data, size } = this;
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_FILE, { workerData: data });
      worker.unref();
      worker.on('message', (reply: DecodeReply) => this.settle(reply));
      worker.on('error', (err) => this.fail(new SinkiError('FATAL', `decode worker failed: ${err.message}`)));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new SinkiError('FATAL', `decode worker exited with code ${code}`));
      });
      this.workers.push({ worker, busy: 0 });
    }
  }

  decode(sealed: Buffer, key: Buffer, aad: Buffer, plainLength: number, id: string, what: string): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.started) this.start();
    // A Buffer that owns its memory moves as it is; a slice of a larger one (small reads share a pool) is copied.
    const own = sealed.byteOffset === 0 && sealed.byteLength === sealed.buffer.byteLength && sealed.buffer instanceof ArrayBuffer;
    const moving = own ? (sealed.buffer as ArrayBuffer) : new Uint8Array(sealed).buffer;
    let pick = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.workers[i]!.busy < this.workers[pick]!.busy) pick = i;
    const target = this.workers[pick]!;
    const seq = ++this.seq;
    const job: DecodeJob = { seq, sealed: moving, sealedOffset: 0, sealedLength: sealed.length, key, aad, plainLength, id, what };
    return new Promise<Buffer>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject, worker: pick });
      if (target.busy++ === 0) target.worker.ref();
      target.worker.postMessage(job, [moving]);
    });
  }

  private settle(reply: DecodeReply): void {
    const w = this.waiting.get(reply.seq);
    if (!w) return;
    this.waiting.delete(reply.seq);
    const slot = this.workers[w.worker]!;
    if (--slot.busy === 0) slot.worker.unref();
    if ('error' in reply) w.reject(new SinkiError(reply.error.code, reply.error.message));
    else w.resolve(Buffer.from(reply.plain, 0, reply.length));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  /**
   * Lets each worker finish what it was given and exit by itself. Not terminate(): a worker stopped
   * while liblzma's binding is throwing (a damaged blob) takes the whole process down with it.
   */
  async close(): Promise<void> {
    const exits = this.workers.map((w) => new Promise<void>((resolve) => (w.worker.threadId === -1 ? resolve() : w.worker.once('exit', () => resolve()))));
    for (const w of this.workers) {
      // Held until they are gone: unref'd workers would let the process end in the middle of this wait.
      w.worker.ref();
      w.worker.postMessage({ stop: true });
    }
    await Promise.all(exits);
    this.workers.length = 0;
  }
}
