/** Where each kind of object lives inside a store (docs/STORE-FORMAT.md, "Files"; docs/DESIGN.md, "The data path"). */
export const CONFIG_FILE = 'sinki.json';
export const KEYS_DIR = 'keys';
export const PACKS_DIR = 'packs';
export const INDEX_DIR = 'index';
export const SNAPSHOTS_DIR = 'snapshots';
export const LOCKS_DIR = 'locks';
export const HEAD_REF = 'refs/head';
export const SUMS_FILE = 'SHA256SUMS';
export const GENERATIONS_DIR = 'gen';

export const packPath = (id: string): string => `${PACKS_DIR}/${id.slice(0, 2)}/${id}`;
export const indexPath = (id: string): string => `${INDEX_DIR}/${id}`;
export const snapshotPath = (id: string): string => `${SNAPSHOTS_DIR}/${id}`;
export const keyPath = (id: string): string => `${KEYS_DIR}/${id}.json`;
export const lockPath = (id: string): string => `${LOCKS_DIR}/${id}`;
export const generationPath = (name: string): string => `${GENERATIONS_DIR}/${name}`;

const HEX64 = /^[0-9a-f]{64}$/;
export const isObjectId = (name: string): boolean => HEX64.test(name);

/** "ab/abcdef..." (as listed under packs/) → the pack id, or null for anything else. */
export function packIdFromListing(rel: string): string | null {
  const [dir, name, ...rest] = rel.split('/');
  return rest.length === 0 && name && isObjectId(name) && dir === name.slice(0, 2) ? name : null;
}

const KIB = 1024;
const MIB = 1024 * KIB;

/**
 * The most bytes a whole-object read of `path` may return. A store that others can write is
 * untrusted input: an object far larger than its kind can be is damage, refused before it is
 * buffered. Packs: the largest pack size init allows plus room for one oversized blob.
 */
export function maxObjectBytes(path: string): number {
  const top = path.split('/')[0];
  if (path === CONFIG_FILE || top === KEYS_DIR || top === LOCKS_DIR || top === 'refs') return 256 * KIB;
  if (top === SNAPSHOTS_DIR || top === GENERATIONS_DIR) return 64 * MIB;
  if (top === INDEX_DIR) return 512 * MIB;
  if (top === PACKS_DIR) return 1024 * MIB + 128 * MIB;
  return 1024 * MIB;
}
