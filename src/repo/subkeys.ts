import { createHash, createHmac } from 'node:crypto';
import { deriveKey, keyLength, type CipherName } from '../crypto/aead.js';
import type { MasterKeys } from '../crypto/keyfile.js';
import type { BlobKind } from './pack-format.js';

/** Every key and associated-data layout the store uses, derived from the master keys in one place. */
export class Subkeys {
  private readonly repoIdBytes: Buffer;
  constructor(
    private readonly master: MasterKeys,
    readonly cipher: CipherName,
    readonly repoId: string,
    /** Format 2: a blob's id is the HMAC of its SHA-256, so a one-chunk file's SHA-256 names its chunk. Format 1: the HMAC of the plaintext. */
    readonly idsOfHashes: boolean,
    /**
     * Format 3: the chunker's gear table comes from the id key (gearBytes), and a pack header's
     * associated data holds the pack's prefix (magic, version, salt). Formats 1 and 2: the public
     * table, and a header bound to the store alone.
     */
    readonly keyedLayout = false,
  ) {
    this.repoIdBytes = Buffer.from(repoId, 'hex');
  }

  blobId(plain: Buffer): string {
    return this.blobIdAndSha256(plain).id;
  }

  /** The blob's id and, in stores with idsOfHashes, the plaintext's SHA-256 it was made from. */
  blobIdAndSha256(plain: Buffer): { id: string; sha256: Buffer | null } {
    if (!this.idsOfHashes) return { id: createHmac('sha256', this.master.idKey).update(plain).digest('hex'), sha256: null };
    const sha256 = createHash('sha256').update(plain).digest();
    return { id: this.blobIdOfSha256(sha256), sha256 };
  }

  /** The id of the blob whose plaintext has this SHA-256 (stores with idsOfHashes). */
  blobIdOfSha256(sha256: Buffer): string {
    return createHmac('sha256', this.master.idKey).update(sha256).digest('hex');
  }

  packKey(salt: Buffer): Buffer {
    return deriveKey(this.master.encKey, salt, 'sinki pack v1', keyLength(this.cipher));
  }

  fileKey(salt: Buffer, kind: number): Buffer {
    return deriveKey(this.master.encKey, salt, `sinki file v1 ${kind}`, keyLength(this.cipher));
  }

  configMacKey(): Buffer {
    return deriveKey(this.master.encKey, this.repoIdBytes, 'sinki config mac v1', 32);
  }

  blobAad(kind: BlobKind, id: string): Buffer {
    return Buffer.concat([this.repoIdBytes, Buffer.of(kind), Buffer.from(id, 'hex')]);
  }

  /** `prefix`: the pack's first bytes, magic ‖ version ‖ salt (bound in format 3 stores only). */
  packHeaderAad(prefix: Buffer): Buffer {
    const parts = [this.repoIdBytes, Buffer.from('pack header')];
    if (this.keyedLayout) parts.push(prefix);
    return Buffer.concat(parts);
  }

  /**
   * The bytes of this store's FastCDC gear table (format 3): 1024 bytes of HKDF-SHA256(id key,
   * repo id, "sinki gear v1"), read as 256 little-endian 32-bit words (backup/fastcdc.ts
   * gearFromBytes). Undefined in older stores, which keep the public table.
   */
  gearBytes(): Buffer | undefined {
    return this.keyedLayout ? deriveKey(this.master.idKey, this.repoIdBytes, 'sinki gear v1', 1024) : undefined;
  }

  fileAad(kind: number, name: string): Buffer {
    return Buffer.concat([this.repoIdBytes, Buffer.of(kind), Buffer.from(name)]);
  }
}
