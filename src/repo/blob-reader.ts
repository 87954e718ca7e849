import { LRUCache } from 'lru-cache';
import { SinkiError, isSinkiError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import { open as openSealed } from '../crypto/aead.js';
import { decodeBlob } from '../codec/blob.js';
import type { XzEngine } from '../codec/xz.js';
import type { BlobIndex, IndexEntry } from './blob-index.js';
import { packPath } from './layout.js';
import { parsePackPrefix, PACK_PREFIX_LENGTH, type BlobKind } from './pack-format.js';
import type { Subkeys } from './subkeys.js';

/**
 * A blob queued but not yet in a written pack: its plaintext until it is encoded, then its (usually
 * much smaller) payload.
 */
export type QueuedBlob = Buffer | { payload: Buffer; plainLength: number };

/** Blobs out of packs, each checked by its tag, its codec and its id (docs/DESIGN.md, invariant 3). */
export class BlobReader {
  private readonly packKeys = new LRUCache<string, Buffer>({ max: 4096 });

  /** `queued`: blobs the writer still holds in memory, served before the index is asked. */
  constructor(
    private readonly backend: Backend,
    private readonly keys: Subkeys,
    private readonly index: BlobIndex,
    private readonly xz: XzEngine,
    private readonly queued: (id: string) => QueuedBlob | undefined,
  ) {}

  /** Verified plaintext of a blob, or a CORRUPT error naming the blob and its pack. */
  async loadBlob(id: string, expectedKind?: BlobKind): Promise<Buffer> {
    const pending = this.queued(id);
    if (Buffer.isBuffer(pending)) return pending;
    if (pending) return decodeBlob(pending.payload, pending.plainLength, this.xz, `blob ${id.slice(0, 16)} (queued)`);
    const { entry, payload, what } = await this.openPayload(id, expectedKind);
    const plain = await decodeBlob(payload, entry.plainLength, this.xz, what);
    if (this.keys.blobId(plain) !== id) throw new SinkiError('CORRUPT', `${what}: content does not match its id`);
    return plain;
  }

  /** A blob's sealed payload, verified by its tag but not decompressed: prune moves it to a new pack as it is. */
  async loadBlobPayload(id: string): Promise<{ kind: BlobKind; payload: Buffer; plainLength: number }> {
    const { entry, payload } = await this.openPayload(id);
    return { kind: entry.kind, payload, plainLength: entry.plainLength };
  }

  /** Where the index says the blob is: its pack range read and its tag checked. */
  private async openPayload(id: string, expectedKind?: BlobKind): Promise<{ entry: IndexEntry; payload: Buffer; what: string }> {
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
      if (isSinkiError(err, 'CORRUPT') && now && now.packId !== entry.packId) return this.openPayload(id, expectedKind);
      throw err;
    }
    return { entry, what, payload: openSealed(this.keys.cipher, key, sealed, this.keys.blobAad(entry.kind, id), what) };
  }

  /** A pack's key follows from the salt in its prefix: read once per pack, then cached. */
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
}
