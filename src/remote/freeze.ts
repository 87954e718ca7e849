import { promises as fs } from 'node:fs';
import { join } from 'node:path';

/**
 * Everything of a store but its packs (and locks): small files that refer to packs, or to each other.
 * Generations first (the push reads the store's epoch from them; the remote gets one of its own).
 */
export const METADATA_ENTRIES: readonly string[] = ['gen', 'sinki.json', 'keys', 'index', 'snapshots', 'refs', 'SHA256SUMS'];

/**
 * Hard links (copies where links are refused) of a store's metadata, taken before a push uploads
 * anything, in a `.tmp-` folder inside the store (`name`, see staging.ts) that the store itself never lists. A backup or
 * mount may keep writing while the push runs (both hold shared locks); pushing the metadata from
 * this frozen view means the remote never gets an index, snapshot or ref that names a pack written
 * after the packs went up. Local writes replace files by rename, so a link keeps the old version.
 * Null on a read-only store, where nobody can write meanwhile anyway.
 */
export async function freezeMetadata(storePath: string, name: string): Promise<string | null> {
  const dir = join(storePath, name);
  try {
    await fs.mkdir(dir, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return null;
    throw err;
  }
  try {
    for (const name of METADATA_ENTRIES) await linkTree(join(storePath, name), join(dir, name));
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

async function linkTree(from: string, to: string): Promise<void> {
  const st = await fs.stat(from).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!st) return;
  if (st.isFile()) {
    await fs.link(from, to).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return; // replaced or removed just now: the next push takes it
      if (err.code !== 'EPERM' && err.code !== 'EXDEV' && err.code !== 'ENOTSUP' && err.code !== 'EMLINK') throw err;
      await fs.copyFile(from, to);
    });
    return;
  }
  if (!st.isDirectory()) return;
  await fs.mkdir(to, { mode: 0o700 });
  for (const name of await fs.readdir(from)) {
    if (!name.startsWith('.tmp-')) await linkTree(join(from, name), join(to, name));
  }
}
