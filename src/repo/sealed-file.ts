import { randomBytes } from 'node:crypto';
import { SinkiError } from '../errors.js';
import { open, seal } from '../crypto/aead.js';
import type { Subkeys } from './subkeys.js';

/** Index segments, snapshots, refs and generations: magic ‖ version ‖ kind ‖ salt ‖ sealed payload. */
const MAGIC = Buffer.from('SNKF');
const VERSION = 1;
const SALT_LENGTH = 32;
const PREFIX_LENGTH = MAGIC.length + 2 + SALT_LENGTH;

export const enum FileKind {
  Index = 1,
  Snapshot = 2,
  Ref = 3,
  Generation = 4,
}

/**
 * `name` is bound into the associated data for refs (a fixed name) and generations (the name carries
 * the counter); content-named files bind ''.
 */
export function sealFile(keys: Subkeys, kind: FileKind, payload: Buffer, name = ''): Buffer {
  const salt = randomBytes(SALT_LENGTH);
  const head = Buffer.concat([MAGIC, Buffer.of(VERSION, kind), salt]);
  return Buffer.concat([head, seal(keys.cipher, keys.fileKey(salt, kind), payload, keys.fileAad(kind, name))]);
}

export function openFile(keys: Subkeys, kind: FileKind, file: Buffer, what: string, name = ''): Buffer {
  if (file.length < PREFIX_LENGTH || !file.subarray(0, 4).equals(MAGIC)) throw new SinkiError('CORRUPT', `${what}: truncated or not a sinki file`);
  if (file[4] !== VERSION) throw new SinkiError('CORRUPT', `${what}: unknown version ${file[4]}`);
  if (file[5] !== kind) throw new SinkiError('CORRUPT', `${what}: wrong kind of file (${file[5]}, expected ${kind})`);
  const salt = file.subarray(6, PREFIX_LENGTH);
  return open(keys.cipher, keys.fileKey(salt, kind), file.subarray(PREFIX_LENGTH), keys.fileAad(kind, name), what);
}
