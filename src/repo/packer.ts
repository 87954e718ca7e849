import { createHash, randomBytes } from 'node:crypto';
import { seal } from '../crypto/aead.js';
import { encodeEntries, packFooter, packPrefix, PACK_PREFIX_LENGTH, PACK_SALT_LENGTH, PACK_VERSION, type BlobKind, type PackEntry } from './pack-format.js';
import type { Subkeys } from './subkeys.js';

export interface FinishedPack {
  id: string;
  bytes: Buffer;
  entries: PackEntry[];
}

/** Builds one pack in memory: blobs are sealed as they are added; finish() appends the sealed header. */
export class PackBuilder {
  private readonly salt = randomBytes(PACK_SALT_LENGTH);
  private readonly key: Buffer;
  private readonly parts: Buffer[];
  private readonly entries: PackEntry[] = [];
  private offset = PACK_PREFIX_LENGTH;

  /** `version`: PACK_VERSION, or 1 in stores of format 1. */
  constructor(
    private readonly keys: Subkeys,
    private readonly version = PACK_VERSION,
  ) {
    this.key = keys.packKey(this.salt);
    this.parts = [packPrefix(this.salt, version)];
  }

  add(kind: BlobKind, id: string, payload: Buffer, plainLength: number): void {
    const sealed = seal(this.keys.cipher, this.key, payload, this.keys.blobAad(kind, id));
    this.parts.push(sealed);
    this.entries.push({ kind, id, offset: this.offset, length: sealed.length, plainLength });
    this.offset += sealed.length;
  }

  get size(): number {
    return this.offset;
  }

  get blobCount(): number {
    return this.entries.length;
  }

  finish(): FinishedPack {
    const header = seal(this.keys.cipher, this.key, encodeEntries(this.entries, this.version >= 2), this.keys.packHeaderAad());
    const bytes = Buffer.concat([...this.parts, header, packFooter(header.length)]);
    return { id: createHash('sha256').update(bytes).digest('hex'), bytes, entries: this.entries };
  }
}
