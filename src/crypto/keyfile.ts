import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { SinkiError } from '../errors.js';
import { deriveFromPassword, kdfBeyondLimits, validateKdfParams, type KdfParams } from './kdf.js';
import { open, seal } from './aead.js';
import { checksumValid, withChecksum } from './canonical.js';

/** The random keys that protect a store; each key file seals one copy under one password. */
export interface MasterKeys {
  /** Root of every encryption subkey (HKDF per pack and per file). */
  encKey: Buffer;
  /** Key of the blob-id HMAC. */
  idKey: Buffer;
}

export interface KeyFile {
  version: 1;
  id: string;
  created: string;
  host: string;
  kdf: KdfParams;
  /** base64 of nonce ‖ AES-256-GCM(master keys) ‖ tag */
  sealed: string;
  checksum: string;
}

const KEY_FILE_CIPHER = 'aes-256-gcm';

/** A key file is about 600 bytes; anything much larger is not one (and is not read whole). */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

export function newMasterKeys(): MasterKeys {
  return { encKey: randomBytes(32), idKey: randomBytes(32) };
}

function keyFileAad(repoId: string): Buffer {
  return Buffer.from(`sinki key file v1 ${repoId}`);
}

export async function createKeyFile(password: Buffer, keys: MasterKeys, kdf: KdfParams, repoId: string): Promise<KeyFile> {
  const wrapKey = await deriveFromPassword(password, kdf);
  const payload = Buffer.from(JSON.stringify({ encKey: keys.encKey.toString('base64'), idKey: keys.idKey.toString('base64') }));
  const sealed = seal(KEY_FILE_CIPHER, wrapKey, payload, keyFileAad(repoId)).toString('base64');
  return withChecksum({ version: 1 as const, id: randomBytes(8).toString('hex'), created: new Date().toISOString(), host: hostname(), kdf, sealed });
}

/**
 * Parses and checks the shape of a key file; a damaged file is CORRUPT, never "wrong password".
 * So is one whose KDF would cost more than sinki spends on a key file (see kdfBeyondLimits): anyone
 * who can write to the store can add a key file, checksum and all.
 */
export function parseKeyFile(text: string, name: string): KeyFile {
  if (text.length > MAX_KEY_FILE_BYTES) throw tooLarge(name, text.length);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SinkiError('CORRUPT', `key file ${name} is damaged (not valid JSON)`);
  }
  const v = value as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || v.version !== 1 || typeof v.sealed !== 'string' || !validateKdfParams(v.kdf) || typeof v.id !== 'string') {
    throw new SinkiError('CORRUPT', `key file ${name} is damaged (missing or invalid fields)`);
  }
  if (!checksumValid(v)) throw new SinkiError('CORRUPT', `key file ${name} is damaged (checksum mismatch: edited or truncated)`);
  const beyond = kdfBeyondLimits(v.kdf);
  if (beyond) throw new SinkiError('CORRUPT', `key file ${name} refused: it asks for ${beyond}`);
  return v as unknown as KeyFile;
}

/** Returns the master keys, or null when the password does not open this key file. */
export async function unlockKeyFile(file: KeyFile, password: Buffer, repoId: string): Promise<MasterKeys | null> {
  const wrapKey = await deriveFromPassword(password, file.kdf);
  let payload: Buffer;
  try {
    payload = open(KEY_FILE_CIPHER, wrapKey, Buffer.from(file.sealed, 'base64'), keyFileAad(repoId), 'key file');
  } catch {
    return null;
  }
  const parsed = JSON.parse(payload.toString()) as { encKey: string; idKey: string };
  return { encKey: Buffer.from(parsed.encKey, 'base64'), idKey: Buffer.from(parsed.idKey, 'base64') };
}

export function tooLarge(name: string, bytes: number): SinkiError {
  return new SinkiError('CORRUPT', `key file ${name} refused: ${bytes} bytes, a key file has at most ${MAX_KEY_FILE_BYTES}`);
}
