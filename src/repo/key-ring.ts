/*
 * The key files of a store (keys/): which to try, in what order, the one that opens; adding and removing them.
 * Anyone who can write to the store can add a key file, so opening spends a bounded effort on them:
 * at most MAX_KEY_FILES_TRIED are read, each within MAX_KEY_FILE_BYTES and the KDF caps, the key
 * that opened the store last time on this machine first, then the cheapest KDF first.
 */
import { isSinkiError, SinkiError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import { chooseKdfParams, kdfWork, type KdfChoice } from '../crypto/kdf.js';
import { createKeyFile, MAX_KEY_FILE_BYTES, parseKeyFile, tooLarge, unlockKeyFile, type KeyFile, type MasterKeys } from '../crypto/keyfile.js';
import type { KeyMemory } from './key-memory.js';
import { keyPath, KEYS_DIR } from './layout.js';

export const MAX_KEY_FILES_TRIED = 20;

export interface KeyOptions {
  /** Open with this key file only (`--key ID`). */
  only?: string;
  /** The key last used on this machine, per store: tried first (the caller remembers the one that opened, once the store checks out). */
  memory?: KeyMemory;
  /** Key files that could not be used (damaged, too large, KDF beyond the caps), told once the store has opened. */
  onSkipped?: (message: string) => void;
  /** Before each key file's KDF runs. */
  onTry?: (id: string, file: KeyFile) => void;
}

export interface UnlockedKey {
  id: string;
  file: KeyFile;
}

/** The ids of the key files in keys/, in name order. */
export async function listKeyIds(backend: Backend): Promise<string[]> {
  return (await backend.list(KEYS_DIR))
    .filter((name) => name.endsWith('.json') && !name.includes('/'))
    .map((name) => name.slice(0, -'.json'.length))
    .sort();
}

/** Reads and parses one key file, refusing one too large to be a key file before reading it. */
export async function readKeyFile(backend: Backend, id: string): Promise<KeyFile> {
  const path = keyPath(id);
  const size = await backend.size(path);
  if (size === null) throw new SinkiError('NOT_FOUND', `no key file ${path}`);
  if (size > MAX_KEY_FILE_BYTES) throw tooLarge(path, size);
  return parseKeyFile((await backend.read(path)).toString(), path);
}

/** Which listed key files are read: `preferred` first when listed, then name order, at most `max`. */
export function keyFilesToRead(ids: readonly string[], preferred: string | undefined, max = MAX_KEY_FILES_TRIED): { read: string[]; leftOut: number } {
  const first = preferred !== undefined && ids.includes(preferred) ? [preferred] : [];
  const read = [...first, ...ids.filter((id) => id !== preferred)].slice(0, max);
  return { read, leftOut: ids.length - read.length };
}

/** The order key files are tried in: `preferred` first, then the cheapest KDF, then by id. */
export function unlockOrder<T extends { id: string; file: KeyFile }>(keys: readonly T[], preferred: string | undefined): T[] {
  const rank = (k: T): number => (k.id === preferred ? 0 : 1);
  return [...keys].sort((a, b) => rank(a) - rank(b) || kdfWork(a.file.kdf) - kdfWork(b.file.kdf) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Finds the key file the password opens. */
export async function unlockStore(
  backend: Backend,
  repoId: string,
  password: Buffer,
  options: KeyOptions = {},
): Promise<{ master: MasterKeys; key: UnlockedKey }> {
  const ids = await listKeyIds(backend);
  if (ids.length === 0) throw new SinkiError('CORRUPT', `${backend.location}: the store has no key files (keys/ is empty)`);
  if (options.only !== undefined) return unlockOnly(backend, repoId, password, options.only, ids, options);

  const preferred = await options.memory?.recall(repoId);
  const { read, leftOut } = keyFilesToRead(ids, preferred);
  const usable: UnlockedKey[] = [];
  const skipped: SinkiError[] = [];
  for (const id of read) {
    try {
      usable.push({ id, file: await readKeyFile(backend, id) });
    } catch (err) {
      if (!isSinkiError(err, 'CORRUPT')) throw err;
      skipped.push(err);
    }
  }
  for (const key of unlockOrder(usable, preferred)) {
    options.onTry?.(key.id, key.file);
    const master = await unlockKeyFile(key.file, password, repoId);
    if (!master) continue;
    for (const err of skipped) options.onSkipped?.(`${err.message}; skipped`);
    return { master, key };
  }
  if (usable.length === 0 && leftOut === 0) {
    if (skipped.length === 1) throw skipped[0]!;
    throw new SinkiError('CORRUPT', `no key file of the store can be used: ${skipped[0]!.message}, and ${skipped.length - 1} more`);
  }
  const also = skipped.length ? ` (and ${skipped[0]!.message}${skipped.length > 1 ? `, and ${skipped.length - 1} more` : ''})` : '';
  if (leftOut > 0) {
    throw new SinkiError(
      'WRONG_PASSWORD',
      `wrong password for the ${read.length} key files tried; keys/ holds ${ids.length} and sinki tries at most ${MAX_KEY_FILES_TRIED}: name yours with --key ID (its file name in keys/)${also}`,
    );
  }
  throw new SinkiError('WRONG_PASSWORD', `wrong password: no key of this store opens with it${also}`);
}

async function unlockOnly(
  backend: Backend,
  repoId: string,
  password: Buffer,
  id: string,
  ids: readonly string[],
  options: KeyOptions,
): Promise<{ master: MasterKeys; key: UnlockedKey }> {
  if (!ids.includes(id)) throw new SinkiError('NOT_FOUND', `--key ${id}: no key file ${keyPath(id)}`);
  const file = await readKeyFile(backend, id);
  options.onTry?.(id, file);
  const master = await unlockKeyFile(file, password, repoId);
  if (!master) throw new SinkiError('WRONG_PASSWORD', `wrong password for key ${id}`);
  return { master, key: { id, file } };
}

/** Every key file, each parsed or with the reason it cannot be used (check reports those). */
export async function listKeys(backend: Backend): Promise<Array<{ id: string; file: KeyFile | null; error?: string }>> {
  const out: Array<{ id: string; file: KeyFile | null; error?: string }> = [];
  for (const id of await listKeyIds(backend)) {
    try {
      out.push({ id, file: await readKeyFile(backend, id) });
    } catch (err) {
      if (!isSinkiError(err, 'CORRUPT')) throw err;
      out.push({ id, file: null, error: err.message });
    }
  }
  return out;
}

/** Seals the master keys under a new password into a key file of their own; the data is not touched. */
export async function addKey(backend: Backend, master: MasterKeys, storeId: string, password: Buffer, kdf: KdfChoice): Promise<KeyFile> {
  const file = await createKeyFile(password, master, await chooseKdfParams(kdf), storeId);
  await backend.write(keyPath(file.id), Buffer.from(`${JSON.stringify(file, null, 2)}\n`));
  return file;
}

/** Removes a key file, never the one in use nor the last that works. */
export async function removeKey(backend: Backend, id: string, inUse: string): Promise<void> {
  const keys = await listKeys(backend);
  if (!keys.some((k) => k.id === id)) throw new SinkiError('NOT_FOUND', `no key ${id}`);
  if (id === inUse) throw new SinkiError('USAGE', 'refusing to remove the key in use; open the store with another password first');
  if (keys.filter((k) => k.file).length <= 1) throw new SinkiError('USAGE', 'refusing to remove the last working key');
  await backend.remove(keyPath(id));
}
