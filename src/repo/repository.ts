import { availableParallelism } from 'node:os';
import { LRUCache } from 'lru-cache';
import { SinkiError, isSinkiError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import { open as openSealed, SEAL_OVERHEAD } from '../crypto/aead.js';
import { chooseKdfParams, type KdfChoice } from '../crypto/kdf.js';
import { createKeyFile, newMasterKeys, type KeyFile, type MasterKeys } from '../crypto/keyfile.js';
import { sha256Hex } from '../crypto/canonical.js';
import { BlobEncoding, decodeBlob, encodeBlob, joinedPayload, payloadEncoding, rawPayloadPieces, type PayloadPieces } from '../codec/blob.js';
import { defaultXzEngine, type XzEngine } from '../codec/xz.js';
import { BlobIndex, decodeIndexSegment, encodeIndexSegment, type PackRecord } from './blob-index.js';
import { CONFIG_FILE, indexPath, INDEX_DIR, isObjectId, keyPath, packIdFromListing, packPath, PACKS_DIR, snapshotPath, SNAPSHOTS_DIR, SUMS_FILE } from './layout.js';
import { BlobKind, parsePackPrefix, PACK_PREFIX_LENGTH, PACK_VERSION } from './pack-format.js';
import { PackBuilder, type FinishedPack } from './packer.js';
import { FileKind, openFile, sealFile } from './sealed-file.js';
import { decodeSnapshot, encodeSnapshot, selectSnapshot, type Snapshot, type StoredSnapshot } from './snapshot.js';
import { newStoreConfig, parseStoreConfig, signStoreConfig, verifyStoreConfig, type StoreConfig, type StoreParams } from './store-config.js';
import { decodeTree, encodeTree, type Tree } from './tree.js';
import { Subkeys } from './subkeys.js';
import { listKeyIds, readKeyFile, unlockStore, type KeyOptions, type UnlockedKey } from './key-ring.js';
import { commitGeneration, currentEpoch, type CommitOptions } from './generation.js';
import type { GenerationMemory } from './generation-memory.js';

export type { UnlockedKey } from './key-ring.js';

export interface RepositoryOptions {
  /** Decompress and re-hash every blob before its pack is published. */
  verifyWrites?: boolean;
  xz?: XzEngine;
  /** Open even when index segments are damaged (index repair rebuilds them). */
  tolerateDamagedIndex?: boolean;
  /**
   * Unlock the store (password, signed config) without loading its index: for a command that
   * reads no blob and writes nothing through the repository (push copies the store's files as
   * they are). The index of such a repository is empty.
   */
  skipIndex?: boolean;
  /** queueBlobOrDefer stores raw once this many blobs are compressing; default every core but two (see deferAt). */
  deferAt?: number;
  /**
   * Code trees on the calling thread at once instead of in the xz pool. The mount sets this: its
   * commit (fsync) waits for its trees, and they must not wait behind data chunks. A backup does
   * not wait for trees, and codes them beside its directory walk.
   */
  treesOnCallingThread?: boolean;
  /** Which key files open the store, and what to tell about the others. */
  keys?: KeyOptions;
  /** Where the newest generation this machine has seen is kept (raised by every generation this process seals). */
  generations?: GenerationMemory;
}

export interface WriteStats {
  blobsWritten: number;
  plainBytesWritten: number;
  packsWritten: number;
  packBytesWritten: number;
}

/**
 * Binary trees (format 2) smaller than this are stored raw: xz takes next to nothing off them, and
 * every re-run would pay an xz decode for each; larger trees do shrink (figures: docs/BENCHMARKS.md,
 * "Measurements behind design choices").
 */
const BINARY_TREE_COMPRESS_MIN = 1024;

/** An open, unlocked store: blobs in, blobs out, trees, snapshots. */
export class Repository {
  readonly index = new BlobIndex();
  readonly stats: WriteStats = { blobsWritten: 0, plainBytesWritten: 0, packsWritten: 0, packBytesWritten: 0 };
  private readonly maxInFlight = Math.max(2, availableParallelism()) * 2;
  /**
   * queueBlobOrDefer stores raw once this many blobs are compressing: while writes come in, two cores
   * stay with the write path (the mount's FUSE thread, which seals and packs, and the kernel side with
   * the writing program) and xz gets the rest; below that everything is stored raw and recompressed
   * when the mount is idle or unmounted. Measured on 2 cores, the sooner chunks were deferred, the
   * faster writes into the mount went (figures: docs/BENCHMARKS.md, "Measurements behind design
   * choices").
   */
  private get deferAt(): number {
    return this.options.deferAt ?? Math.max(0, availableParallelism() - 2);
  }
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
   * Blobs queued but not yet in a written pack, so they can be read back meanwhile: the plaintext
   * until the blob is encoded, then its (usually much smaller) payload, so that a pack of many
   * small compressed blobs does not keep all their plaintext alive too.
   */
  private readonly pending = new Map<string, Buffer | { payload: Buffer; plainLength: number }>();
  private failure: unknown = null;
  private pack: PackBuilder | null = null;
  private writeChain: Promise<void> = Promise.resolve();
  private unindexed: PackRecord[] = [];
  /** Finished packs whose write failed (e.g. disk full), oldest first: retried before anything else. */
  private readonly unwritten: FinishedPack[] = [];
  private lastWriteError: unknown = null;
  private readonly packKeys = new LRUCache<string, Buffer>({ max: 4096 });
  /** Packs this process wrote. */
  readonly newPackIds = new Set<string>();
  /** Packs holding blobs this process found already stored (dedup): confirmReusedPacks checks they still exist. */
  private readonly reusedPacks = new Set<string>();
  /** Index segments this process wrote, with the packs each names. */
  readonly newIndexSegments = new Map<string, readonly PackRecord[]>();
  /** Every index segment loaded or written by this process → the packs it names. */
  readonly segmentPacks = new Map<string, readonly string[]>();
  readonly xz: XzEngine;

  private constructor(
    readonly backend: Backend,
    readonly config: StoreConfig,
    readonly keys: Subkeys,
    private readonly master: MasterKeys,
    readonly unlockedKey: UnlockedKey,
    private readonly options: RepositoryOptions,
  ) {
    this.xz = options.xz ?? defaultXzEngine();
  }

  /** `options.format`: an older store format, for tests that check such stores still work. */
  static async init(backend: Backend, password: Buffer, params: StoreParams, kdf: KdfChoice, options: RepositoryOptions & { format?: number } = {}): Promise<Repository> {
    if ((await backend.size(CONFIG_FILE)) !== null) throw new SinkiError('EXISTS', `a store already exists at ${backend.location}`);
    const existing = await backend.list('');
    if (existing.length > 0) throw new SinkiError('EXISTS', `${backend.location} is not empty; init needs an empty or new folder`);
    const config = newStoreConfig(params, options.format);
    const master = newMasterKeys();
    const keys = new Subkeys(master, config.cipher, config.id, config.format >= 2, config.format >= 3);
    const keyFile = await createKeyFile(password, master, await chooseKdfParams(kdf), config.id);
    await backend.write(keyPath(keyFile.id), Buffer.from(JSON.stringify(keyFile, null, 2) + '\n'));
    await backend.write(CONFIG_FILE, Buffer.from(JSON.stringify(signStoreConfig(config, keys.configMacKey()), null, 2) + '\n'));
    await options.keys?.memory?.remember(config.id, keyFile.id);
    const repo = new Repository(backend, config, keys, master, { id: keyFile.id, file: keyFile }, options);
    await repo.commitState();
    return repo;
  }

  static async open(backend: Backend, password: Buffer, options: RepositoryOptions = {}): Promise<Repository> {
    const signed = await readStoreConfig(backend);
    const { master, key } = await unlockStore(backend, signed.id, password, options.keys);
    const keys = new Subkeys(master, signed.cipher, signed.id, signed.format >= 2, signed.format >= 3);
    const config = verifyStoreConfig(signed, keys.configMacKey());
    await options.keys?.memory?.remember(config.id, key.id);
    const repo = new Repository(backend, config, keys, master, key, options);
    if (!options.skipIndex) await repo.loadIndex(options.tolerateDamagedIndex ? () => undefined : undefined);
    return repo;
  }

  // ---- index ----------------------------------------------------------------

  /** Loads the index segments not loaded yet (all of them the first time). */
  async loadIndex(onDamaged?: (name: string, err: SinkiError) => void): Promise<void> {
    for (const name of await this.backend.list(INDEX_DIR)) {
      if (!isObjectId(name) || this.segmentPacks.has(name)) continue;
      const what = `index/${name}`;
      try {
        const bytes = await this.backend.read(indexPath(name));
        if (sha256Hex(bytes) !== name) throw new SinkiError('CORRUPT', `${what}: content does not match its name (damaged)`);
        const records = decodeIndexSegment(openFile(this.keys, FileKind.Index, bytes, what), what, this.format2);
        for (const record of records) this.index.addPack(record);
        this.segmentPacks.set(name, records.map((r) => r.packId));
      } catch (err) {
        if (onDamaged && isSinkiError(err, 'CORRUPT')) onDamaged(what, err);
        else if (isSinkiError(err, 'CORRUPT')) throw new SinkiError('CORRUPT', `${err.message}; rebuild it from the packs with "sinki repair index"`, { cause: err });
        else throw err;
      }
    }
  }

  async listPacks(): Promise<string[]> {
    const ids: string[] = [];
    for (const rel of await this.backend.list(PACKS_DIR)) {
      const id = packIdFromListing(rel);
      if (id) ids.push(id);
    }
    return ids;
  }

  // ---- blobs in ---------------------------------------------------------------

  blobId(plain: Buffer): string {
    return this.keys.blobId(plain);
  }

  hasBlob(id: string): boolean {
    if (this.pending.has(id)) return true;
    const entry = this.index.get(id);
    if (!entry) return false;
    if (!this.newPackIds.has(entry.packId)) this.reusedPacks.add(entry.packId);
    return true;
  }

  /**
   * Every pack that blobs this process deduplicated against lives in must still exist before a
   * snapshot names them: an index segment put back after a prune (or a pack deleted) would
   * otherwise make a snapshot point at nothing. One size query per pack, or one listing of packs/.
   */
  async confirmReusedPacks(): Promise<void> {
    const wanted = [...this.reusedPacks];
    let missing: string | undefined;
    if (wanted.length <= 32) {
      for (const id of wanted) if ((await this.backend.size(packPath(id))) === null) missing ??= id;
    } else {
      const present = new Set(await this.listPacks());
      missing = wanted.find((id) => !present.has(id));
    }
    if (missing) {
      throw new SinkiError('CORRUPT', `pack ${missing} is missing, but the index names it for data this backup reuses; nothing was saved (run "sinki check", then "sinki repair index")`);
    }
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
      // Packs waiting for a slow disk hold memory: let no more than two pile up.
      while (this.unwritten.length >= 2) {
        await this.writeChain;
        this.throwIfFailed();
      }
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
        if (err !== this.lastWriteError) this.failure ??= err;
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
    const entry = this.index.get(id);
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
      plain = await this.loadBlob(id, BlobKind.Data);
      while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
      this.throwIfFailed();
    } catch (err) {
      this.recompressing.delete(id);
      throw err;
    }
    this.track(true, (async () => {
      try {
        const payload = await encodeBlob(plain, true, this.config.compression.preset, this.xz, { compactXz: this.format2 });
        if (payload[0] === BlobEncoding.Raw) return;
        this.pack ??= this.newPack();
        this.pack.add(BlobKind.Data, id, payload, plain.length);
      } finally {
        this.recompressing.delete(id);
      }
      if (this.pack.size >= this.config.packSize) await this.publishPack();
    })());
    return true;
  }

  async saveBlob(kind: BlobKind, plain: Buffer, compress: boolean): Promise<string> {
    const id = this.blobId(plain);
    await this.queueBlob(kind, id, plain, compress);
    return id;
  }

  /**
   * Packs that could not be written (a full disk) stay queued in memory and are retried first by the
   * next publish or flush. Until one succeeds, every new blob is refused with that write error, so
   * writers hear of it and memory stays bounded. Any other failure ends the pipeline.
   */
  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
    if (this.lastWriteError) throw this.lastWriteError;
  }

  private async storeBlob(kind: BlobKind, id: string, plain: Buffer, compress: boolean): Promise<void> {
    let payload: PayloadPieces;
    try {
      const here = kind === BlobKind.Tree && this.options.treesOnCallingThread === true;
      payload = compress ? await encodeBlob(plain, true, this.config.compression.preset, this.xz, { here, compactXz: this.format2 }) : rawPayloadPieces(plain);
      if (this.options.verifyWrites) {
        const back = await decodeBlob(joinedPayload(payload), plain.length, this.xz, `blob ${id}`);
        if (this.blobId(back) !== id) throw new SinkiError('CORRUPT', `verify-writes: blob ${id} did not round-trip`);
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
    this.pack ??= this.newPack();
    this.pack.add(kind, id, payload, plain.length);
    // Until its pack is written, reads of a compressed blob decode the (smaller) payload; a raw one keeps its plaintext.
    if (!raw && this.pending.get(id) === plain) this.pending.set(id, { payload: joinedPayload(payload), plainLength: plain.length });
    this.stats.blobsWritten += 1;
    this.stats.plainBytesWritten += plain.length;
    if (this.pack.size >= this.config.packSize) await this.publishPack();
  }

  /** Format 2 encodings: compact xz, compact blob lists, pack version 2 (a format 1 store keeps its own). */
  private get format2(): boolean {
    return this.config.format >= 2;
  }

  private newPack(): PackBuilder {
    return new PackBuilder(this.keys, this.format2 ? PACK_VERSION : 1);
  }

  /** Seals the open pack's header and writes it after any pack still waiting (one write at a time, in order). */
  private publishPack(): Promise<void> {
    const builder = this.pack;
    this.pack = null;
    if (builder && builder.blobCount > 0) this.unwritten.push(builder.finish());
    const run = this.writeChain.then(() => this.writeWaitingPacks());
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  private async writeWaitingPacks(): Promise<void> {
    while (this.unwritten.length > 0) {
      try {
        await this.writePack(this.unwritten[0]!);
      } catch (err) {
        this.lastWriteError = err;
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
    this.index.addPack(record);
    for (const e of pack.entries) this.pending.delete(e.id);
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
        this.pack ??= this.newPack();
        this.pack.add(BlobKind.Data, id, rawPayloadPieces(plain), plain.length);
      }
      while (this.mustFinish.size > 0) await Promise.all(this.mustFinish);
    } else {
      while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    }
    if (this.failure) throw this.failure;
    await this.publishPack();
    if (this.unindexed.length === 0) return null;
    const records = this.unindexed;
    this.unindexed = [];
    try {
      return await this.writeIndexSegment(records);
    } catch (err) {
      this.unindexed = [...records, ...this.unindexed];
      throw err;
    }
  }

  /** Deletes an index segment (its packs must be named by another segment, or be deleted too). */
  async removeIndexSegment(name: string): Promise<void> {
    await this.backend.remove(indexPath(name));
    this.newIndexSegments.delete(name);
    this.segmentPacks.delete(name);
  }

  async writeIndexSegment(records: readonly PackRecord[]): Promise<string> {
    const file = sealFile(this.keys, FileKind.Index, encodeIndexSegment(records, this.format2));
    const name = sha256Hex(file);
    await this.backend.write(indexPath(name), file);
    this.newIndexSegments.set(name, records);
    this.segmentPacks.set(name, records.map((r) => r.packId));
    return name;
  }

  /** A blob's sealed payload, verified by its tag but not decompressed: prune moves it to a new pack as it is. */
  async loadBlobPayload(id: string): Promise<{ kind: BlobKind; payload: Buffer; plainLength: number }> {
    const entry = this.index.get(id);
    if (!entry) throw new SinkiError('CORRUPT', `blob ${id} is not in the index (missing data)`);
    const key = await this.packKey(entry.packId);
    const sealed = await this.readPackRange(entry.packId, entry.offset, entry.length);
    const payload = openSealed(this.keys.cipher, key, sealed, this.keys.blobAad(entry.kind, id), `blob ${id.slice(0, 16)} in pack ${entry.packId}`);
    return { kind: entry.kind, payload, plainLength: entry.plainLength };
  }

  /** Re-seals an already encoded payload into the open pack, even though the index knows the blob (repacking). */
  async repackPayload(kind: BlobKind, id: string, payload: Buffer, plainLength: number): Promise<void> {
    this.throwIfFailed();
    this.pack ??= this.newPack();
    this.pack.add(kind, id, payload, plainLength);
    if (this.pack.size >= this.config.packSize) await this.publishPack();
  }

  // ---- blobs out --------------------------------------------------------------

  private async packKey(packId: string): Promise<Buffer> {
    const cached = this.packKeys.get(packId);
    if (cached) return cached;
    const prefix = await this.readPackRange(packId, 0, PACK_PREFIX_LENGTH);
    const key = this.keys.packKey(parsePackPrefix(prefix, packId).salt);
    this.packKeys.set(packId, key);
    return key;
  }

  private async readPackRange(packId: string, offset: number, length: number): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await this.backend.readRange(packPath(packId), offset, length);
    } catch (err) {
      if (isSinkiError(err, 'NOT_FOUND')) throw new SinkiError('CORRUPT', `pack ${packId} is missing`);
      throw err;
    }
    if (bytes.length !== length) throw new SinkiError('CORRUPT', `pack ${packId} is truncated`);
    return bytes;
  }

  /** Verified plaintext of a blob, or a CORRUPT error naming the blob and its pack. */
  async loadBlob(id: string, expectedKind?: BlobKind): Promise<Buffer> {
    const pending = this.pending.get(id);
    if (Buffer.isBuffer(pending)) return pending;
    if (pending) return decodeBlob(pending.payload, pending.plainLength, this.xz, `blob ${id.slice(0, 16)} (queued)`);
    const entry = this.index.get(id);
    if (!entry) throw new SinkiError('CORRUPT', `blob ${id} is not in the index (missing data)`);
    if (expectedKind !== undefined && entry.kind !== expectedKind) throw new SinkiError('CORRUPT', `blob ${id} has the wrong kind`);
    const what = `blob ${id.slice(0, 16)} in pack ${entry.packId}`;
    let sealed: Buffer;
    let key: Buffer;
    try {
      key = await this.packKey(entry.packId);
      sealed = await this.readPackRange(entry.packId, entry.offset, entry.length);
    } catch (err) {
      // The mount frees space while reads go on: a pack deleted after its blobs moved is read again from where they went.
      const now = this.index.get(id);
      if (isSinkiError(err, 'CORRUPT') && now && now.packId !== entry.packId) return this.loadBlob(id, expectedKind);
      throw err;
    }
    const payload = openSealed(this.keys.cipher, key, sealed, this.keys.blobAad(entry.kind, id), what);
    const plain = await decodeBlob(payload, entry.plainLength, this.xz, what);
    if (this.blobId(plain) !== id) throw new SinkiError('CORRUPT', `${what}: content does not match its id`);
    return plain;
  }

  // ---- trees and snapshots -------------------------------------------------------

  /** Format 2: how a one-chunk file's SHA-256 names its chunk (binary trees store the hash alone). */
  private get idOfSha256(): ((sha256: Buffer) => string) | undefined {
    return this.keys.idsOfHashes ? (sha256) => this.keys.blobIdOfSha256(sha256) : undefined;
  }

  async saveTree(tree: Tree): Promise<string> {
    const plain = encodeTree(tree, this.idOfSha256);
    return this.saveBlob(BlobKind.Tree, plain, !this.format2 || plain.length >= BINARY_TREE_COMPRESS_MIN);
  }

  async loadTree(id: string): Promise<Tree> {
    return decodeTree(await this.loadBlob(id, BlobKind.Tree), `tree ${id.slice(0, 16)}`, this.idOfSha256);
  }

  /** The snapshot carries the store's epoch: put back after a forget, it is told from a new one (generation.ts). */
  async saveSnapshot(snapshot: Snapshot): Promise<string> {
    const file = sealFile(this.keys, FileKind.Snapshot, encodeSnapshot({ ...snapshot, epoch: await currentEpoch(this) }));
    const id = sha256Hex(file);
    await this.backend.write(snapshotPath(id), file);
    return id;
  }

  async loadSnapshot(id: string): Promise<StoredSnapshot> {
    const what = `snapshot ${id}`;
    let bytes: Buffer;
    try {
      bytes = await this.backend.read(snapshotPath(id));
    } catch (err) {
      if (isSinkiError(err, 'NOT_FOUND')) throw new SinkiError('NOT_FOUND', `${what} does not exist`);
      throw err;
    }
    if (sha256Hex(bytes) !== id) throw new SinkiError('CORRUPT', `${what}: content does not match its name (damaged)`);
    return { id, ...decodeSnapshot(openFile(this.keys, FileKind.Snapshot, bytes, what), what) };
  }

  async listSnapshots(onDamaged?: (id: string, err: SinkiError) => void): Promise<StoredSnapshot[]> {
    const out: StoredSnapshot[] = [];
    for (const name of await this.backend.list(SNAPSHOTS_DIR)) {
      if (!isObjectId(name)) continue;
      try {
        out.push(await this.loadSnapshot(name));
      } catch (err) {
        if (onDamaged && isSinkiError(err, 'CORRUPT')) onDamaged(name, err);
        else throw err;
      }
    }
    return out.sort((a, b) => a.time.localeCompare(b.time));
  }

  /** A damaged snapshot file does not hide the others; asking for it by id names the damage. */
  async findSnapshot(ref: string): Promise<StoredSnapshot> {
    const damaged: SinkiError[] = [];
    const good = await this.listSnapshots((id, err) => {
      if (id.startsWith(ref)) damaged.push(err);
    });
    try {
      return selectSnapshot(good, ref);
    } catch (err) {
      if (damaged[0] && isSinkiError(err, 'NOT_FOUND')) throw damaged[0];
      throw err;
    }
  }

  // ---- keys --------------------------------------------------------------------

  async listKeys(): Promise<Array<{ id: string; file: KeyFile | null; error?: string }>> {
    const out: Array<{ id: string; file: KeyFile | null; error?: string }> = [];
    for (const id of await listKeyIds(this.backend)) {
      try {
        out.push({ id, file: await readKeyFile(this.backend, id) });
      } catch (err) {
        if (!isSinkiError(err, 'CORRUPT')) throw err;
        out.push({ id, file: null, error: err.message });
      }
    }
    return out;
  }

  async addKey(password: Buffer, kdf: KdfChoice): Promise<KeyFile> {
    const file = await createKeyFile(password, this.master, await chooseKdfParams(kdf), this.config.id);
    await this.backend.write(keyPath(file.id), Buffer.from(JSON.stringify(file, null, 2) + '\n'));
    return file;
  }

  async removeKey(id: string): Promise<void> {
    const keys = await this.listKeys();
    if (!keys.some((k) => k.id === id)) throw new SinkiError('NOT_FOUND', `no key ${id}`);
    if (id === this.unlockedKey.id) throw new SinkiError('USAGE', 'refusing to remove the key in use; open the store with another password first');
    if (keys.filter((k) => k.file).length <= 1) throw new SinkiError('USAGE', 'refusing to remove the last working key');
    await this.backend.remove(keyPath(id));
  }

  // ---- checksums ------------------------------------------------------------------

  /** Seals the store as it is now as its next generation (docs/STORE-FORMAT.md, "Generations"). */
  async commitGeneration(o: CommitOptions = {}): Promise<void> {
    const { counter } = await commitGeneration(this, o);
    await this.options.generations?.remember(this.config.id, this.backend.location, counter);
  }

  /** SHA256SUMS, then a new generation: what every command that adds or removes snapshots or index segments ends with. */
  async commitState(o: CommitOptions = {}): Promise<void> {
    await this.writeSums();
    await this.commitGeneration(o);
  }

  /** SHA256SUMS: every pack, index and snapshot file, so an offsite copy verifies with `sha256sum -c`. */
  async writeSums(): Promise<void> {
    const lines: string[] = [];
    for (const id of await this.listPacks()) lines.push(`${id}  ${packPath(id)}`);
    for (const name of await this.backend.list(INDEX_DIR)) if (isObjectId(name)) lines.push(`${name}  ${indexPath(name)}`);
    for (const name of await this.backend.list(SNAPSHOTS_DIR)) if (isObjectId(name)) lines.push(`${name}  ${snapshotPath(name)}`);
    await this.backend.write(SUMS_FILE, Buffer.from(lines.join('\n') + (lines.length ? '\n' : '')));
  }
}

async function readStoreConfig(backend: Backend): Promise<ReturnType<typeof parseStoreConfig>> {
  let configText: string;
  try {
    configText = (await backend.read(CONFIG_FILE)).toString();
  } catch (err) {
    if (isSinkiError(err, 'NOT_FOUND') || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new SinkiError('NOT_A_STORE', `${backend.location} is not a sinki store (no ${CONFIG_FILE}); create one with "sinki init"`);
    }
    throw err;
  }
  return parseStoreConfig(configText);
}
