import { createHash, randomBytes } from 'node:crypto';
import { seal, sealPieces } from '../crypto/aead.js';
import type { PayloadPieces } from '../codec/blob.js';
import {
  encodeEntries,
  packFooter,
  packPrefix,
  PACK_FOOTER_LENGTH,
  PACK_PREFIX_LENGTH,
  PACK_SALT_LENGTH,
  PACK_VERSION,
  type BlobKind,
  type PackEntry,
} from './pack-format.js';
import type { Subkeys } from './subkeys.js';

export interface FinishedPack {
  id: string;
  /** The pack file's bytes in order, never joined into one buffer. */
  pieces: Buffer[];
  size: number;
  entries: PackEntry[];
}

/**
 * Builds one pack in memory: blobs are sealed and hashed as they are added; finish() appends the
 * sealed header. Nothing is copied into one buffer: on the mount's write path the copies of 4 MiB
 * chunks cost more than their encryption.
 */
export class PackBuilder {
  private readonly salt = randomBytes(PACK_SALT_LENGTH);
  private readonly key: Buffer;
  private readonly pieces: Buffer[] = [];
  private readonly hash = createHash('sha256');
  private readonly entries: PackEntry[] = [];
  private offset = PACK_PREFIX_LENGTH;
  private readonly prefix: Buffer;

  /** `version`: PACK_VERSION, or 1 in stores of format 1. */
  constructor(
    private readonly keys: Subkeys,
    private readonly version = PACK_VERSION,
  ) {
    this.key = keys.packKey(this.salt);
    this.prefix = packPrefix(this.salt, version);
    this.append(this.prefix);
  }

  private append(piece: Buffer): void {
    this.pieces.push(piece);
    this.hash.update(piece);
  }

  add(kind: BlobKind, id: string, payload: PayloadPieces, plainLength: number): void {
    const sealed = sealPieces(this.keys.cipher, this.key, Buffer.isBuffer(payload) ? [payload] : payload, this.keys.blobAad(kind, id));
    let length = 0;
    for (const piece of sealed) {
      this.append(piece);
      length += piece.length;
    }
    this.entries.push({ kind, id, offset: this.offset, length, plainLength });
    this.offset += length;
  }

  get size(): number {
    return this.offset;
  }

  get blobCount(): number {
    return this.entries.length;
  }

  finish(): FinishedPack {
    const header = seal(this.keys.cipher, this.key, encodeEntries(this.entries, this.version >= 2), this.keys.packHeaderAad(this.prefix));
    this.append(header);
    this.append(packFooter(header.length));
    return { id: this.hash.digest('hex'), pieces: this.pieces, size: this.offset + header.length + PACK_FOOTER_LENGTH, entries: this.entries };
  }
}
