import { createHmac, randomBytes } from 'node:crypto';
import { SinkiError } from '../errors.js';
import { isCipherName, type CipherName } from '../crypto/aead.js';
import { canonicalJson, checksumValid, withChecksum } from '../crypto/canonical.js';

/**
 * Format 3 (new stores): format 2's encodings, with the chunker's gear table derived from the
 * store's keys (chunk sizes no longer fingerprint known files) and each pack header bound to its
 * pack's magic, version and salt. Format 2: blob ids are HMACs of the plaintext's SHA-256, trees
 * are binary, and compressed blobs are stored as their xz block. Format 1 and 2 stores are read and
 * written in their own encodings; reads accept all of them everywhere.
 */
export const FORMAT_VERSION = 3;
export const OLDEST_FORMAT = 1;

/** sinki.json: the store's parameters. No secrets; a checksum catches accidents and a MAC (checked after unlock) catches tampering. */
export interface StoreConfig {
  format: number;
  id: string;
  created: string;
  cipher: CipherName;
  /** Fixed split size of the mount, bytes. */
  chunkSize: number;
  /** Content-defined chunking of `sinki backup`. */
  cdc: { minSize: number; avgSize: number; maxSize: number };
  packSize: number;
  compression: { preset: number; minCompressSize: number; noCompressExt: string[] };
}

export const DEFAULT_NO_COMPRESS_EXT = [
  '7z',
  'aac',
  'apk',
  'avi',
  'br',
  'bz2',
  'docx',
  'flac',
  'gif',
  'gz',
  'heic',
  'jar',
  'jpeg',
  'jpg',
  'lz',
  'lz4',
  'lzma',
  'm4a',
  'm4v',
  'mkv',
  'mov',
  'mp3',
  'mp4',
  'odt',
  'ogg',
  'opus',
  'pdf',
  'png',
  'pptx',
  'rar',
  'tgz',
  'txz',
  'webm',
  'webp',
  'xlsx',
  'xz',
  'zip',
  'zst',
];

export const DEFAULTS = {
  cipher: 'aes-128-gcm' as CipherName,
  chunkSize: 4 * 1024 * 1024,
  cdc: { minSize: 512 * 1024, avgSize: 1024 * 1024, maxSize: 8 * 1024 * 1024 },
  packSize: 16 * 1024 * 1024,
  preset: 1,
  minCompressSize: 120,
};

export type StoreParams = Omit<StoreConfig, 'format' | 'id' | 'created'>;

export function newStoreConfig(params: StoreParams, format = FORMAT_VERSION): StoreConfig {
  return { format, id: randomBytes(16).toString('hex'), created: new Date().toISOString(), ...params };
}

export interface SignedStoreConfig extends StoreConfig {
  mac: string;
  checksum: string;
}

function configMac(config: StoreConfig, macKey: Buffer): string {
  return createHmac('sha256', macKey).update(canonicalJson(config)).digest('hex');
}

export function signStoreConfig(config: StoreConfig, macKey: Buffer): SignedStoreConfig {
  return withChecksum({ ...config, mac: configMac(config, macKey) });
}

/** Before the password is known: shape and checksum. */
export function parseStoreConfig(text: string): SignedStoreConfig {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new SinkiError('CORRUPT', 'sinki.json is damaged (not valid JSON)');
  }
  if (typeof v !== 'object' || v === null) throw new SinkiError('CORRUPT', 'sinki.json is damaged');
  if (typeof v.format === 'number' && v.format > FORMAT_VERSION) {
    throw new SinkiError('FATAL', `store format ${v.format} is newer than this sinki understands (${FORMAT_VERSION}); upgrade sinki`);
  }
  if (!checksumValid(v)) throw new SinkiError('CORRUPT', 'sinki.json is damaged (checksum mismatch: edited or truncated)');
  const c = v as unknown as SignedStoreConfig;
  const ok =
    Number.isInteger(c.format) &&
    c.format >= OLDEST_FORMAT &&
    typeof c.id === 'string' &&
    /^[0-9a-f]{32}$/.test(c.id) &&
    isCipherName(c.cipher) &&
    Number.isInteger(c.chunkSize) &&
    Number.isInteger(c.packSize) &&
    typeof c.cdc === 'object' &&
    c.cdc !== null &&
    typeof c.compression === 'object' &&
    c.compression !== null &&
    Number.isInteger(c.compression.preset) &&
    Number.isInteger(c.compression.minCompressSize) &&
    Array.isArray(c.compression.noCompressExt) &&
    typeof c.mac === 'string';
  if (!ok) throw new SinkiError('CORRUPT', 'sinki.json is damaged (missing or invalid fields)');
  return c;
}

/** After unlock: the MAC proves the parameters are the ones the key holder wrote. */
export function verifyStoreConfig(signed: SignedStoreConfig, macKey: Buffer): StoreConfig {
  const { mac, checksum: _checksum, ...config } = signed;
  if (configMac(config, macKey) !== mac) throw new SinkiError('CORRUPT', 'sinki.json was modified (MAC mismatch)');
  return config;
}

export function validateStoreParams(p: StoreParams): void {
  const mib = 1024 * 1024;
  if (p.chunkSize < 64 * 1024 || p.chunkSize > 64 * mib) throw new SinkiError('USAGE', '--chunk-size must be between 64K and 64M');
  if (p.packSize < mib || p.packSize > 1024 * mib) throw new SinkiError('USAGE', '--pack-size must be between 1M and 1G');
  if (p.compression.preset < 0 || p.compression.preset > 9) throw new SinkiError('USAGE', '--preset must be 0..9');
  if (p.compression.minCompressSize < 0) throw new SinkiError('USAGE', '--min-compress-size must be ≥ 0');
}
