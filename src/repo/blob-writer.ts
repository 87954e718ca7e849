import { availableParallelism } from 'node:os';
import { SinkiError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import { SEAL_OVERHEAD } from '../crypto/aead.js';
import { BlobEncoding, decodeBlob, encodeBlob, joinedPayload, payloadEncoding, rawPayloadPieces, type PayloadPieces } from '../codec/blob.js';
import type { XzEngine } from '../codec/xz.js';
import type { QueuedBlob } from './blob-reader.js';
import type { IndexFiles } from './index-files.js';
import type { BlobLoader } from './interfaces.js';
import { BlobKind } from './pack-format.js';
import { PackUploader, packVersionOf, type WriteStats } from './pack-uploader.js';
import { ReusedPacks } from './reused-packs.js';
import type { StoreConfig } from './store-config.js';
import type { Subkeys } from './subkeys.js';

export interface BlobWriterOptions {
  /** Decompress and re-hash every blob before its pack is published. */
  verifyWrites?: boolean;
  /** queueBlobOrDefer stores raw once this many blobs are compressing; default every core but two (see deferAt). */
  deferAt?: number;
  /** Code trees on the calling thread (see RepositoryOptions). */
  treesOnCallingThread?: boolean;
}

/**
 * Blobs in: queueBlob returns once a blob is accepted; compression runs in the background with a
 * bounded number of jobs in flight, and sealed blobs go to the PackUploader. Until its pack is written
 * a queued blob is served from memory (`queued`). The fields below are the pipeline's state between
 * those stages; docs/DESIGN.md, "The store pipeline", tells the whole story.
 */
export class BlobWriter {
  readonly stats: WriteStats = { blobsWritten: 0, plainBytesWritten: 0, packsWritten: 0, packBytesWritten: 0, rawBytesSuperseded: 0 };
  private readonly uploader: PackUploader;
  private readonly maxInFlight = Math.max(2, availableParallelism()) * 2;
  private readonly inFlight = new Set<Promise<void>>();
  /** Jobs in `inFlight` that run the compressor. */
  private compressing = 0;
  /** Jobs flush({ now: true }) waits for: all but the compression of data blobs. */
  private readonly mustFinish = new Set<Promise<void>>();
  /** Data blobs being compressed: a flush that cannot wait stores them raw meanwhile. */
  private readonly compressingData = new Map<string, Buffer>();
  /** Of those, the ones already stored raw by such a flush. */
  private readonly storedRawEarly = new Set<string>();
  /** Blobs recompressBlob is working on: asked twice meanwhile, it must not store two copies. */
  private readonly recompressing = new Set<string>();
  /**
   * Blobs queued but not yet in a written pack, so they can be read back meanwhile; a pack of many
   * small compressed blobs then does not keep all their plaintext alive too.
   */
  private readonly pending = new Map<string, QueuedBlob>();
  private failure: unknown = null;
  private readonly reusedPacks = new ReusedPacks();

  constructor(
    private readonly backend: Backend,
    private readonly config: StoreConfig,
    private readonly keys: Subkeys,
    private readonly xz: XzEngine,
    private readonly indexFiles: IndexFiles,
    private readonly reader: BlobLoader,
    private readonly options: BlobWriterOptions,
  ) {
    this.uploader = new PackUploader(backend, keys, indexFiles, packVersionOf(config.format), config.packSize, this.stats, (entries) => {
      for (const e of entries) this.pending.delete(e.id);
    });
  }

  /**
   * queueBlobOrDefer stores raw once this many blobs are compressing: while writes come in, two cores
   * stay with the write path (the mount's FUSE thread, which seals and packs, and the kernel side with
   * the writing program) and xz gets the rest; below that everything is stored raw and recompressed
   * when the mount is idle or unmounted. On 2 cores, the sooner chunks were deferred, the faster writes
   * into the mount went (figures: docs/BENCHMARKS.md, "Measurements behind design choices").
   */
  private get deferAt(): number {
    return this.options.deferAt ?? Math.max(0, availableParallelism() - 2);
  }

  /** Format 2 encodings: compact xz (a format 1 store keeps whole streams). */
  private get format2(): boolean {
    return this.config.format >= 2;
  }

  /** A blob accepted but not yet in a written pack: its plaintext or its payload. */
  queued(id: string): QueuedBlob | undefined {
    return this.pending.get(id);
  }

  hasBlob(id: string): boolean {
    if (this.pending.has(id)) return true;
    const packId = this.indexFiles.index.packIdOf(id);
    if (packId === undefined) return false;
    if (!this.uploader.newPackIds.has(packId)) this.reusedPacks.add(packId);
    return true;
  }

  /** Before a snapshot names them, the packs of blobs found already stored must still exist. */
  confirmReusedPacks(): Promise<void> {
    return this.reusedPacks.confirm(this.backend);
  }

  /**
   * Queues a blob for compression, sealing and packing; returns once it is accepted (back-pressure
   * keeps at most a few blobs in flight). Returns false when the store already holds it.
   */
  async queueBlob(kind: BlobKind, id: string, plain: Buffer, compress: boolean): Promise<boolean> {
    return (await this.enqueue(kind, id, plain, compress, false)) !== 'exists';
  }

  /**
   * Like queueBlob, but when the compressors are busy (see deferAt) the blob is stored raw at once instead of
   * waiting, and reported as 'deferred': the caller may hand it to recompressBlob once writes pause.
   * This lets the mount take writes faster than xz runs (docs/DESIGN.md, "The mount").
   */
  async queueBlobOrDefer(kind: BlobKind, id: string, plain: Buffer, compress: boolean): Promise<'exists' | 'queued' | 'deferred'> {
    return this.enqueue(kind, id, plain, compress, compress && this.compressing >= this.deferAt);
  }

  private async enqueue(kind: BlobKind, id: string, plain: Buffer, compress: boolean, defer: boolean): Promise<'exists' | 'queued' | 'deferred'> {
    this.throwIfFailed();
    if (this.hasBlob(id)) return 'exists';
    this.pending.set(id, plain);
    try {
      await this.uploader.waitWhileBackedUp(() => this.throwIfFailed());
      // Raw blobs cost only a pack write each: they get slots of their own beside the compressors'.
      // Trees are small and code on this thread (see storeBlob): they never wait behind data.
      const slots = defer ? this.maxInFlight * 2 : this.maxInFlight;
      while (kind !== BlobKind.Tree && this.inFlight.size >= slots) await Promise.race(this.inFlight);
      this.throwIfFailed();
    } catch (err) {
      this.pending.delete(id);
      throw err;
    }
    const useXz = compress && !defer;
    const skippable = useXz && kind === BlobKind.Data;
    if (skippable) this.compressingData.set(id, plain);
    this.track(useXz, this.storeBlob(kind, id, plain, useXz), skippable);
    return defer ? 'deferred' : 'queued';
  }

  /** Runs a pipeline job in the background; flush() waits for all of them, flush({ now }) for the unskippable. */
  private track(compresses: boolean, work: Promise<void>, skippable = false): void {
    if (compresses) this.compressing += 1;
    const job: Promise<void> = work
      .catch((err: unknown) => {
        // A failed pack write is kept and retried (see throwIfFailed); anything else ends the pipeline.
        if (!this.uploader.isWriteError(err)) this.failure ??= err;
      })
      .finally(() => {
        if (compresses) this.compressing -= 1;
        this.inFlight.delete(job);
        this.mustFinish.delete(job);
      });
    this.inFlight.add(job);
    if (!skippable) this.mustFinish.add(job);
  }

  /** True when the blob is in a written pack uncompressed (its sealed length is that of a raw payload). */
  isStoredRaw(id: string): boolean {
    const entry = this.indexFiles.index.get(id);
    return entry !== undefined && entry.length === entry.plainLength + 1 + SEAL_OVERHEAD;
  }

  /**
   * Stores a compressed copy of a blob that sits raw in a written pack, when xz shrinks it. The index
   * prefers the smaller copy, so the raw one becomes garbage that prune (or the mount at unmount)
   * reclaims. Returns once the work is queued: false when there was nothing to do (not raw, not yet
   * in a pack, gone).
   */
  async recompressBlob(id: string): Promise<boolean> {
    this.throwIfFailed();
    if (this.pending.has(id) || this.recompressing.has(id) || !this.isStoredRaw(id)) return false;
    this.recompressing.add(id);
    let plain: Buffer;
    try {
      plain = await this.reader.loadBlob(id, BlobKind.Data);
      while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
      this.throwIfFailed();
    } catch (err) {
      this.recompressing.delete(id);
      throw err;
    }
    this.track(
      true,
      (async () => {
        try {
          const payload = await encodeBlob(plain, true, this.config.compression.preset, this.xz, { compactXz: this.format2 });
          if (payload[0] === BlobEncoding.Raw) return;
          this.uploader.add(BlobKind.Data, id, payload, plain.length);
          this.stats.rawBytesSuperseded += this.indexFiles.index.get(id)?.length ?? 0;
        } finally {
          this.recompressing.delete(id);
        }
        await this.uploader.publishIfFull();
      })(),
    );
    return true;
  }

  /**
   * Packs that could not be written (a full disk) stay queued in memory and are retried first by the
   * next publish or flush. Until one succeeds, every new blob is refused with that write error, so
   * writers hear of it and memory stays bounded. Any other failure ends the pipeline.
   */
  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
    if (this.uploader.lastWriteError) throw this.uploader.lastWriteError;
  }

  private async storeBlob(kind: BlobKind, id: string, plain: Buffer, compress: boolean): Promise<void> {
    let payload: PayloadPieces;
    try {
      const here = kind === BlobKind.Tree && this.options.treesOnCallingThread === true;
      payload = compress ? await encodeBlob(plain, true, this.config.compression.preset, this.xz, { here, compactXz: this.format2 }) : rawPayloadPieces(plain);
      if (this.options.verifyWrites) {
        const back = await decodeBlob(joinedPayload(payload), plain.length, this.xz, `blob ${id}`);
        if (this.keys.blobId(back) !== id) throw new SinkiError('CORRUPT', `verify-writes: blob ${id} did not round-trip`);
      }
    } catch (err) {
      if (!this.storedRawEarly.has(id)) this.pending.delete(id);
      throw err;
    } finally {
      this.compressingData.delete(id);
    }
    const raw = payloadEncoding(payload) === BlobEncoding.Raw;
    // Stored raw meanwhile by a flush that could not wait: add the copy only if it is smaller.
    if (this.storedRawEarly.delete(id) && raw) return;
    this.uploader.add(kind, id, payload, plain.length);
    // Until its pack is written, reads of a compressed blob decode the (smaller) payload; a raw one keeps its plaintext.
    if (!raw && this.pending.get(id) === plain) this.pending.set(id, { payload: joinedPayload(payload), plainLength: plain.length });
    this.stats.blobsWritten += 1;
    this.stats.plainBytesWritten += plain.length;
    await this.uploader.publishIfFull();
  }

  /**
   * Everything queued so far becomes durable: packs, then one index segment naming them (its name is
   * returned). With `now`, data blobs still being compressed are stored raw instead of waited for (an
   * fsync in the mount should not wait for xz); their compressed copies follow in a later pack and the
   * index reads those, leaving the raw ones as garbage for prune (the mount frees them at unmount).
   */
  async flush(options: { now?: boolean } = {}): Promise<string | null> {
    if (options.now) {
      for (const [id, plain] of this.compressingData) {
        if (this.storedRawEarly.has(id)) continue;
        this.storedRawEarly.add(id);
        this.uploader.add(BlobKind.Data, id, rawPayloadPieces(plain), plain.length);
      }
      while (this.mustFinish.size > 0) await Promise.all(this.mustFinish);
    } else {
      while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    }
    if (this.failure) throw this.failure;
    await this.uploader.publish();
    return this.uploader.indexWrittenPacks();
  }

  /**
   * Every blob queued and not yet in a written pack is forgotten (see PackUploader.dropUnwritten),
   * once the jobs still compressing have added theirs; returns how many.
   */
  async dropUnwritten(): Promise<number> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    const dropped = await this.uploader.dropUnwritten();
    for (const e of dropped) {
      this.pending.delete(e.id);
      this.storedRawEarly.delete(e.id);
    }
    return dropped.length;
  }

  setPackTarget(bytes: number): void {
    this.uploader.packTarget = bytes;
  }

  /** Re-seals an already encoded payload into the open pack, even though the index knows the blob (repacking). */
  async repackPayload(kind: BlobKind, id: string, payload: Buffer, plainLength: number): Promise<void> {
    this.throwIfFailed();
    this.uploader.add(kind, id, payload, plainLength);
    await this.uploader.publishIfFull();
  }
}
