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

  packHeaderAad(): Buffer {
    return Buffer.concat([this.repoIdBytes, Buffer.from('pack header')]);
  }

  fileAad(kind: number, name: string): Buffer {
    return Buffer.concat([this.repoIdBytes, Buffer.of(kind), Buffer.from(name)]);
  }
}
