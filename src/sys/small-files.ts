import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Replaces a small file of this user's (the cache's memories and backlogs) as a whole: written under
 * a temporary name, then renamed, so a reader sees the old text or the new, never half. The folder
 * is made private (0700) and the file 0600. Throws what the file system said; the temp file is gone.
 */
export async function replaceSmallFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await fs.writeFile(tmp, text, { mode: 0o600 });
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** At most `maxBytes` of a small file, as text; '' when it is missing or cannot be read. */
export async function readSmallFile(path: string, maxBytes: number): Promise<string> {
  let handle: fs.FileHandle | null = null;
  try {
    handle = await fs.open(path, 'r');
    const buf = Buffer.alloc(Math.min((await handle.stat()).size, maxBytes));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString();
  } catch {
    return '';
  } finally {
    await handle?.close();
  }
}
