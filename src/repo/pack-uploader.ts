import type { Backend } from '../backend/backend.js';
import type { PayloadPieces } from '../codec/blob.js';
import type { PackRecord } from './blob-index.js';
import type { IndexFiles } from './index-files.js';
import { packPath } from './layout.js';
import { PACK_VERSION, type BlobKind, type PackEntry } from './pack-format.js';
import { PackBuilder, type FinishedPack } from './packer.js';
import type { Subkeys } from './subkeys.js';

export interface WriteStats {
  blobsWritten: number;
  plainBytesWritten: number;
  packsWritten: number;
  packBytesWritten: number;
  /** Sealed bytes of raw copies that a compressed copy queued by recompressBlob made unused. */
  rawBytesSuperseded: number;
}

/**
 * The open pack and the packs behind it: sealed blobs go into the open pack; finished packs are
 * written one at a time, in order, then named by the next index segment. A pack whose write fails
 * (a full disk) is kept, oldest first, and retried before anything else.
 */
export class PackUploader {
  private pack: PackBuilder | null = null;
  private writeChain: Promise<void> = Promise.resolve();
  /** Finished packs whose write failed (e.g. disk full), oldest first: retried before anything else. */
  private readonly unwritten: FinishedPack[] = [];
  /** Written packs no index segment names yet. */
  private unindexed: PackRecord[] = [];
  /** The error of the last pack write, while that pack waits for its retry. */
  lastWriteError: unknown = null;
  /** Every pack write error so far: they are retried (or the packs dropped), never the pipeline's end. */
  private readonly writeErrors = new WeakSet<object>();
  /** Packs this process wrote. */
  readonly newPackIds = new Set<string>();
  /**
   * The open pack is written once it reaches this size. Set below the store's pack size (the mount,
   * while the store is small), a blob that would take the open pack past it starts a new one: a
   * chunk rewritten later then empties a pack of its own, which is deleted without copying.
   */
  packTarget: number;

  /**
   * `version`: the pack version of the store's format. `onWritten`: the pack's blobs are on disk and
   * in the index; the writer stops serving them from memory.
   */
  constructor(
    private readonly backend: Backend,
    private readonly keys: Subkeys,
    private readonly indexFiles: IndexFiles,
    private readonly version: number,
    private readonly packSize: number,
    private readonly stats: WriteStats,
    private readonly onWritten: (entries: readonly PackEntry[]) => void,
  ) {
    this.packTarget = packSize;
  }

  /** Packs waiting for a slow disk hold memory: writers wait while two or more pile up. */
  async waitWhileBackedUp(throwIfFailed: () => void): Promise<void> {
    while (this.unwritten.length >= 2) {
      await this.writeChain;
      throwIfFailed();
    }
  }

  /** Whether `err` came from writing a pack (see lastWriteError), even after that pack was written or dropped since. */
  isWriteError(err: unknown): boolean {
    return typeof err === 'object' && err !== null && this.writeErrors.has(err);
  }

  /** Seals a blob into the open pack (a new one if none is open). */
  add(kind: BlobKind, id: string, payload: PayloadPieces, plainLength: number): void {
    if (this.pack && this.packTarget < this.packSize && this.pack.size + payloadLength(payload) > this.packTarget) {
      // Written in order behind the others; a failed write is kept and retried (lastWriteError).
      this.publish().catch(() => undefined);
    }
    this.pack ??= new PackBuilder(this.keys, this.version);
    this.pack.add(kind, id, payload, plainLength);
  }

  async publishIfFull(): Promise<void> {
    if (this.pack && this.pack.size >= this.packTarget) await this.publish();
  }

  /** Seals the open pack's header and writes it after any pack still waiting (one write at a time, in order). */
  publish(): Promise<void> {
    const builder = this.pack;
    this.pack = null;
    if (builder && builder.blobCount > 0) this.unwritten.push(builder.finish());
    const run = this.writeChain.then(() => this.writeWaitingPacks());
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Forgets the packs whose write failed (a full disk) and the open pack, once no write is under
   * way: returns their blobs, which the caller must store again or do without.
   */
  async dropUnwritten(): Promise<PackEntry[]> {
    await this.writeChain;
    const entries = this.unwritten.flatMap((p) => p.entries);
    if (this.pack) entries.push(...this.pack.finish().entries);
    this.pack = null;
    this.unwritten.length = 0;
    this.lastWriteError = null;
    return entries;
  }

  /** Writes one index segment naming the packs written since the last one; null when there are none. */
  async indexWrittenPacks(): Promise<string | null> {
    if (this.unindexed.length === 0) return null;
    const records = this.unindexed;
    this.unindexed = [];
    try {
      return await this.indexFiles.write(records);
    } catch (err) {
      this.unindexed = [...records, ...this.unindexed];
      throw err;
    }
  }

  private async writeWaitingPacks(): Promise<void> {
    while (this.unwritten.length > 0) {
      try {
        await this.writePack(this.unwritten[0]!);
      } catch (err) {
        this.lastWriteError = err;
        if (typeof err === 'object' && err !== null) this.writeErrors.add(err);
        throw err;
      }
      this.unwritten.shift();
      this.lastWriteError = null;
    }
  }

  private async writePack(pack: FinishedPack): Promise<void> {
    await this.backend.write(packPath(pack.id), pack.pieces);
    this.stats.packsWritten += 1;
    this.newPackIds.add(pack.id);
    this.stats.packBytesWritten += pack.size;
    // Readable at once (the pack is on disk); durable in the index at the next flush.
    const record = { packId: pack.id, entries: pack.entries };
    this.unindexed.push(record);
    this.indexFiles.index.addPack(record);
    this.onWritten(pack.entries);
  }
}

function payloadLength(payload: PayloadPieces): number {
  return Buffer.isBuffer(payload) ? payload.length : payload.reduce((n, p) => n + p.length, 0);
}

/** Format 2 packs carry compact blob lists (pack version 2); a format 1 store keeps version 1. */
export function packVersionOf(format: number): number {
  return format >= 2 ? PACK_VERSION : 1;
}
