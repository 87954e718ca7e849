import { open } from '../crypto/aead.js';
import { SinkiError } from '../errors.js';
import { decodeEntries, parsePackFooter, parsePackPrefix, PACK_FOOTER_LENGTH, PACK_PREFIX_LENGTH, type PackEntry } from './pack-format.js';
import type { Subkeys } from './subkeys.js';

/** A whole pack already in memory: its key and its verified blob list (used by check and index repair). */
export function readPackHeader(keys: Subkeys, bytes: Buffer, packId: string): { key: Buffer; entries: PackEntry[] } {
  const { salt, version } = parsePackPrefix(bytes.subarray(0, PACK_PREFIX_LENGTH), packId);
  const key = keys.packKey(salt);
  if (bytes.length < PACK_PREFIX_LENGTH + PACK_FOOTER_LENGTH) throw new SinkiError('CORRUPT', `pack ${packId}: truncated`);
  const where = parsePackFooter(bytes.subarray(bytes.length - PACK_FOOTER_LENGTH), bytes.length, packId);
  const header = open(
    keys.cipher,
    key,
    bytes.subarray(where.offset, where.offset + where.length),
    keys.packHeaderAad(bytes.subarray(0, PACK_PREFIX_LENGTH)),
    `pack ${packId} header`,
  );
  const { entries, end } = decodeEntries(header, 0, `pack ${packId} header`, version >= 2);
  if (end !== header.length) throw new SinkiError('CORRUPT', `pack ${packId} header: trailing bytes`);
  for (const e of entries) {
    if (e.offset < PACK_PREFIX_LENGTH || e.offset + e.length > where.offset) throw new SinkiError('CORRUPT', `pack ${packId} header: blob out of range`);
  }
  return { key, entries };
}
