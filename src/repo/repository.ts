import { SinkiError, isSinkiError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import type { KdfChoice } from '../crypto/kdf.js';
import { newMasterKeys, type KeyFile, type MasterKeys } from '../crypto/keyfile.js';
import { defaultXzEngine, type XzEngine } from '../codec/xz.js';
import type { BlobIndex, PackRecord } from './blob-index.js';
import { BlobReader } from './blob-reader.js';
import { BlobWriter } from './blob-writer.js';
import { IndexFiles, listPacks } from './index-files.js';
import type { BlobHolder, BlobLoader, ChunkSaver, Recompressing, SnapshotLister, TreeLoader, TreeSaver } from './interfaces.js';
import { CONFIG_FILE } from './layout.js';
import { MetadataFiles } from './metadata-files.js';
import type { BlobKind } from './pack-format.js';
import type { WriteStats } from './pack-uploader.js';
import type { Snapshot, StoredSnapshot } from './snapshot.js';
import { newStoreConfig, parseStoreConfig, signStoreConfig, verifyStoreConfig, type StoreConfig, type StoreParams } from './store-config.js';
import type { Tree } from './tree.js';
import { TreeBlobs } from './tree-blobs.js';
import { Subkeys } from './subkeys.js';
import { addKey, listKeys, removeKey, unlockStore, type KeyOptions, type UnlockedKey } from './key-ring.js';
import type { CommitOptions } from './generation.js';
import type { GenerationMemory } from './generation-memory.js';

export type { UnlockedKey } from './key-ring.js';
export type { WriteStats } from './pack-uploader.js';

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
  /** queueBlobOrDefer stores raw once this many blobs are compressing; default every core but two (see BlobWriter). */
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

/**
 * An open, unlocked store, the one front callers see. It composes the parts that do the work: the
 * index and its segments (IndexFiles), blobs in (BlobWriter, PackUploader), blobs out (BlobReader),
 * trees (TreeBlobs), snapshots, SHA256SUMS and generations (MetadataFiles), key files (key-ring.ts).
 */
export class Repository implements BlobHolder, BlobLoader, ChunkSaver, Recompressing, TreeLoader, TreeSaver, SnapshotLister {
  readonly xz: XzEngine;
  private readonly indexFiles: IndexFiles;
  private readonly reader: BlobReader;
  private readonly writer: BlobWriter;
  private readonly metadata: MetadataFiles;
  private readonly trees: TreeBlobs;

  private constructor(
    readonly backend: Backend,
    readonly config: StoreConfig,
    readonly keys: Subkeys,
    private readonly master: MasterKeys,
    readonly unlockedKey: UnlockedKey,
    options: RepositoryOptions,
  ) {
    this.xz = options.xz ?? defaultXzEngine();
    this.indexFiles = new IndexFiles(backend, keys, config.format >= 2);
    this.reader = new BlobReader(backend, keys, this.indexFiles.index, this.xz, (id) => this.writer.queued(id));
    this.writer = new BlobWriter(backend, config, keys, this.xz, this.indexFiles, this.reader, options);
    this.metadata = new MetadataFiles(backend, keys, config.id, options.generations);
    this.trees = new TreeBlobs(keys, config.format, this.reader, (kind, plain, compress) => this.saveBlob(kind, plain, compress));
  }

  /** `options.format`: an older store format, for tests that check such stores still work. */
  static async init(
    backend: Backend,
    password: Buffer,
    params: StoreParams,
    kdf: KdfChoice,
    options: RepositoryOptions & { format?: number } = {},
  ): Promise<Repository> {
    if ((await backend.size(CONFIG_FILE)) !== null) throw new SinkiError('EXISTS', `a store already exists at ${backend.location}`);
    const existing = await backend.list('');
    if (existing.length > 0) throw new SinkiError('EXISTS', `${backend.location} is not empty; init needs an empty or new folder`);
    const config = newStoreConfig(params, options.format);
    const master = newMasterKeys();
    const keys = new Subkeys(master, config.cipher, config.id, config.format >= 2, config.format >= 3);
    const keyFile = await addKey(backend, master, config.id, password, kdf);
    await backend.write(CONFIG_FILE, Buffer.from(`${JSON.stringify(signStoreConfig(config, keys.configMacKey()), null, 2)}\n`));
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

  get index(): BlobIndex {
    return this.indexFiles.index;
  }

  get newIndexSegments(): Map<string, readonly PackRecord[]> {
    return this.indexFiles.newSegments;
  }

  get segmentPacks(): Map<string, readonly string[]> {
    return this.indexFiles.segmentPacks;
  }

  /** Loads the index segments not loaded yet (all of them the first time). */
  loadIndex(onDamaged?: (name: string, err: SinkiError) => void): Promise<void> {
    return this.indexFiles.load(onDamaged);
  }

  writeIndexSegment(records: readonly PackRecord[], own = true): Promise<string> {
    return this.indexFiles.write(records, own);
  }

  removeIndexSegment(name: string): Promise<void> {
    return this.indexFiles.remove(name);
  }

  listPacks(): Promise<string[]> {
    return listPacks(this.backend);
  }

  // ---- blobs in (BlobWriter) ----------------------------------------------------

  get stats(): WriteStats {
    return this.writer.stats;
  }

  blobId(plain: Buffer): string {
    return this.keys.blobId(plain);
  }

  blobIdAndSha256(plain: Buffer): { id: string; sha256: Buffer | null } {
    return this.keys.blobIdAndSha256(plain);
  }

  /** The sealed length of a stored blob, undefined when the index does not know it. */
  storedLength(id: string): number | undefined {
    return this.indexFiles.index.get(id)?.length;
  }

  hasBlob(id: string): boolean {
    return this.writer.hasBlob(id);
  }

  confirmReusedPacks(): Promise<void> {
    return this.writer.confirmReusedPacks();
  }

  queueBlob(kind: BlobKind, id: string, plain: Buffer, compress: boolean): Promise<boolean> {
    return this.writer.queueBlob(kind, id, plain, compress);
  }

  queueBlobOrDefer(kind: BlobKind, id: string, plain: Buffer, compress: boolean): Promise<'exists' | 'queued' | 'deferred'> {
    return this.writer.queueBlobOrDefer(kind, id, plain, compress);
  }

  async saveBlob(kind: BlobKind, plain: Buffer, compress: boolean): Promise<string> {
    const id = this.blobId(plain);
    await this.queueBlob(kind, id, plain, compress);
    return id;
  }

  isQueued(id: string): boolean {
    return this.indexFiles.index.get(id) === undefined && this.writer.queued(id) !== undefined;
  }

  isStoredRaw(id: string): boolean {
    return this.writer.isStoredRaw(id);
  }

  recompressBlob(id: string): Promise<boolean> {
    return this.writer.recompressBlob(id);
  }

  repackPayload(kind: BlobKind, id: string, payload: Buffer, plainLength: number): Promise<void> {
    return this.writer.repackPayload(kind, id, payload, plainLength);
  }

  flush(options: { now?: boolean } = {}): Promise<string | null> {
    return this.writer.flush(options);
  }

  /** Forgets the packs a full disk kept from being written, and their blobs (the mount stores their chunks again later). */
  dropUnwrittenPacks(): Promise<number> {
    return this.writer.dropUnwritten();
  }

  /** In a written pack or queued for one (unlike hasBlob, it leaves the packs to confirm before a snapshot alone). */
  holdsBlob(id: string): boolean {
    return this.indexFiles.index.has(id) || this.writer.queued(id) !== undefined;
  }

  /** The plaintext length of a blob in a written pack; undefined when it is in none. */
  storedPlainLength(id: string): number | undefined {
    return this.indexFiles.index.get(id)?.plainLength;
  }

  /** Packs are written once they reach this size from now on (at most the store's pack size). */
  setPackTarget(bytes: number): void {
    this.writer.setPackTarget(Math.min(bytes, this.config.packSize));
  }

  // ---- blobs out (BlobReader) ---------------------------------------------------

  loadBlob(id: string, expectedKind?: BlobKind): Promise<Buffer> {
    return this.reader.loadBlob(id, expectedKind);
  }

  loadBlobPayload(id: string): Promise<{ kind: BlobKind; payload: Buffer; plainLength: number }> {
    return this.reader.loadBlobPayload(id);
  }

  // ---- trees --------------------------------------------------------------------

  saveTree(tree: Tree): Promise<string> {
    return this.trees.saveTree(tree);
  }

  loadTree(id: string): Promise<Tree> {
    return this.trees.loadTree(id);
  }

  // ---- snapshots, SHA256SUMS, generations (MetadataFiles) -------------------------

  saveSnapshot(snapshot: Snapshot): Promise<string> {
    return this.metadata.saveSnapshot(snapshot);
  }

  listSnapshots(onDamaged?: (id: string, err: SinkiError) => void): Promise<StoredSnapshot[]> {
    return this.metadata.listSnapshots(onDamaged);
  }

  findSnapshot(ref: string): Promise<StoredSnapshot> {
    return this.metadata.findSnapshot(ref);
  }

  commitGeneration(o: CommitOptions = {}): Promise<void> {
    return this.metadata.commitGeneration(o);
  }

  commitState(o: CommitOptions = {}): Promise<void> {
    return this.metadata.commitState(o);
  }

  writeSums(): Promise<void> {
    return this.metadata.writeSums();
  }

  // ---- keys (key-ring.ts) -----------------------------------------------------------

  listKeys(): Promise<Array<{ id: string; file: KeyFile | null; error?: string }>> {
    return listKeys(this.backend);
  }

  addKey(password: Buffer, kdf: KdfChoice): Promise<KeyFile> {
    return addKey(this.backend, this.master, this.config.id, password, kdf);
  }

  removeKey(id: string): Promise<void> {
    return removeKey(this.backend, id, this.unlockedKey.id);
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
