import { SinkiError } from '../errors.js';
import { compressBlob, compressFile } from '../codec/policy.js';
import type { ChunkSaver } from '../repo/interfaces.js';
import { BlobKind } from '../repo/pack-format.js';
import { noteDerivedChunk } from '../repo/tree-binary.js';
import type { ChunkCache } from './chunk-cache.js';
import { ReaderTurns } from './reader-turns.js';
import type { FileNode } from './nodes.js';
import type { Recompressor } from './recompressor.js';
import { chunkCount, chunkIndexForOffset, chunkLength, dirtyCapacity, fixedSpans } from './offsets.js';

/**
 * File contents in the mount. Live files are split at fixed `chunkSize` boundaries; writes land in
 * dirty chunk buffers (bounded by `writeBuffer` bytes in total) and a chunk is sealed and queued for
 * packing as soon as it is complete. Reads see dirty data first, then the verified chunk cache.
 * A dirty buffer grows as far as the chunk has been written (bytes of the chunk past its end are
 * zeros): many small files cost their size, not a split size each.
 */
export class FileIo {
  private dirtyBytes = 0;
  /** Dirty chunks oldest first, for evicting when the write buffer is full. */
  private readonly dirtyOrder = new Map<string, { file: FileNode; index: number }>();
  private readonly fileIds = new WeakMap<FileNode, number>();
  private nextFileId = 1;
  /** Id of the blob of `len` zeros, by length (computed; stored only once a commit needs it). */
  private readonly zeroIds = new Map<number, string>();
  /** One-chunk files whose chunk id this instance made from their SHA-256 when sealing them. */
  private readonly derivedIds = new WeakMap<FileNode, { sha256: string; id: string }>();
  /**
   * Chunks sealed since the last commit, by key, with the chunk id they had before (null: none): a
   * pack that a full disk kept from being written gives its chunks back as dirty buffers.
   */
  private readonly sealedSinceCommit = new Map<string, { file: FileNode; index: number; before: string | null }>();
  /** Dirty chunks that replace a stored chunk, by key: that chunk's length. */
  private readonly replacing = new Map<string, number>();
  private replacingTotal = 0;

  constructor(
    private readonly repo: ChunkSaver,
    private readonly cache: ChunkCache,
    readonly chunkSize: number,
    private readonly writeBuffer: number,
    /** When set, chunks that find the compressor busy are stored raw now and recompressed later. */
    private readonly recompressor: Recompressor | null = null,
    /** A stored chunk was replaced by a new version: its old copy is unused once committed. */
    private readonly superseded: (id: string) => void = () => undefined,
  ) {}

  /** Bytes of stored chunks that dirty buffers replace: what sealing them supersedes. */
  get replacingBytes(): number {
    return this.replacingTotal;
  }

  private key(file: FileNode, index: number): string {
    let id = this.fileIds.get(file);
    if (!id) {
      id = this.nextFileId++;
      this.fileIds.set(file, id);
    }
    return `${id}:${index}`;
  }

  async read(file: FileNode, out: Buffer, len: number, pos: number): Promise<number> {
    this.recompressor?.usedNow();
    if (pos >= file.size) return 0;
    const want = Math.min(len, file.size - pos);
    const starts = file.chunkStarts();
    let done = 0;
    let i = chunkIndexForOffset(starts, pos);
    while (done < want) {
      // Reads do not wait for the write lock: a truncate may have shortened the file meanwhile.
      const chunk = file.chunks[i];
      if (!chunk) break;
      const [id, clen] = chunk;
      const within = pos + done - starts[i]!;
      const n = Math.min(clen - within, want - done);
      if (n <= 0) break;
      const dirty = file.dirty.get(i);
      if (dirty) {
        // A dirty buffer holds the chunk up to its length; the rest is zeros.
        const copied = within < dirty.length ? dirty.copy(out, done, within, Math.min(within + n, dirty.length)) : 0;
        if (copied < n) out.fill(0, done + copied, done + n);
      } else if (id === null) out.fill(0, done, done + n);
      else {
        const data = await this.cache.get(id);
        if (data.length < within + n) throw new SinkiError('CORRUPT', `chunk ${id} of ${file.name} is shorter than recorded`);
        data.copy(out, done, within, within + n);
      }
      done += n;
      i += 1;
    }
    // Read-ahead only for a reader that is going through the file: once a read ends in the second
    // half of a chunk (or at its end), the next chunk loads meanwhile. A program that reads a file's
    // head (a file manager sniffing its type, `file`, a thumbnailer) costs that one chunk alone.
    if (done === 0) return 0;
    // The loop left i one past the last chunk it read from.
    const last = i - 1;
    const next = file.chunks[i];
    if (next?.[0] && !file.dirty.has(i) && pos + done - starts[last]! >= file.chunks[last]![1] / 2) this.cache.prefetch(next[0]);
    return done;
  }

  private assertWritable(file: FileNode): void {
    if (file.fixedLayout) return;
    const cs = this.chunkSize;
    file.fixedLayout = file.chunks.every(([, len], i) => len === chunkLength(i, file.size, cs));
    if (!file.fixedLayout) throw new SinkiError('IO', `${file.name}: chunk layout does not match the split size; copy the file to rewrite it`);
  }

  /**
   * The dirty buffer of a chunk, at least `need` bytes long. A buffer starts at the size first
   * written (or stored) and doubles as writes extend it, up to chunkSize: a 1 KiB file must not cost
   * a zeroed 4 MiB buffer, nor a 4 MiB share of the write buffer. Bytes past a buffer's end are zeros.
   */
  private async dirtyChunk(file: FileNode, index: number, need: number): Promise<Buffer> {
    const existing = file.dirty.get(index);
    if (existing && existing.length >= need) return existing;
    if (existing) return this.growDirty(file, index, existing, need);
    const id = file.chunks[index]?.[0];
    const data = id ? await this.cache.get(id) : null;
    const stored = data ? Math.min(data.length, this.chunkSize) : 0;
    // Past the first chunk the file is a chunk long already: growing by doubling would only copy.
    const buf = Buffer.alloc(index > 0 ? this.chunkSize : Math.min(Math.max(need, stored), this.chunkSize));
    if (data) data.copy(buf, 0, 0, stored);
    file.dirty.set(index, buf);
    this.dirtyBytes += buf.length;
    const key = this.key(file, index);
    this.dirtyOrder.set(key, { file, index });
    if (id) {
      const len = file.chunks[index]![1];
      this.replacing.set(key, len);
      this.replacingTotal += len;
    }
    return buf;
  }

  private growDirty(file: FileNode, index: number, old: Buffer, need: number): Buffer {
    const buf = Buffer.alloc(dirtyCapacity(need, old.length, this.chunkSize));
    old.copy(buf);
    file.dirty.set(index, buf);
    this.dirtyBytes += buf.length - old.length;
    return buf;
  }

  private dropDirty(file: FileNode, index: number): void {
    const buf = file.dirty.get(index);
    if (buf) {
      file.dirty.delete(index);
      this.dirtyBytes -= buf.length;
      const key = this.key(file, index);
      this.dirtyOrder.delete(key);
      this.replacingTotal -= this.replacing.get(key) ?? 0;
      this.replacing.delete(key);
    }
  }

  async write(file: FileNode, data: Buffer, pos: number): Promise<void> {
    if (data.length === 0) return;
    this.assertWritable(file);
    this.recompressor?.usedNow();
    const end = pos + data.length;
    if (end > file.size) await this.resize(file, end);
    for (const span of fixedSpans(pos, data.length, this.chunkSize)) {
      const buf = await this.dirtyChunk(file, span.index, span.within + span.length);
      data.copy(buf, span.within, span.at, span.at + span.length);
      if (span.within + span.length === this.chunkSize) await this.sealChunk(file, span.index);
    }
    file.changed();
    while (this.dirtyBytes > this.writeBuffer) {
      const oldest = this.dirtyOrder.values().next().value;
      if (!oldest) break;
      await this.sealChunk(oldest.file, oldest.index);
    }
  }

  async resize(file: FileNode, size: number): Promise<void> {
    this.assertWritable(file);
    const cs = this.chunkSize;
    const oldSize = file.size;
    if (size === oldSize) return;
    const newCount = chunkCount(size, cs);
    if (size < oldSize) {
      for (const index of [...file.dirty.keys()]) if (index >= newCount) this.dropDirty(file, index);
      const tail = size % cs;
      const last = newCount - 1;
      // A hole (never written, not dirty) already reads as zeros past the cut.
      if (tail !== 0 && (file.dirty.has(last) || file.chunks[last]?.[0])) {
        const buf = await this.dirtyChunk(file, last, 0);
        if (tail < buf.length) buf.fill(0, tail);
      }
    } else if (oldSize % cs !== 0 && file.chunks[chunkCount(oldSize, cs) - 1]?.[0]) {
      await this.dirtyChunk(file, chunkCount(oldSize, cs) - 1, 0);
    }
    const oldCount = file.chunks.length;
    if (newCount < oldCount) file.chunks.length = newCount;
    while (file.chunks.length < newCount) file.chunks.push([null, 0]);
    // Only the chunks around the old and new end change length.
    for (let i = Math.max(0, Math.min(oldCount, newCount) - 1); i < newCount; i++) file.chunks[i] = [file.chunks[i]![0], chunkLength(i, size, cs)];
    file.size = size;
    file.changed();
  }

  private async sealChunk(file: FileNode, index: number): Promise<void> {
    const buf = file.dirty.get(index);
    if (!buf) return;
    const len = chunkLength(index, file.size, this.chunkSize);
    if (len === 0) {
      this.dropDirty(file, index);
      return;
    }
    // A short chunk gets its own buffer: a view would keep the whole buffer alive in the cache and
    // the packer's pending map, while they count only `len` bytes.
    const plain = len === buf.length ? buf : Buffer.alloc(len);
    if (plain !== buf) buf.copy(plain, 0, 0, Math.min(len, buf.length));
    const policy = this.repo.config.compression;
    const { id, sha256 } = this.repo.blobIdAndSha256(plain);
    // If the store refuses it (disk full), the chunk stays dirty: nothing is lost, the writer gets ENOSPC.
    const compress = compressBlob(len, compressFile(file.name, policy), policy);
    if (!this.recompressor?.deferAllowed) await this.repo.queueBlob(BlobKind.Data, id, plain, compress);
    else if ((await this.repo.queueBlobOrDefer(BlobKind.Data, id, plain, compress)) === 'deferred') this.recompressor.add(id);
    this.dropDirty(file, index);
    const old = file.chunks[index]?.[0];
    if (old && old !== id) this.superseded(old);
    const key = this.key(file, index);
    if (!this.sealedSinceCommit.has(key)) this.sealedSinceCommit.set(key, { file, index, before: old ?? null });
    file.chunks[index] = [id, len];
    file.changed();
    // A file of one chunk: the chunk's SHA-256 is the file's, for `sinki manifest` and restore's check
    // (and a binary tree then stores the hash alone; the id follows from it).
    if (sha256 && index === 0 && file.size === len) {
      file.sha256 = sha256.toString('hex');
      this.derivedIds.set(file, { sha256: file.sha256, id });
    }
    // Not put in the read cache: copying a large file in would fill it (256 MiB by default) with
    // data nobody is reading. Until its pack is written the store serves it from memory anyway.
  }

  async sealAll(): Promise<void> {
    const turns = new ReaderTurns(READER_TURN_CHUNKS);
    for (const { file, index } of [...this.dirtyOrder.values()]) {
      await this.sealChunk(file, index);
      await turns.step();
    }
  }

  /** A commit has made every chunk sealed so far durable. */
  committed(): void {
    this.sealedSinceCommit.clear();
  }

  /**
   * A pack write failed (a full disk): every chunk sealed since the last commit whose blob is in no
   * written pack becomes a dirty buffer again, with its bytes and the chunk id it had before, once
   * `dropUnwritten` has forgotten every blob not yet written. Returns how many chunks went back.
   */
  async unsealUnstored(dropUnwritten: () => Promise<unknown>): Promise<number> {
    const back: Array<{ file: FileNode; index: number; before: string | null; plain: Buffer }> = [];
    for (const { file, index, before } of this.sealedSinceCommit.values()) {
      const id = file.chunks[index]?.[0];
      if (!id || file.dirty.has(index) || !this.repo.isQueued(id)) continue;
      // A copy: dirty buffers are written into, and the cache's copy is shared.
      back.push({ file, index, before, plain: Buffer.from(await this.cache.get(id)) });
    }
    await dropUnwritten();
    this.sealedSinceCommit.clear();
    for (const { file, index, before, plain } of back) {
      const chunk = file.chunks[index];
      if (!chunk || file.dirty.has(index)) continue;
      file.dirty.set(index, plain);
      this.dirtyBytes += plain.length;
      const key = this.key(file, index);
      this.dirtyOrder.set(key, { file, index });
      file.chunks[index] = [before, chunk[1]];
      file.changed();
    }
    return back.length;
  }

  /**
   * A file's chunk list for its tree entry: holes become (deduplicated) zero blobs. Call after
   * sealing; or with `storedOnly` (a commit on a full disk), without: a dirty chunk, or one in no
   * written pack, is its stored version when that has the chunk's length, else zeros (its bytes wait
   * in memory for the next commit).
   */
  async storedChunks(file: FileNode, storedOnly = false): Promise<Array<[string, number]>> {
    const out: Array<[string, number]> = [];
    for (const [i, [id, len]] of file.chunks.entries()) {
      if (storedOnly && id !== null && (file.dirty.has(i) || this.repo.storedPlainLength(id) !== len)) {
        out.push([this.repo.storedPlainLength(id) === len && !this.repo.isQueued(id) ? id : await this.zeroBlob(len), len]);
        continue;
      }
      if (file.dirty.has(i) && !storedOnly) throw new SinkiError('FATAL', 'internal: file has unsealed chunks at commit');
      out.push([id ?? (await this.zeroBlob(len)), len]);
    }
    // Saves an HMAC per file at every commit of its folder (the tree then stores the hash alone).
    const derived = this.derivedIds.get(file);
    if (derived && out.length === 1 && out[0]![0] === derived.id && file.sha256 === derived.sha256) noteDerivedChunk(out, derived.sha256, derived.id);
    return out;
  }

  private zeroId(len: number): string {
    let id = this.zeroIds.get(len);
    if (!id) {
      id = this.repo.blobId(Buffer.alloc(len));
      this.zeroIds.set(len, id);
    }
    return id;
  }

  private async zeroBlob(len: number): Promise<string> {
    const id = this.zeroId(len);
    if (!this.repo.hasBlob(id)) await this.repo.queueBlob(BlobKind.Data, id, Buffer.alloc(len), true);
    return id;
  }

  /**
   * A file loaded from a tree gets its holes back: commits store a hole as a blob of zeros, and
   * st_blocks (du, cp, tar --sparse) should count it as nothing after a remount too; reads of it then
   * cost no fetch. Only a blob stored in next to nothing can be zeros, so the id of zeros of a
   * length is computed for the split size and for such blobs alone.
   */
  restoreHoles(file: FileNode): void {
    for (const [i, [id, len]] of file.chunks.entries()) if (id !== null && this.isZeroBlob(id, len)) file.chunks[i] = [null, len];
    file.holesFound();
  }

  private isZeroBlob(id: string, len: number): boolean {
    if (len !== this.chunkSize && !this.zeroIds.has(len)) {
      const stored = this.repo.storedLength(id);
      if (stored === undefined || stored > len / 16 + 1024) return false;
    }
    return this.zeroId(len) === id;
  }
}

/** sealAll lets readers in after this many chunks (a few ms of hashing and sealing small ones). */
const READER_TURN_CHUNKS = 256;
