import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type CipherGCMTypes } from 'node:crypto';
import { SinkiError } from '../errors.js';

export const CIPHERS = ['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'] as const;
export type CipherName = (typeof CIPHERS)[number];

export const NONCE_LENGTH = 12;
export const TAG_LENGTH = 16;
/** Bytes a sealed message is longer than its plaintext. */
export const SEAL_OVERHEAD = NONCE_LENGTH + TAG_LENGTH;

export function isCipherName(name: string): name is CipherName {
  return (CIPHERS as readonly string[]).includes(name);
}

export function keyLength(cipher: CipherName): number {
  return cipher === 'aes-128-gcm' ? 16 : 32;
}

/** HKDF-SHA256: a subkey for one purpose (a pack, a file kind) from a master key and a salt. */
export function deriveKey(master: Buffer, salt: Buffer, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, info, length));
}

/** nonce ‖ ciphertext ‖ tag, with a fresh random nonce. */
export function seal(cipher: CipherName, key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  return Buffer.concat(sealPieces(cipher, key, [plaintext], aad));
}

/**
 * seal() of the plaintext `pieces` joined, returned as pieces (nonce, ciphertexts, tag) that are
 * never copied together: a pack writes them one after the other.
 */
export function sealPieces(cipher: CipherName, key: Buffer, pieces: readonly Buffer[], aad: Buffer): Buffer[] {
  const nonce = randomBytes(NONCE_LENGTH);
  const c = createCipheriv(cipher as CipherGCMTypes, key, nonce, { authTagLength: TAG_LENGTH });
  c.setAAD(aad, { plaintextLength: pieces.reduce((sum, p) => sum + p.length, 0) });
  const out = [nonce, ...pieces.map((p) => c.update(p))];
  const final = c.final();
  if (final.length > 0) out.push(final);
  out.push(c.getAuthTag());
  return out;
}

/** Throws SinkiError CORRUPT (with `what` named) when the tag does not verify. */
export function open(cipher: CipherName, key: Buffer, sealed: Buffer, aad: Buffer, what: string): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw new SinkiError('CORRUPT', `${what}: truncated (${sealed.length} bytes)`);
  const nonce = sealed.subarray(0, NONCE_LENGTH);
  const tag = sealed.subarray(sealed.length - TAG_LENGTH);
  const body = sealed.subarray(NONCE_LENGTH, sealed.length - TAG_LENGTH);
  try {
    const d = createDecipheriv(cipher as CipherGCMTypes, key, nonce, { authTagLength: TAG_LENGTH });
    d.setAAD(aad, { plaintextLength: body.length });
    d.setAuthTag(tag);
    return Buffer.concat([d.update(body), d.final()]);
  } catch {
    throw new SinkiError('CORRUPT', `${what}: authentication failed (damaged, swapped or from another store)`);
  }
}
