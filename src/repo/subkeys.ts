import { createHmac } from 'node:crypto';
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
  ) {
    this.repoIdBytes = Buffer.from(repoId, 'hex');
  }

  blobId(plain: Buffer): string {
    return createHmac('sha256', this.master.idKey).update(plain).digest('hex');
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
